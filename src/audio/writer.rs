//! [`AudioWriter`]: atomic WAV or FLAC output (temp file in the target folder, renamed on finish).

use super::error::{missing_folder, AudioError};
use super::flac::FlacEncoder;
use super::Audio;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// The container a written file gets, from the target's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// RIFF WAVE: 16-bit PCM or 32-bit float.
    Wav,
    /// FLAC: lossless, 16-bit.
    Flac,
}

impl Container {
    /// `.wav` or `.flac` (any case); `None` for another or no extension.
    pub fn of(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?;
        if ext.eq_ignore_ascii_case("wav") {
            Some(Self::Wav)
        } else if ext.eq_ignore_ascii_case("flac") {
            Some(Self::Flac)
        } else {
            None
        }
    }
}

/// Sample format of a written file.
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

/// Streaming WAV or FLAC writer that never leaves a partial file behind.
///
/// The container follows the target's extension: `.wav` or `.flac` (any case); any other name
/// is refused, so WAV bytes never sit under a name that says otherwise.
/// Samples go to a temporary file in the target folder, which [`AudioWriter::finish`] renames into
/// place (replacing any existing file atomically). Dropping the writer without calling `finish`,
/// or any error, removes the temporary file and leaves the target untouched.
pub struct AudioWriter {
    // Field order matters: the encoder drops (and flushes) before the temp file is removed.
    writer: Option<Encoder>,
    tmp: Option<NamedTempFile>,
    path: PathBuf,
    channels: usize,
    format: SampleFormat,
    samples: u64,
    clipped: usize,
    nonfinite: usize,
}

enum Encoder {
    Wav(hound::WavWriter<BufWriter<File>>),
    Flac(FlacEncoder),
}

impl std::fmt::Debug for AudioWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioWriter")
            .field("path", &self.path)
            .field("channels", &self.channels)
            .field("format", &self.format)
            .field("samples", &self.samples)
            .finish()
    }
}

impl AudioWriter {
    /// Starts writing `path` with the given rate, channel count and sample format.
    ///
    /// Fails with [`AudioError::MissingFolder`] when the target folder does not exist, with
    /// [`AudioError::Io`] when the path is a folder or the temp file cannot be created, and with
    /// [`AudioError::Write`] for a name that is neither `.wav` nor `.flac`, and for 32-bit float
    /// into FLAC (which holds integers only).
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
        let writer = match Container::of(path) {
            None => {
                let ext = path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_else(|| "no extension".into());
                return Err(AudioError::Write { path: path.to_path_buf(), detail: format!("writes .wav or .flac files; name the output so (got {ext})") });
            }
            Some(Container::Flac) if format == SampleFormat::Float32 => {
                return Err(AudioError::Write { path: path.to_path_buf(), detail: "FLAC holds integer samples only; write 32-bit float as .wav".into() });
            }
            Some(Container::Flac) => Encoder::Flac(FlacEncoder::new(file, sample_rate, channels).map_err(|detail| AudioError::Write { path: path.to_path_buf(), detail })?),
            Some(Container::Wav) => Encoder::Wav(hound::WavWriter::new(BufWriter::new(file), wav_spec(sample_rate, channels, format)).map_err(|e| hound_err(path, e))?),
        };
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
        let (clipped, nonfinite) = (&mut self.clipped, &mut self.nonfinite);
        let res = match (w, self.format) {
            (Encoder::Flac(f), _) => f.write(samples.iter().map(|&x| to_pcm16(counted(x, clipped, nonfinite)))).map_err(|detail| AudioError::Write { path: self.path.clone(), detail }),
            (Encoder::Wav(w), SampleFormat::Pcm16) => samples.iter().try_for_each(|&x| w.write_sample(to_pcm16(counted(x, clipped, nonfinite)))).map_err(|e| hound_err(&self.path, e)),
            (Encoder::Wav(w), SampleFormat::Float32) => samples.iter().try_for_each(|&x| w.write_sample(counted(x, clipped, nonfinite))).map_err(|e| hound_err(&self.path, e)),
        };
        self.samples += samples.len() as u64;
        res.inspect_err(|_| {
            self.writer = None;
            self.tmp = None;
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
        match writer {
            Encoder::Wav(w) => w.finalize().map_err(|e| hound_err(&path, e))?,
            Encoder::Flac(f) => f.finish().map_err(|detail| AudioError::Write { path: path.clone(), detail })?,
        }
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

fn wav_spec(sample_rate: u32, channels: usize, format: SampleFormat) -> hound::WavSpec {
    hound::WavSpec {
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

/// Writes `audio` to `path` atomically, as WAV or FLAC by its extension (see [`AudioWriter`]).
pub fn write_audio(
    path: impl AsRef<Path>,
    audio: &Audio,
    format: SampleFormat,
) -> Result<WriteReport, AudioError> {
    let mut w = AudioWriter::create(path, audio.sample_rate, audio.channels, format)?;
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
