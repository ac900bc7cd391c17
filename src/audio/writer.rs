//! [`WavWriter`]: atomic WAV output (temp file in the target folder, renamed on finish).

use super::error::{missing_folder, AudioError};
use super::Audio;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// Sample format of a written WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SampleFormat {
    /// 16-bit signed integer PCM; samples are clamped to `[-1, 1]` and scaled by 32768.
    #[default]
    Pcm16,
    /// 32-bit IEEE float; samples are written as they are.
    Float32,
}

/// What a finished write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReport {
    /// The file written.
    pub path: PathBuf,
    /// Frames written.
    pub frames: u64,
    /// Samples outside `[-1, 1]`: clamped for [`SampleFormat::Pcm16`], kept for
    /// [`SampleFormat::Float32`].
    pub clipped: usize,
    /// NaN or infinite samples, written as 0.0.
    pub nonfinite_replaced: usize,
}

/// Streaming WAV writer that never leaves a partial file behind.
///
/// Samples go to a temporary file in the target folder, which [`WavWriter::finish`] renames into
/// place (replacing any existing file atomically). Dropping the writer without calling `finish`,
/// or any error, removes the temporary file and leaves the target untouched.
pub struct WavWriter {
    // Field order matters: the hound writer drops (and flushes) before the temp file is removed.
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    tmp: Option<NamedTempFile>,
    path: PathBuf,
    channels: usize,
    format: SampleFormat,
    samples: u64,
    clipped: usize,
    nonfinite: usize,
}

impl std::fmt::Debug for WavWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavWriter")
            .field("path", &self.path)
            .field("channels", &self.channels)
            .field("format", &self.format)
            .field("samples", &self.samples)
            .finish()
    }
}

impl WavWriter {
    /// Starts writing `path` with the given rate, channel count and sample format.
    ///
    /// Fails with [`AudioError::MissingFolder`] when the target folder does not exist, and with
    /// [`AudioError::Io`] when the path is a folder or the temp file cannot be created.
    pub fn create(
        path: impl AsRef<Path>,
        sample_rate: u32,
        channels: usize,
        format: SampleFormat,
    ) -> Result<Self, AudioError> {
        let path = path.as_ref();
        if channels == 0 || channels > u16::MAX as usize {
            return Err(AudioError::UnsupportedChannels {
                path: path.to_path_buf(),
                channels,
            });
        }
        if sample_rate == 0 {
            return Err(AudioError::UnsupportedSampleRate {
                path: path.to_path_buf(),
                rate: 0,
            });
        }
        if let Some(folder) = missing_folder(path) {
            return Err(AudioError::MissingFolder {
                path: path.to_path_buf(),
                folder,
            });
        }
        if path.is_dir() {
            return Err(AudioError::Io {
                path: path.to_path_buf(),
                what: "cannot write",
                source: std::io::Error::other("it is a folder, not a file"),
            });
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| AudioError::io(path, "cannot create a temporary file next to", e))?;
        let file = tmp
            .as_file()
            .try_clone()
            .map_err(|e| AudioError::io(path, "cannot write", e))?;
        let spec = hound::WavSpec {
            channels: channels as u16,
            sample_rate,
            bits_per_sample: match format {
                SampleFormat::Pcm16 => 16,
                SampleFormat::Float32 => 32,
            },
            sample_format: match format {
                SampleFormat::Pcm16 => hound::SampleFormat::Int,
                SampleFormat::Float32 => hound::SampleFormat::Float,
            },
        };
        let writer =
            hound::WavWriter::new(BufWriter::new(file), spec).map_err(|e| hound_err(path, e))?;
        Ok(Self {
            writer: Some(writer),
            tmp: Some(tmp),
            path: path.to_path_buf(),
            channels,
            format,
            samples: 0,
            clipped: 0,
            nonfinite: 0,
        })
    }

    /// The target path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary file being written (hidden, `.NAME.XXXX.tmp` beside the target), until
    /// [`finish`](Self::finish) renames it or an error removes it. A signal handler that must
    /// end the process without running destructors removes this path itself.
    pub fn temp_path(&self) -> Option<&Path> {
        self.tmp.as_ref().map(|t| t.path())
    }

    /// Samples outside `[-1, 1]` so far (clamped for PCM16).
    pub fn clipped(&self) -> usize {
        self.clipped
    }

    /// Whole frames written so far.
    pub fn frames_written(&self) -> u64 {
        self.samples / self.channels as u64
    }

    /// Appends interleaved samples. Blocks need not be whole frames, but the total must be when
    /// [`finish`](Self::finish) is called.
    pub fn write(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        let Some(w) = self.writer.as_mut() else {
            return Err(AudioError::Write {
                path: self.path.clone(),
                detail: "writer already failed".into(),
            });
        };
        let res: Result<(), hound::Error> = (|| {
            match self.format {
                SampleFormat::Pcm16 => {
                    for &x in samples {
                        let x = counted(x, &mut self.clipped, &mut self.nonfinite);
                        w.write_sample(to_pcm16(x))?;
                    }
                }
                SampleFormat::Float32 => {
                    for &x in samples {
                        let x = counted(x, &mut self.clipped, &mut self.nonfinite);
                        w.write_sample(x)?;
                    }
                }
            }
            Ok(())
        })();
        self.samples += samples.len() as u64;
        res.map_err(|e| {
            self.writer = None;
            self.tmp = None;
            hound_err(&self.path, e)
        })
    }

    /// Completes the header, flushes the data to disk and renames the file into place.
    pub fn finish(mut self) -> Result<WriteReport, AudioError> {
        let path = self.path.clone();
        if !self.samples.is_multiple_of(self.channels as u64) {
            return Err(AudioError::Write {
                path,
                detail: format!(
                    "{} samples is not a whole number of {}-channel frames",
                    self.samples, self.channels
                ),
            });
        }
        let writer = self.writer.take().ok_or_else(|| AudioError::Write {
            path: path.clone(),
            detail: "writer already failed".into(),
        })?;
        writer.finalize().map_err(|e| hound_err(&path, e))?;
        let tmp = self
            .tmp
            .take()
            .expect("temp file lives as long as the writer");
        tmp.as_file()
            .sync_all()
            .map_err(|e| AudioError::io(&path, "cannot write", e))?;
        #[cfg(unix)]
        {
            // NamedTempFile is created 0600; give the result ordinary file permissions.
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644));
        }
        tmp.persist(&path).map_err(|e| {
            AudioError::io(&path, "cannot move the finished file into place", e.error)
        })?;
        Ok(WriteReport {
            path,
            frames: self.samples / self.channels as u64,
            clipped: self.clipped,
            nonfinite_replaced: self.nonfinite,
        })
    }
}

/// The 16-bit PCM value of a sample (clamped to `[-1, 1]`, scaled by 32768).
pub(super) fn to_pcm16(x: f32) -> i16 {
    (x.clamp(-1.0, 1.0) * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

fn hound_err(path: &Path, e: hound::Error) -> AudioError {
    match e {
        hound::Error::IoError(e) => AudioError::io(path, "cannot write", e),
        e => AudioError::Write {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
    }
}

/// Writes `audio` to a WAV file at `path` atomically (see [`WavWriter`]).
pub fn write_wav(
    path: impl AsRef<Path>,
    audio: &Audio,
    format: SampleFormat,
) -> Result<WriteReport, AudioError> {
    let mut w = WavWriter::create(path, audio.sample_rate, audio.channels, format)?;
    w.write(&audio.samples)?;
    w.finish()
}

/// Counts a sample outside [-1, 1] as clipped and replaces a NaN/infinite one with 0.
pub(super) fn counted(x: f32, clipped: &mut usize, nonfinite: &mut usize) -> f32 {
    if !x.is_finite() {
        *nonfinite += 1;
        return 0.0;
    }
    if x.abs() > 1.0 {
        *clipped += 1;
    }
    x
}
