//! Resampling (being built).
