//! [`AudioError`]: every failure to read or write an audio file, each naming the file.

use std::io;
use std::path::{Path, PathBuf};

/// An audio file could not be read or written. Every message starts with the file's path and
/// then says what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The path could not be opened, read or written (missing file, permissions, a folder, ...).
    #[error("{}: {what}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done ("cannot open", "cannot write", ...).
        what: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The folder that should hold the file does not exist.
    #[error("{}: folder {} does not exist", path.display(), folder.display())]
    MissingFolder {
        /// The file.
        path: PathBuf,
        /// Its missing folder.
        folder: PathBuf,
    },
    /// The file has zero bytes.
    #[error("{}: file is empty (0 bytes)", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file starts like a known audio format but ends inside its header.
    #[error("{}: truncated header ({detail})", path.display())]
    TruncatedHeader {
        /// The file.
        path: PathBuf,
        /// What was found.
        detail: String,
    },
    /// The file is not in any audio format this crate reads (WAV, FLAC, MP3, Ogg Vorbis).
    #[error("{}: not an audio file, or an unknown format ({detail})", path.display())]
    NotAudio {
        /// The file.
        path: PathBuf,
        /// What was found.
        detail: String,
    },
    /// The file is valid but holds no audio frames.
    #[error("{}: zero-length audio (the file holds no samples)", path.display())]
    ZeroLength {
        /// The file.
        path: PathBuf,
    },
    /// The container is understood but its codec or sample format is not supported.
    #[error("{}: unsupported codec or sample format ({detail})", path.display())]
    UnsupportedCodec {
        /// The file.
        path: PathBuf,
        /// Which codec or format.
        detail: String,
    },
    /// The sample rate is outside [`MIN_RATE`](super::MIN_RATE)..=[`MAX_RATE`](super::MAX_RATE).
    #[error("{}: unsupported sample rate {rate} Hz (supported: {} to {} Hz)", path.display(), super::MIN_RATE, super::MAX_RATE)]
    UnsupportedSampleRate {
        /// The file.
        path: PathBuf,
        /// The file's rate in Hz.
        rate: u32,
    },
    /// The channel count is zero or too large for the format.
    #[error("{}: unsupported channel count {channels}", path.display())]
    UnsupportedChannels {
        /// The file.
        path: PathBuf,
        /// The channel count.
        channels: usize,
    },
    /// The header or audio data is malformed.
    #[error("{}: corrupt audio data ({detail})", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The output path names the same file as the input.
    #[error("{}: refusing to write the output over its own input {}", output.display(), input.display())]
    SameFile {
        /// The input file.
        input: PathBuf,
        /// The output file.
        output: PathBuf,
    },
    /// A write was asked of the writer that it cannot do (e.g. a partial frame at the end).
    #[error("{}: cannot write: {detail}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
}

impl AudioError {
    /// The file the error is about (the output file for [`AudioError::SameFile`]).
    pub fn path(&self) -> &Path {
        match self {
            AudioError::Io { path, .. }
            | AudioError::MissingFolder { path, .. }
            | AudioError::Empty { path }
            | AudioError::TruncatedHeader { path, .. }
            | AudioError::NotAudio { path, .. }
            | AudioError::ZeroLength { path }
            | AudioError::UnsupportedCodec { path, .. }
            | AudioError::UnsupportedSampleRate { path, .. }
            | AudioError::UnsupportedChannels { path, .. }
            | AudioError::Corrupt { path, .. }
            | AudioError::Write { path, .. } => path,
            AudioError::SameFile { output, .. } => output,
        }
    }

    /// An I/O error on `path`, reported as [`AudioError::MissingFolder`] when the cause is a
    /// missing parent folder.
    pub(crate) fn io(path: &Path, what: &'static str, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::NotFound {
            if let Some(folder) = missing_folder(path) {
                return AudioError::MissingFolder {
                    path: path.to_path_buf(),
                    folder,
                };
            }
        }
        AudioError::Io {
            path: path.to_path_buf(),
            what,
            source,
        }
    }
}

/// The parent folder of `path` when it does not exist.
pub(crate) fn missing_folder(path: &Path) -> Option<PathBuf> {
    let parent = path.parent()?;
    if parent.as_os_str().is_empty() || parent.is_dir() {
        return None;
    }
    Some(parent.to_path_buf())
}
