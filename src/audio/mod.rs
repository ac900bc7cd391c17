//! Audio files in and out.
//!
//! - [`read_audio`] / [`read_audio_with_report`] decode a whole file into an [`Audio`];
//!   [`AudioReader`] decodes block by block with bounded memory. WAV (PCM 8/16/24/32-bit integer,
//!   32/64-bit float, G.711 A-law and mu-law) goes through hound, with symphonia for the WAV
//!   flavours hound lacks (64-bit float) and a small decoder here for G.711; FLAC, MP3 and Ogg
//!   Vorbis go through symphonia.
//! - [`AudioWriter`] / [`write_audio`] write 16-bit PCM or 32-bit float WAV, or 16-bit FLAC
//!   (flacenc) for a `.flac` target, atomically: a temp file in the target folder is renamed into
//!   place on success, so a failed write leaves nothing.
//! - [`ensure_distinct`] refuses an output path that names the input file.
//!
//! Samples are `f32`, interleaved, nominally in `[-1, 1]`. Every [`AudioError`] names the file.
//! A NaN, infinite or absurd sample (beyond ±[`MAX_SAMPLE`]) is refused; so is a FLAC, MP3 or Ogg
//! file that is cut short or has a damaged packet. A WAV file cut short is read up to the cut
//! with a warning ([`ReadReport::truncated`]).

mod error;
mod flac;
mod reader;
mod wav;
mod stream;
mod writer;

pub use error::AudioError;
pub use reader::{AudioReader, ReadReport};
pub use stream::WavStreamWriter;
pub use writer::{write_audio, AudioWriter, Container, SampleFormat, WriteReport};

use std::path::Path;

/// Lowest sample rate accepted when reading, in Hz.
pub const MIN_RATE: u32 = 8_000;
/// Highest sample rate accepted when reading, in Hz.
pub const MAX_RATE: u32 = 192_000;

/// Largest sample magnitude accepted when reading: 10,000 times full scale (+80 dBFS). Float
/// files may exceed 1.0 a little; a sample beyond this is damage or a file not scaled as audio,
/// and the model's float arithmetic would turn it into silence.
pub const MAX_SAMPLE: f32 = 1e4;

/// A block of audio in memory: interleaved `f32` samples, nominally in `[-1, 1]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Audio {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Number of interleaved channels.
    pub channels: usize,
    /// Interleaved samples: frame `i`, channel `c` is `samples[i * channels + c]`.
    pub samples: Vec<f32>,
}

impl Audio {
    /// Mono audio from one channel's samples.
    pub fn mono(sample_rate: u32, samples: Vec<f32>) -> Self {
        Self {
            sample_rate,
            channels: 1,
            samples,
        }
    }

    /// Number of frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len().checked_div(self.channels).unwrap_or(0)
    }

    /// A copy of channel `c`.
    ///
    /// # Panics
    /// If `c >= channels`.
    pub fn channel(&self, c: usize) -> Vec<f32> {
        assert!(
            c < self.channels,
            "channel {c} out of range: audio has {} channels",
            self.channels
        );
        self.samples
            .chunks_exact(self.channels)
            .map(|f| f[c])
            .collect()
    }

    /// The average of all channels (a copy of the samples when mono).
    pub fn to_mono(&self) -> Vec<f32> {
        match self.channels {
            0 => Vec::new(),
            1 => self.samples.clone(),
            n => {
                let scale = 1.0 / n as f32;
                self.samples
                    .chunks_exact(n)
                    .map(|f| f.iter().sum::<f32>() * scale)
                    .collect()
            }
        }
    }

    /// Interleaves separate channels into one [`Audio`].
    ///
    /// # Panics
    /// If the channels differ in length.
    pub fn from_channels(sample_rate: u32, channels: &[Vec<f32>]) -> Self {
        let frames = channels.first().map_or(0, Vec::len);
        assert!(
            channels.iter().all(|c| c.len() == frames),
            "Audio::from_channels: channels differ in length"
        );
        let n = channels.len();
        let mut samples = vec![0.0; frames * n];
        for (c, chan) in channels.iter().enumerate() {
            for (i, &v) in chan.iter().enumerate() {
                samples[i * n + c] = v;
            }
        }
        Self {
            sample_rate,
            channels: n,
            samples,
        }
    }

    /// Duration in seconds (0 when the rate is 0).
    pub fn duration_secs(&self) -> f64 {
        if self.sample_rate == 0 {
            0.0
        } else {
            self.frames() as f64 / self.sample_rate as f64
        }
    }
}

/// Decodes a whole audio file (any format [`AudioReader`] reads).
///
/// A NaN, infinite or absurd sample is [`AudioError::BadSample`]; a file without any frames is
/// [`AudioError::ZeroLength`].
pub fn read_audio(path: impl AsRef<Path>) -> Result<Audio, AudioError> {
    read_audio_with_report(path).map(|(audio, _)| audio)
}

/// Decodes a whole audio file and reports what was noticed on the way
/// ([`ReadReport::truncated`]), which is also logged as a warning through `tracing`.
pub fn read_audio_with_report(path: impl AsRef<Path>) -> Result<(Audio, ReadReport), AudioError> {
    let path = path.as_ref();
    let mut reader = AudioReader::open(path)?;
    let block = 1 << 15;
    let mut samples = Vec::with_capacity(
        reader
            .total_frames()
            .map_or(0, |n| (n as usize).min(1 << 28))
            * reader.channels(),
    );
    let mut buf = Vec::with_capacity(block * reader.channels());
    while reader.read_block(&mut buf, block)? > 0 {
        samples.extend_from_slice(&buf);
    }
    let channels = reader.channels();
    if samples.len() < channels {
        return Err(AudioError::ZeroLength {
            path: path.to_path_buf(),
        });
    }
    let report = reader.report();
    Ok((
        Audio {
            sample_rate: reader.sample_rate(),
            channels,
            samples,
        },
        report,
    ))
}

/// Refuses an output path that names the same file as the input.
///
/// When the output exists, both paths are canonicalized (symlinks and `..` resolved) and, on
/// Unix, also compared by device and inode (hard links). Otherwise the absolute paths are
/// compared. Returns [`AudioError::SameFile`] naming both.
pub fn ensure_distinct(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
) -> Result<(), AudioError> {
    let (input, output) = (input.as_ref(), output.as_ref());
    let same = if output.exists() {
        let by_path = match (std::fs::canonicalize(input), std::fs::canonicalize(output)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        by_path || same_inode(input, output)
    } else {
        !input.exists()
            && match (std::path::absolute(input), std::path::absolute(output)) {
                (Ok(a), Ok(b)) => a == b,
                _ => input == output,
            }
    };
    if same {
        return Err(AudioError::SameFile {
            input: input.to_path_buf(),
            output: output.to_path_buf(),
        });
    }
    Ok(())
}

#[cfg(unix)]
fn same_inode(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_inode(_a: &Path, _b: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_round_trip() {
        let a = Audio::from_channels(16_000, &[vec![1.0, 2.0, 3.0], vec![-1.0, -2.0, -3.0]]);
        assert_eq!(a.samples, vec![1.0, -1.0, 2.0, -2.0, 3.0, -3.0]);
        assert_eq!(a.frames(), 3);
        assert_eq!(a.channel(1), vec![-1.0, -2.0, -3.0]);
        assert_eq!(a.to_mono(), vec![0.0, 0.0, 0.0]);
        assert!((a.duration_secs() - 3.0 / 16_000.0).abs() < 1e-12);
    }
}
