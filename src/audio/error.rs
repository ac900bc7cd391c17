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
    /// The container is a WAV variant that is not read (RF64, big-endian RIFX).
    #[error("{}: unsupported {detail}", path.display())]
    UnsupportedContainer {
        /// The file.
        path: PathBuf,
        /// Which variant, and what to do.
        detail: String,
    },
    /// A compressed stream decodes to fewer frames than its header states (a cut file, or
    /// damaged frames the decoder skipped), or its last packet or page is cut off.
    #[error("{}: truncated or damaged audio data ({detail})", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What was found.
        detail: String,
    },
    /// A sample is NaN, infinite or beyond ±[`MAX_SAMPLE`](super::MAX_SAMPLE) full scale: the
    /// file is damaged or not scaled as audio, and enhancing it would give silence.
    #[error(
        "{}: invalid sample {value:.3e} at frame {frame}, channel {channel} (samples must be finite and within ±{} full scale)",
        path.display(), super::MAX_SAMPLE
    )]
    BadSample {
        /// The file.
        path: PathBuf,
        /// The sample's value.
        value: f32,
        /// Its frame index.
        frame: u64,
        /// Its channel.
        channel: usize,
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
            | AudioError::UnsupportedContainer { path, .. }
            | AudioError::Truncated { path, .. }
            | AudioError::BadSample { path, .. }
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
