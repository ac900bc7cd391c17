//! A RIFF chunk walker for the WAV files hound cannot read as they are: odd-sized chunks with
//! their pad byte before the audio (RIFF chunks are word-aligned, hound skips only the chunk's
//! stated size), and G.711 A-law / mu-law with a 16-byte `fmt ` chunk (symphonia wants 18).

use super::error::AudioError;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// WAVE format tag of G.711 A-law.
pub(crate) const TAG_ALAW: u16 = 6;
/// WAVE format tag of G.711 mu-law.
pub(crate) const TAG_MULAW: u16 = 7;

/// Where a WAV file's format and audio data are.
#[derive(Debug, Clone)]
pub(crate) struct WavLayout {
    /// The `fmt ` chunk's bytes (without its header).
    pub fmt: Vec<u8>,
    /// Byte offset of the first audio byte.
    pub data_offset: u64,
    /// Length of the `data` chunk as its header states it.
    pub data_len: u32,
    /// Whether an odd-sized chunk (and its pad byte) comes before the audio.
    pub odd_chunk: bool,
}

impl WavLayout {
    /// The format tag (1 PCM, 3 float, 6 A-law, 7 mu-law, 0xFFFE extensible, ...).
    pub fn tag(&self) -> u16 {
        u16::from_le_bytes([self.fmt[0], self.fmt[1]])
    }

    /// The channel count.
    pub fn channels(&self) -> u16 {
        u16::from_le_bytes([self.fmt[2], self.fmt[3]])
    }

    /// The sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        u32::from_le_bytes([self.fmt[4], self.fmt[5], self.fmt[6], self.fmt[7]])
    }

    /// The RIFF header hound expects (`RIFF`, `WAVE`, `fmt `, `data` header), with every
    /// chunk before the audio but `fmt ` left out, so its stream can follow directly.
    pub fn normalized_header(&self) -> Vec<u8> {
        let fmt_len = self.fmt.len() + self.fmt.len() % 2;
        let mut out = Vec::with_capacity(28 + fmt_len);
        out.extend_from_slice(b"RIFF");
        let riff_len = (4 + 8 + fmt_len + 8) as u64 + u64::from(self.data_len);
        out.extend_from_slice(&(riff_len.min(u64::from(u32::MAX)) as u32).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&(self.fmt.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.fmt);
        out.resize(out.len() + self.fmt.len() % 2, 0);
        out.extend_from_slice(b"data");
        out.extend_from_slice(&self.data_len.to_le_bytes());
        out
    }
}

/// Walks the chunks of a `RIFF....WAVE` file up to its `data` chunk. `Ok(None)` when the walk
/// runs off the end or finds no `fmt ` chunk first: the caller's decoder then names the problem.
pub(crate) fn scan(path: &Path) -> Result<Option<WavLayout>, AudioError> {
    let file = File::open(path).map_err(|e| AudioError::io(path, "cannot open", e))?;
    let mut r = BufReader::new(file);
    match walk(&mut r) {
        Ok(layout) => Ok(layout),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(AudioError::io(path, "cannot read", e)),
    }
}

fn walk(r: &mut BufReader<File>) -> io::Result<Option<WavLayout>> {
    let mut head = [0u8; 12];
    r.read_exact(&mut head)?;
    if &head[..4] != b"RIFF" || &head[8..] != b"WAVE" {
        return Ok(None);
    }
    let (mut pos, mut fmt, mut odd_chunk) = (12u64, None::<Vec<u8>>, false);
    loop {
        let mut ch = [0u8; 8];
        r.read_exact(&mut ch)?;
        let len = u32::from_le_bytes([ch[4], ch[5], ch[6], ch[7]]);
        pos += 8;
        match &ch[..4] {
            b"data" => {
                return Ok(fmt.filter(|f| f.len() >= 16).map(|fmt| WavLayout {
                    fmt,
                    data_offset: pos,
                    data_len: len,
                    odd_chunk,
                }))
            }
            b"fmt " if len <= 4096 => {
                let mut buf = vec![0u8; len as usize];
                r.read_exact(&mut buf)?;
                fmt = Some(buf);
                r.seek_relative(i64::from(len % 2))?;
            }
            _ => {
                odd_chunk |= len % 2 == 1;
                // Chunks are word-aligned: an odd-sized chunk is followed by one pad byte.
                r.seek(SeekFrom::Start(pos + u64::from(len) + u64::from(len % 2)))?;
                // Seeking past the end succeeds; the next read reports it.
            }
        }
        pos += u64::from(len) + u64::from(len % 2);
    }
}

/// Decodes one G.711 mu-law byte to a 16-bit sample (ITU-T G.711).
pub(crate) fn mulaw_to_i16(byte: u8) -> i16 {
    let u = !byte;
    let t = ((i32::from(u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4);
    (if u & 0x80 != 0 { 0x84 - t } else { t - 0x84 }) as i16
}

/// Decodes one G.711 A-law byte to a 16-bit sample (ITU-T G.711).
pub(crate) fn alaw_to_i16(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let seg = i32::from((a & 0x70) >> 4);
    let mut t = i32::from(a & 0x0F) << 4;
    t += if seg == 0 { 8 } else { 0x108 };
    if seg > 1 {
        t <<= seg - 1;
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_known_values() {
        assert_eq!(
            [0xFF, 0x7F, 0x80, 0x00].map(mulaw_to_i16),
            [0, 0, 32124, -32124]
        );
        assert_eq!(
            [0xD5, 0x55, 0xAA, 0x2A].map(alaw_to_i16),
            [8, -8, 32256, -32256]
        );
    }
}
