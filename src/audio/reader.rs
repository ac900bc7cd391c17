//! [`AudioReader`]: streaming decoder for WAV (hound, with symphonia for the formats hound lacks)
//! and FLAC / MP3 / Ogg Vorbis (symphonia).

use super::error::AudioError;
use super::{MAX_RATE, MIN_RATE};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// What was noticed while decoding a file, besides the samples themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadReport {
    /// NaN or infinite samples that were replaced with 0.0 (only float files can hold them).
    pub nonfinite_replaced: usize,
    /// The audio data ended before the length its header promised; the frames before the cut
    /// were returned.
    pub truncated: bool,
    /// Compressed packets that failed to decode and were skipped.
    pub skipped_packets: usize,
}

impl ReadReport {
    /// Whether anything is worth a warning.
    pub fn has_warnings(&self) -> bool {
        self.nonfinite_replaced > 0 || self.truncated || self.skipped_packets > 0
    }
}

/// Streaming audio decoder: opens a file and returns its audio in blocks of interleaved frames,
/// so long files decode with bounded memory.
///
/// Reads WAV (PCM 8/16/24/32-bit integer, 32/64-bit float, A-law, mu-law), FLAC, MP3 and Ogg
/// Vorbis, at any rate in [`MIN_RATE`]..=[`MAX_RATE`] and any channel count. Samples are `f32`
/// in `[-1, 1]` (integer formats are scaled by `2^-(bits-1)`). NaN and infinite samples are
/// replaced with 0.0 and counted in [`AudioReader::report`].
pub struct AudioReader {
    path: PathBuf,
    sample_rate: u32,
    channels: usize,
    total_frames: Option<u64>,
    frames_read: u64,
    report: ReadReport,
    backend: Backend,
}

enum Backend {
    Hound(HoundBackend),
    Sym(Box<SymBackend>),
}

struct HoundBackend {
    reader: hound::WavReader<BufReader<File>>,
    /// `Some(scale)` for integer samples, `None` for 32-bit float.
    int_scale: Option<f32>,
    done: bool,
}

struct SymBackend {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    buf: Option<SampleBuffer<f32>>,
    /// Interleaved samples decoded but not yet returned start at `pos`.
    pos: usize,
    done: bool,
}

impl std::fmt::Debug for AudioReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioReader")
            .field("path", &self.path)
            .field("sample_rate", &self.sample_rate)
            .field("channels", &self.channels)
            .field("total_frames", &self.total_frames)
            .field("frames_read", &self.frames_read)
            .finish()
    }
}

/// Leading bytes of the file, to tell formats apart and name truncations.
fn sniff(path: &Path) -> Result<(u64, Vec<u8>), AudioError> {
    let mut file = File::open(path).map_err(|e| AudioError::io(path, "cannot open", e))?;
    let meta = file
        .metadata()
        .map_err(|e| AudioError::io(path, "cannot open", e))?;
    if meta.is_dir() {
        return Err(AudioError::Io {
            path: path.to_path_buf(),
            what: "cannot open",
            source: io::Error::other("it is a folder, not a file"),
        });
    }
    let mut head = Vec::with_capacity(64);
    (&mut file)
        .take(64)
        .read_to_end(&mut head)
        .map_err(|e| AudioError::io(path, "cannot read", e))?;
    Ok((meta.len(), head))
}

/// A short name for a recognised container magic, if any.
fn known_magic(head: &[u8]) -> Option<&'static str> {
    let starts = |m: &[u8]| {
        head.len() >= m.len() && &head[..m.len()] == m
            || (head.len() < m.len() && m.starts_with(head))
    };
    if head.is_empty() {
        None
    } else if starts(b"RIFF") || starts(b"RIFX") || starts(b"RF64") {
        Some("WAV/RIFF")
    } else if starts(b"fLaC") {
        Some("FLAC")
    } else if starts(b"OggS") {
        Some("Ogg")
    } else if starts(b"ID3") {
        Some("MP3 (ID3 tag)")
    } else if head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0 {
        Some("MP3")
    } else {
        None
    }
}

fn is_wave(head: &[u8]) -> bool {
    head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WAVE"
}

/// The format tag of a WAV file whose `fmt ` chunk comes first.
fn wave_format_tag(head: &[u8]) -> Option<u16> {
    (is_wave(head) && head.len() >= 22 && &head[12..16] == b"fmt ")
        .then(|| u16::from_le_bytes([head[20], head[21]]))
}

fn is_eof(e: &io::Error) -> bool {
    // hound reports a short read as `Other` with this message.
    e.kind() == io::ErrorKind::UnexpectedEof || e.to_string() == "Failed to read enough bytes."
}

impl AudioReader {
    /// Opens `path` and reads its header.
    ///
    /// Errors name the file and the problem: unreadable path or missing folder, empty file,
    /// truncated header, not audio, unsupported codec, unsupported sample rate or channel count,
    /// and zero-length audio when the header says there are no frames.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AudioError> {
        let path = path.as_ref();
        let (len, head) = sniff(path)?;
        if len == 0 {
            return Err(AudioError::Empty {
                path: path.to_path_buf(),
            });
        }
        let magic = known_magic(&head);
        if magic == Some("WAV/RIFF") && len < 12 {
            return Err(AudioError::TruncatedHeader {
                path: path.to_path_buf(),
                detail: format!("RIFF file of only {len} bytes"),
            });
        }
        let reader = if is_wave(&head) {
            let tag_note = |e: AudioError| match e {
                AudioError::UnsupportedCodec { path, detail } => match wave_format_tag(&head) {
                    Some(tag) => AudioError::UnsupportedCodec {
                        path,
                        detail: format!("WAV format tag {tag:#06x}: {detail}"),
                    },
                    None => AudioError::UnsupportedCodec { path, detail },
                },
                e => e,
            };
            match Self::open_hound(path).map_err(tag_note) {
                Ok(Some(r)) => r,
                // hound does not do this WAV flavour (64-bit float, A-law, ...): try symphonia.
                Ok(None) => Self::open_symphonia(path, magic).map_err(tag_note)?,
                // hound rejects some valid headers (e.g. 64-bit float, ADPCM): let symphonia
                // decide, and keep hound's words unless symphonia names a codec or truncation.
                Err(hound_err @ AudioError::Corrupt { .. }) => {
                    match Self::open_symphonia(path, magic).map_err(tag_note) {
                        Ok(r) => r,
                        Err(
                            e @ (AudioError::UnsupportedCodec { .. }
                            | AudioError::TruncatedHeader { .. }),
                        ) => return Err(e),
                        Err(_) => return Err(hound_err),
                    }
                }
                Err(e) => return Err(e),
            }
        } else {
            Self::open_symphonia(path, magic)?
        };
        if !(MIN_RATE..=MAX_RATE).contains(&reader.sample_rate) {
            return Err(AudioError::UnsupportedSampleRate {
                path: path.to_path_buf(),
                rate: reader.sample_rate,
            });
        }
        if reader.channels == 0 {
            return Err(AudioError::UnsupportedChannels {
                path: path.to_path_buf(),
                channels: 0,
            });
        }
        if reader.total_frames == Some(0) {
            return Err(AudioError::ZeroLength {
                path: path.to_path_buf(),
            });
        }
        Ok(reader)
    }

    /// `Ok(None)` when hound does not support the WAV flavour.
    fn open_hound(path: &Path) -> Result<Option<Self>, AudioError> {
        let p = || path.to_path_buf();
        let reader = match hound::WavReader::open(path) {
            Ok(r) => r,
            Err(hound::Error::Unsupported) => return Ok(None),
            Err(hound::Error::IoError(e)) if is_eof(&e) => {
                return Err(AudioError::TruncatedHeader {
                    path: p(),
                    detail: "the WAV header ends before the audio data starts".into(),
                })
            }
            Err(hound::Error::IoError(e)) => return Err(AudioError::io(path, "cannot read", e)),
            Err(e) => {
                return Err(AudioError::Corrupt {
                    path: p(),
                    detail: format!("malformed WAV header: {e}"),
                })
            }
        };
        let spec = reader.spec();
        let int_scale = match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Float, 32) => None,
            (hound::SampleFormat::Int, b @ 1..=32) => Some(1.0 / (1u64 << (b - 1)) as f32),
            // Anything else: let symphonia try (and name the problem if it cannot).
            _ => return Ok(None),
        };
        Ok(Some(Self {
            path: p(),
            sample_rate: spec.sample_rate,
            channels: spec.channels as usize,
            total_frames: Some(reader.duration() as u64),
            frames_read: 0,
            report: ReadReport::default(),
            backend: Backend::Hound(HoundBackend {
                reader,
                int_scale,
                done: false,
            }),
        }))
    }

    fn open_symphonia(path: &Path, magic: Option<&'static str>) -> Result<Self, AudioError> {
        let p = || path.to_path_buf();
        let file = File::open(path).map_err(|e| AudioError::io(path, "cannot open", e))?;
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let fmt_opts = FormatOptions {
            enable_gapless: true,
            ..Default::default()
        };
        let probed = symphonia::default::get_probe()
            .format(&hint, mss, &fmt_opts, &MetadataOptions::default())
            .map_err(|e| match (e, magic) {
                (SymError::IoError(e), Some(m)) if is_eof(&e) => AudioError::TruncatedHeader {
                    path: p(),
                    detail: format!("the {m} header ends early"),
                },
                (SymError::IoError(e), None) if is_eof(&e) => AudioError::NotAudio {
                    path: p(),
                    detail: "no known audio header found".into(),
                },
                (SymError::IoError(e), _) => AudioError::io(path, "cannot read", e),
                (SymError::Unsupported(msg), _) if msg.starts_with("core (probe)") => {
                    AudioError::NotAudio {
                        path: p(),
                        detail: "no WAV, FLAC, MP3 or Ogg Vorbis header found".into(),
                    }
                }
                (SymError::Unsupported(msg), _) => AudioError::UnsupportedCodec {
                    path: p(),
                    detail: msg.to_string(),
                },
                (SymError::DecodeError(msg), Some(m)) => AudioError::Corrupt {
                    path: p(),
                    detail: format!("malformed {m} header: {msg}"),
                },
                (e, _) => AudioError::NotAudio {
                    path: p(),
                    detail: e.to_string(),
                },
            })?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| AudioError::UnsupportedCodec {
                path: p(),
                detail: "no audio track with a known codec".into(),
            })?;
        let params = track.codec_params.clone();
        let track_id = track.id;
        let decoder = symphonia::default::get_codecs()
            .make(&params, &DecoderOptions::default())
            .map_err(|e| AudioError::UnsupportedCodec {
                path: p(),
                detail: format!("no decoder for codec {} ({e})", codec_name(params.codec)),
            })?;
        let mut reader = Self {
            path: p(),
            sample_rate: params.sample_rate.unwrap_or(0),
            channels: params.channels.map_or(0, |c| c.count()),
            total_frames: params.n_frames,
            frames_read: 0,
            report: ReadReport::default(),
            backend: Backend::Sym(Box::new(SymBackend {
                format,
                decoder,
                track_id,
                buf: None,
                pos: 0,
                done: false,
            })),
        };
        if reader.sample_rate == 0 || reader.channels == 0 {
            // Some streams only say in their first packet.
            reader.fill_sym()?;
        }
        if reader.sample_rate == 0 {
            return Err(AudioError::Corrupt {
                path: p(),
                detail: "the stream does not state its sample rate".into(),
            });
        }
        Ok(reader)
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Number of interleaved channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Number of frames the header promises, when it says.
    pub fn total_frames(&self) -> Option<u64> {
        self.total_frames
    }

    /// Frames returned so far.
    pub fn frames_read(&self) -> u64 {
        self.frames_read
    }

    /// Non-finite samples replaced, truncation and skipped packets, so far.
    pub fn report(&self) -> ReadReport {
        self.report
    }

    /// Clears `out` and fills it with up to `max_frames` interleaved frames; returns the number
    /// of frames, 0 at the end of the file.
    ///
    /// Fewer than `max_frames` frames are returned only at the end. Memory use is bounded by
    /// `max_frames` plus one compressed packet. If the audio data ends early (a truncated file),
    /// the frames before the cut are returned, the end is reported as usual and
    /// [`ReadReport::truncated`] is set.
    pub fn read_block(
        &mut self,
        out: &mut Vec<f32>,
        max_frames: usize,
    ) -> Result<usize, AudioError> {
        out.clear();
        let ch = self.channels;
        let want = max_frames * ch;
        match &mut self.backend {
            Backend::Hound(h) => {
                if !h.done {
                    out.reserve(want);
                    let res = match h.int_scale {
                        Some(scale) => read_hound(&mut h.reader.samples::<i32>(), want, out, |s| {
                            s as f32 * scale
                        }),
                        None => read_hound(&mut h.reader.samples::<f32>(), want, out, |s| s),
                    };
                    match res {
                        Ok(true) => {}
                        Ok(false) => h.done = true,
                        Err(hound::Error::IoError(e)) if is_eof(&e) => {
                            h.done = true;
                            self.report.truncated = true;
                            tracing::warn!(
                                "{}: audio data ends before the length in its header",
                                self.path.display()
                            );
                        }
                        Err(hound::Error::IoError(e)) => {
                            return Err(AudioError::io(&self.path, "cannot read", e))
                        }
                        Err(e) => {
                            return Err(AudioError::Corrupt {
                                path: self.path.clone(),
                                detail: e.to_string(),
                            })
                        }
                    }
                    if h.done {
                        // Drop a partial frame left by a cut.
                        out.truncate(out.len() / ch * ch);
                    }
                }
            }
            Backend::Sym(_) => {
                while out.len() < want {
                    let Backend::Sym(s) = &mut self.backend else {
                        unreachable!()
                    };
                    let avail = s.buf.as_ref().map_or(0, |b| b.len()) - s.pos;
                    if avail > 0 {
                        let n = avail.min(want - out.len());
                        let buf = s.buf.as_ref().expect("avail > 0");
                        out.extend_from_slice(&buf.samples()[s.pos..s.pos + n]);
                        s.pos += n;
                        continue;
                    }
                    if s.done || !self.fill_sym()? {
                        break;
                    }
                }
            }
        }
        let mut bad = 0;
        for v in out.iter_mut() {
            if !v.is_finite() {
                *v = 0.0;
                bad += 1;
            }
        }
        self.report.nonfinite_replaced += bad;
        let frames = out.len() / ch.max(1);
        self.frames_read += frames as u64;
        Ok(frames)
    }

    /// Decodes the next packet into the sample buffer; `Ok(false)` at the end of the stream.
    fn fill_sym(&mut self) -> Result<bool, AudioError> {
        let Backend::Sym(s) = &mut self.backend else {
            return Ok(false);
        };
        loop {
            let packet = match s.format.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if is_eof(&e) => {
                    s.done = true;
                    return Ok(false);
                }
                Err(SymError::ResetRequired) => {
                    s.done = true;
                    return Ok(false);
                }
                Err(SymError::IoError(e)) => {
                    return Err(AudioError::io(&self.path, "cannot read", e))
                }
                Err(e) => {
                    return Err(AudioError::Corrupt {
                        path: self.path.clone(),
                        detail: e.to_string(),
                    })
                }
            };
            if packet.track_id() != s.track_id {
                continue;
            }
            match s.decoder.decode(&packet) {
                Ok(decoded) => {
                    let spec = *decoded.spec();
                    if decoded.frames() == 0 {
                        continue;
                    }
                    if self.channels == 0 {
                        self.channels = spec.channels.count();
                    }
                    if self.sample_rate == 0 {
                        self.sample_rate = spec.rate;
                    }
                    if spec.channels.count() != self.channels {
                        return Err(AudioError::Corrupt {
                            path: self.path.clone(),
                            detail: format!(
                                "channel count changes from {} to {} mid-stream",
                                self.channels,
                                spec.channels.count()
                            ),
                        });
                    }
                    let need = decoded.capacity() as u64;
                    if s.buf
                        .as_ref()
                        .is_none_or(|b| b.capacity() < decoded.capacity() * self.channels)
                    {
                        s.buf = Some(SampleBuffer::<f32>::new(need, spec));
                    }
                    let buf = s.buf.as_mut().expect("just set");
                    buf.copy_interleaved_ref(decoded);
                    s.pos = 0;
                    return Ok(true);
                }
                Err(SymError::DecodeError(msg)) => {
                    self.report.skipped_packets += 1;
                    tracing::warn!(
                        "{}: skipping an undecodable packet ({msg})",
                        self.path.display()
                    );
                }
                Err(SymError::IoError(e)) if is_eof(&e) => {
                    s.done = true;
                    self.report.truncated = true;
                    return Ok(false);
                }
                Err(SymError::Unsupported(msg)) => {
                    return Err(AudioError::UnsupportedCodec {
                        path: self.path.clone(),
                        detail: msg.to_string(),
                    })
                }
                Err(e) => {
                    return Err(AudioError::Corrupt {
                        path: self.path.clone(),
                        detail: e.to_string(),
                    })
                }
            }
        }
    }
}

/// Pulls up to `want` samples from a hound iterator; `Ok(false)` when it ran dry.
fn read_hound<S, I, F>(
    it: &mut I,
    want: usize,
    out: &mut Vec<f32>,
    conv: F,
) -> Result<bool, hound::Error>
where
    I: Iterator<Item = Result<S, hound::Error>>,
    F: Fn(S) -> f32,
{
    while out.len() < want {
        match it.next() {
            Some(s) => out.push(conv(s?)),
            None => return Ok(false),
        }
    }
    Ok(true)
}

/// A readable name for a symphonia codec type.
fn codec_name(codec: symphonia::core::codecs::CodecType) -> String {
    use symphonia::core::codecs::*;
    let name = match codec {
        CODEC_TYPE_ADPCM_MS => "Microsoft ADPCM",
        CODEC_TYPE_ADPCM_IMA_WAV => "IMA ADPCM",
        CODEC_TYPE_AAC => "AAC",
        CODEC_TYPE_ALAC => "ALAC",
        CODEC_TYPE_OPUS => "Opus",
        CODEC_TYPE_MP1 => "MP1",
        CODEC_TYPE_MP2 => "MP2",
        _ => return format!("{codec}"),
    };
    name.to_string()
}
