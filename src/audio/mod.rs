//! audio (being built).
