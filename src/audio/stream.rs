//! [`WavStreamWriter`]: a WAV file written front to back to any `Write` (a pipe, stdout, a
//! character device), for outputs that cannot seek back to fill in the header.

use super::error::AudioError;
use super::writer::{counted, to_pcm16};
use super::{SampleFormat, WriteReport};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes a WAV stream whose length is declared up front.
///
/// A WAV header holds the data size, and a pipe cannot be rewound to fill it in afterwards, so
/// the caller states the frame count when creating the writer (for `enhance` it is the input's,
/// known once the input is decoded). [`finish`](Self::finish) fails if the samples written do
/// not add up to it, so a short stream is an error, never a silently wrong header.
pub struct WavStreamWriter<W: Write> {
    out: W,
    path: PathBuf,
    channels: usize,
    format: SampleFormat,
    expected: u64,
    samples: u64,
    clipped: usize,
    nonfinite: usize,
    buf: Vec<u8>,
}

impl<W: Write> WavStreamWriter<W> {
    /// Writes the header of a `frames`-frame WAV to `out`; `path` names it in errors and reports
    /// (`-` for stdout).
    pub fn new(
        mut out: W,
        path: impl AsRef<Path>,
        sample_rate: u32,
        channels: usize,
        format: SampleFormat,
        frames: u64,
    ) -> Result<Self, AudioError> {
        let path = path.as_ref().to_path_buf();
        if channels == 0 || channels > u16::MAX as usize {
            return Err(AudioError::UnsupportedChannels { path, channels });
        }
        let header = header(sample_rate, channels as u16, format, frames).ok_or_else(|| AudioError::Write {
            path: path.clone(),
            detail: format!("{frames} frames do not fit in a WAV file (4 GiB at most)"),
        })?;
        out.write_all(&header).map_err(|e| AudioError::io(&path, "cannot write", e))?;
        Ok(Self { out, path, channels, format, expected: frames * channels as u64, samples: 0, clipped: 0, nonfinite: 0, buf: Vec::new() })
    }

    /// Appends interleaved samples.
    pub fn write(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        if self.samples + samples.len() as u64 > self.expected {
            return Err(self.length_error(self.samples + samples.len() as u64));
        }
        self.buf.clear();
        for &x in samples {
            let x = counted(x, &mut self.clipped, &mut self.nonfinite);
            match self.format {
                SampleFormat::Pcm16 => self.buf.extend_from_slice(&to_pcm16(x).to_le_bytes()),
                SampleFormat::Float32 => self.buf.extend_from_slice(&x.to_le_bytes()),
            }
        }
        self.samples += samples.len() as u64;
        self.out.write_all(&self.buf).map_err(|e| AudioError::io(&self.path, "cannot write", e))
    }

    /// Checks that the declared length was written and flushes.
    pub fn finish(mut self) -> Result<WriteReport, AudioError> {
        if self.samples != self.expected {
            return Err(self.length_error(self.samples));
        }
        self.out.flush().map_err(|e| AudioError::io(&self.path, "cannot write", e))?;
        Ok(WriteReport {
            path: self.path,
            frames: self.samples / self.channels as u64,
            clipped: self.clipped,
            nonfinite_replaced: self.nonfinite,
        })
    }

    fn length_error(&self, got: u64) -> AudioError {
        AudioError::Write {
            path: self.path.clone(),
            detail: format!("{got} samples written to a WAV stream declared with {}", self.expected),
        }
    }
}

/// The header of a canonical WAV (format 1 PCM or 3 IEEE float, with a `fact` chunk for float
/// as the format asks) holding `frames` frames; `None` when the sizes overflow 32 bits.
fn header(rate: u32, channels: u16, format: SampleFormat, frames: u64) -> Option<Vec<u8>> {
    let (tag, bits): (u16, u16) = match format {
        SampleFormat::Pcm16 => (1, 16),
        SampleFormat::Float32 => (3, 32),
    };
    let block = channels as u32 * bits as u32 / 8;
    let data = u32::try_from(frames.checked_mul(block as u64)?).ok()?;
    let fmt_len: u32 = if tag == 1 { 16 } else { 18 };
    let fact_len: u32 = if tag == 1 { 0 } else { 12 };
    let riff = data.checked_add(4 + 8 + fmt_len + fact_len + 8)?;
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&riff.to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&fmt_len.to_le_bytes());
    h.extend_from_slice(&tag.to_le_bytes());
    h.extend_from_slice(&channels.to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&rate.checked_mul(block)?.to_le_bytes());
    h.extend_from_slice(&(block as u16).to_le_bytes());
    h.extend_from_slice(&bits.to_le_bytes());
    if tag == 3 {
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(b"fact");
        h.extend_from_slice(&4u32.to_le_bytes());
        h.extend_from_slice(&u32::try_from(frames).ok()?.to_le_bytes());
    }
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data.to_le_bytes());
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(format: SampleFormat) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.wav");
        let x: Vec<f32> = (0..300).map(|i| ((i as f32) * 0.1).sin() * 0.5).collect();
        let mut w = WavStreamWriter::new(std::fs::File::create(&path).unwrap(), &path, 22_050, 3, format, 100).unwrap();
        w.write(&x[..120]).unwrap();
        w.write(&x[120..]).unwrap();
        assert_eq!(w.finish().unwrap().frames, 100);
        let a = crate::audio::read_audio(&path).unwrap();
        assert_eq!((a.sample_rate, a.channels, a.frames()), (22_050, 3, 100));
        assert!(a.samples.iter().zip(&x).all(|(a, b)| (a - b).abs() < 1e-4));
        let h = hound::WavReader::open(&path).unwrap();
        assert_eq!(h.duration(), 100);
    }

    #[test]
    fn pcm16_and_float_streams_read_back() {
        round_trip(SampleFormat::Pcm16);
        round_trip(SampleFormat::Float32);
    }

    #[test]
    fn a_stream_shorter_or_longer_than_declared_is_an_error() {
        let mut w = WavStreamWriter::new(Vec::new(), "-", 16_000, 1, SampleFormat::Pcm16, 10).unwrap();
        w.write(&[0.0; 5]).unwrap();
        assert!(w.finish().unwrap_err().to_string().contains("5 samples written"));
        let mut w = WavStreamWriter::new(Vec::new(), "-", 16_000, 1, SampleFormat::Pcm16, 10).unwrap();
        assert!(w.write(&[0.0; 11]).is_err());
    }
}
