//! The library's error type.

use crate::audio::AudioError;
use crate::model::ModelError;

/// Why the library could not do what was asked; every message says what and, for files, which.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model folder (or the compiled-in model) could not be loaded.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// An audio file could not be read or written.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// A setting is out of range (the message names it and the range).
    #[error("{0}")]
    Setting(String),
}

/// A long job stopped by SIGINT/SIGTERM after saving what it could (the message says what);
/// the command line exits 130 on it.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: {0}")]
pub struct Interrupted(pub String);
