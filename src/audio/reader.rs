//! [`AudioReader`]: streaming decoder for WAV (hound, with symphonia for the formats hound lacks)
//! and FLAC / MP3 / Ogg Vorbis (symphonia).

use super::error::AudioError;
use super::wav::{self, WavLayout, TAG_ALAW, TAG_MULAW};
use super::{MAX_RATE, MAX_SAMPLE, MIN_RATE};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
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
    /// The WAV audio data ended before the length its header promised; the frames before the
    /// cut were returned. (A cut or damaged FLAC, MP3 or Ogg file is an error instead: its
    /// damage is not always at the end.)
    pub truncated: bool,
}

impl ReadReport {
    /// Whether anything is worth a warning.
    pub fn has_warnings(&self) -> bool {
        self.truncated
    }
}

/// Streaming audio decoder: opens a file and returns its audio in blocks of interleaved frames,
/// so long files decode with bounded memory.
///
/// Reads WAV (PCM 8/16/24/32-bit integer, 32/64-bit float, A-law, mu-law), FLAC, MP3 and Ogg
/// Vorbis, at any rate in [`MIN_RATE`]..=[`MAX_RATE`] and any channel count. Samples are `f32`
/// in `[-1, 1]` (integer formats are scaled by `2^-(bits-1)`). A NaN, infinite or absurdly
/// large float sample (beyond ±[`MAX_SAMPLE`] full scale) is an [`AudioError::BadSample`].
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
    G711(G711Backend),
    Sym(Box<SymBackend>),
}

struct HoundBackend {
    /// A boxed reader: the file itself, or a rebuilt header followed by the file's audio bytes
    /// (see [`WavLayout::normalized_header`]).
    reader: hound::WavReader<Box<dyn Read + Send>>,
    /// `Some(scale)` for integer samples, `None` for 32-bit float.
    int_scale: Option<f32>,
    done: bool,
}

/// G.711 WAV data: one byte per sample.
struct G711Backend {
    data: std::io::Take<BufReader<File>>,
    decode: fn(u8) -> i16,
    bytes: Vec<u8>,
    done: bool,
}

struct SymBackend {
    format: Box<dyn FormatReader>,
    /// Frames decoded so far, to compare with the header's total at the end.
    decoded: u64,
    /// Whether the header's frame count is exact (FLAC, MP3 with a Xing/Info/VBRI tag), not an
    /// estimate (symphonia guesses an untagged MP3's length from its size).
    exact_total: bool,
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
        refuse_unsupported_riff(path, &head)?;
        let reader = if is_wave(&head) {
            Self::open_wave(path, &head, magic)?
        } else {
            match magic {
                Some("Ogg") => check_ogg_end(path, len)?,
                Some(m) if m.starts_with("MP3") => check_mp3_end(path, len)?,
                _ => {}
            }
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

    /// A `RIFF....WAVE` file: G.711 through [`G711Backend`], the rest through hound (fed a
    /// rebuilt header when an odd-sized chunk precedes the audio), symphonia for what hound lacks.
    fn open_wave(path: &Path, head: &[u8], magic: Option<&'static str>) -> Result<Self, AudioError> {
        let layout = wav::scan(path)?;
        if let Some(l) = layout.as_ref().filter(|l| matches!(l.tag(), TAG_ALAW | TAG_MULAW)) {
            return Self::open_g711(path, l);
        }
        let tag_note = |e: AudioError| match e {
            AudioError::UnsupportedCodec { path, detail } => match wave_format_tag(head) {
                Some(tag) => AudioError::UnsupportedCodec {
                    path,
                    detail: format!("WAV format tag {tag:#06x}: {detail}"),
                },
                None => AudioError::UnsupportedCodec { path, detail },
            },
            e => e,
        };
        let rebuilt = layout.as_ref().filter(|l| l.odd_chunk);
        match Self::open_hound(path, rebuilt).map_err(tag_note) {
            Ok(Some(r)) => Ok(r),
            // hound does not do this WAV flavour (64-bit float, ...): try symphonia.
            Ok(None) => Self::open_symphonia(path, magic).map_err(tag_note),
            // hound rejects some valid headers (e.g. 64-bit float, ADPCM): let symphonia
            // decide, and keep hound's words unless symphonia names a codec or truncation.
            Err(hound_err @ AudioError::Corrupt { .. }) => {
                match Self::open_symphonia(path, magic).map_err(tag_note) {
                    Ok(r) => Ok(r),
                    Err(
                        e @ (AudioError::UnsupportedCodec { .. }
                        | AudioError::TruncatedHeader { .. }),
                    ) => Err(e),
                    Err(_) => Err(hound_err),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// G.711 A-law or mu-law WAV data, decoded here: symphonia refuses the common 16-byte
    /// `fmt ` chunk and hound does not do G.711.
    fn open_g711(path: &Path, layout: &WavLayout) -> Result<Self, AudioError> {
        let channels = usize::from(layout.channels());
        let mut file = File::open(path).map_err(|e| AudioError::io(path, "cannot open", e))?;
        file.seek(SeekFrom::Start(layout.data_offset))
            .map_err(|e| AudioError::io(path, "cannot read", e))?;
        let decode = if layout.tag() == TAG_ALAW {
            wav::alaw_to_i16
        } else {
            wav::mulaw_to_i16
        };
        Ok(Self {
            path: path.to_path_buf(),
            sample_rate: layout.sample_rate(),
            channels,
            total_frames: Some(u64::from(layout.data_len) / channels.max(1) as u64),
            frames_read: 0,
            report: ReadReport::default(),
            backend: Backend::G711(G711Backend {
                data: BufReader::new(file).take(u64::from(layout.data_len)),
                decode,
                bytes: Vec::new(),
                done: false,
            }),
        })
    }

    /// `Ok(None)` when hound does not support the WAV flavour. With `rebuilt`, hound reads a
    /// rebuilt header and then the file's audio bytes.
    fn open_hound(path: &Path, rebuilt: Option<&WavLayout>) -> Result<Option<Self>, AudioError> {
        let p = || path.to_path_buf();
        let mut file = File::open(path).map_err(|e| AudioError::io(path, "cannot open", e))?;
        let source: Box<dyn Read + Send> = match rebuilt {
            None => Box::new(BufReader::new(file)),
            Some(l) => {
                file.seek(SeekFrom::Start(l.data_offset))
                    .map_err(|e| AudioError::io(path, "cannot read", e))?;
                Box::new(io::Cursor::new(l.normalized_header()).chain(BufReader::new(file)))
            }
        };
        let reader = match hound::WavReader::new(source) {
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
                decoded: 0,
                exact_total: match magic {
                    Some("FLAC") => true,
                    Some(m) if m.starts_with("MP3") => mp3_length_tag(path),
                    _ => false,
                },
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

    /// What was noticed so far (a WAV file cut short).
    pub fn report(&self) -> ReadReport {
        self.report
    }

    /// Clears `out` and fills it with up to `max_frames` interleaved frames; returns the number
    /// of frames, 0 at the end of the file.
    ///
    /// Fewer than `max_frames` frames are returned only at the end. Memory use is bounded by
    /// `max_frames` plus one compressed packet. If WAV audio data ends early (a truncated file),
    /// the frames before the cut are returned, the end is reported as usual and
    /// [`ReadReport::truncated`] is set; a FLAC, MP3 or Ogg stream that ends early or holds a
    /// damaged packet is [`AudioError::Truncated`] or [`AudioError::Corrupt`]. A NaN, infinite
    /// or absurd sample is [`AudioError::BadSample`].
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
            Backend::G711(g) => {
                if !g.done {
                    g.bytes.resize(want, 0);
                    let n = read_full(&mut g.data, &mut g.bytes)
                        .map_err(|e| AudioError::io(&self.path, "cannot read", e))?;
                    out.extend(g.bytes[..n].iter().map(|&b| f32::from((g.decode)(b)) / 32768.0));
                    if n < want {
                        g.done = true;
                        if g.data.limit() > 0 {
                            self.report.truncated = true;
                            tracing::warn!(
                                "{}: audio data ends before the length in its header",
                                self.path.display()
                            );
                        }
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
        self.check_samples(out)?;
        let frames = out.len() / ch.max(1);
        self.frames_read += frames as u64;
        Ok(frames)
    }

    /// Refuses a NaN, infinite or absurdly large sample: the model would turn the whole file
    /// into silence without a word.
    fn check_samples(&self, block: &[f32]) -> Result<(), AudioError> {
        let Some(i) = block.iter().position(|v| !v.is_finite() || v.abs() > MAX_SAMPLE) else {
            return Ok(());
        };
        let ch = self.channels.max(1);
        Err(AudioError::BadSample {
            path: self.path.clone(),
            value: block[i],
            frame: self.frames_read + (i / ch) as u64,
            channel: i % ch,
        })
    }

    /// The error for a compressed stream that ended before the frame count in its header.
    fn check_complete(&self, decoded: u64) -> Result<(), AudioError> {
        match self.total_frames {
            Some(total) if decoded < total => Err(AudioError::Truncated {
                path: self.path.clone(),
                detail: format!(
                    "only {decoded} of the {total} frames its header states could be decoded"
                ),
            }),
            _ => Ok(()),
        }
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
                    if s.exact_total {
                        let decoded = s.decoded;
                        self.check_complete(decoded)?;
                    }
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
                    s.decoded += decoded.frames() as u64;
                    let buf = s.buf.as_mut().expect("just set");
                    buf.copy_interleaved_ref(decoded);
                    s.pos = 0;
                    return Ok(true);
                }
                // A damaged packet would leave a gap or a click in the output: refuse the file.
                Err(SymError::DecodeError(msg)) => {
                    return Err(AudioError::Corrupt {
                        path: self.path.clone(),
                        detail: format!(
                            "undecodable audio after {} frames: {msg}",
                            s.decoded
                        ),
                    })
                }
                Err(SymError::IoError(e)) if is_eof(&e) => {
                    return Err(AudioError::Truncated {
                        path: self.path.clone(),
                        detail: format!("the last packet is cut off after {} frames", s.decoded),
                    })
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

/// Reads until `buf` is full or the reader ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Refuses RF64 (64-bit sizes) and RIFX (big-endian) WAV files by name: neither hound nor
/// symphonia reads them, and their errors would call the file truncated.
fn refuse_unsupported_riff(path: &Path, head: &[u8]) -> Result<(), AudioError> {
    let what = match head.get(..4) {
        Some(b"RF64") => "RF64 WAV (64-bit sizes); convert it to a plain WAV or FLAC",
        Some(b"RIFX") => "big-endian RIFX WAV; convert it to a little-endian WAV or FLAC",
        _ => return Ok(()),
    };
    Err(AudioError::UnsupportedContainer {
        path: path.to_path_buf(),
        detail: what.into(),
    })
}

/// Whether an MP3 file's first frame is a Xing, Info or VBRI tag, whose frame count is exact.
fn mp3_length_tag(path: &Path) -> bool {
    let mut head = Vec::new();
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    if (&mut file).take(10).read_to_end(&mut head).is_err() || head.len() < 10 {
        return false;
    }
    let mut skip = 0;
    if &head[..3] == b"ID3" {
        // The ID3v2 size is four 7-bit bytes, plus a 10-byte footer when flagged.
        let size = head[6..10].iter().fold(0u64, |a, &b| a << 7 | u64::from(b & 0x7f));
        skip = 10 + size + if head[5] & 0x10 != 0 { 10 } else { 0 };
    }
    let mut frame = Vec::new();
    let read = file
        .seek(SeekFrom::Start(skip))
        .and_then(|_| (&mut file).take(256).read_to_end(&mut frame));
    read.is_ok()
        && frame
            .windows(4)
            .any(|w| w == b"Xing" || w == b"Info" || w == b"VBRI")
}

/// Bytes at the end of an MP3 file searched for its last frame (the longest MPEG audio frame,
/// Layer I/II at 448 kbit/s and 8 kHz, is under 8 KiB).
const MP3_TAIL: u64 = 8_192;

/// Refuses an MP3 file whose last frame is cut off: symphonia drops it without a word. A frame
/// header is found whose frame runs past the end, and no frame ends exactly at the end (before
/// an ID3v1 or APEv2 tag). Trailing bytes without any frame header are left alone.
fn check_mp3_end(path: &Path, len: u64) -> Result<(), AudioError> {
    let mut file = File::open(path).map_err(|e| AudioError::io(path, "cannot open", e))?;
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(len.saturating_sub(MP3_TAIL)))
        .and_then(|_| file.read_to_end(&mut tail))
        .map_err(|e| AudioError::io(path, "cannot read", e))?;
    let mut end = tail.len();
    if end >= 128 && &tail[end - 128..end - 125] == b"TAG" {
        end -= 128; // ID3v1
    }
    if end >= 32 && &tail[end - 32..end - 24] == b"APETAGEX" {
        let size = u32::from_le_bytes([tail[end - 20], tail[end - 19], tail[end - 18], tail[end - 17]]);
        end = end.saturating_sub(size as usize + 32); // APEv2: footer + items (+ optional header)
    }
    let frames: Vec<(usize, usize)> = (0..end.saturating_sub(3))
        .filter_map(|i| mpeg_frame_len(&tail[i..i + 4]).map(|n| (i, n)))
        .collect();
    let ends_cleanly = frames.iter().any(|&(i, n)| i + n == end);
    let cut = frames.iter().any(|&(i, n)| i + n > end);
    if cut && !ends_cleanly {
        return Err(AudioError::Truncated {
            path: path.to_path_buf(),
            detail: "the last MP3 frame is cut off".into(),
        });
    }
    Ok(())
}

/// The length in bytes of the MPEG audio frame whose 4-byte header is `h`, if it is a valid one.
fn mpeg_frame_len(h: &[u8]) -> Option<usize> {
    if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (h[1] >> 3) & 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    let layer = (h[1] >> 1) & 3; // 3: I, 2: II, 1: III
    let (bitrate_idx, rate_idx, pad) = (usize::from(h[2] >> 4), usize::from((h[2] >> 2) & 3), usize::from((h[2] >> 1) & 1));
    if version == 1 || layer == 0 || bitrate_idx == 0 || bitrate_idx == 15 || rate_idx == 3 {
        return None;
    }
    const KBPS: [[u16; 15]; 5] = [
        [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448], // MPEG-1 layer I
        [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],    // MPEG-1 layer II
        [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],     // MPEG-1 layer III
        [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],    // MPEG-2 layer I
        [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],         // MPEG-2 layer II/III
    ];
    let mpeg1 = version == 3;
    let table = match (mpeg1, layer) {
        (true, l) => 3 - usize::from(l),
        (false, 3) => 3,
        (false, _) => 4,
    };
    let bitrate = usize::from(KBPS[table][bitrate_idx]) * 1000;
    let rate = [44_100, 48_000, 32_000][rate_idx] >> if mpeg1 { 0 } else if version == 2 { 1 } else { 2 };
    Some(match layer {
        3 => (12 * bitrate / rate + pad) * 4,
        1 if !mpeg1 => 72 * bitrate / rate + pad,
        _ => 144 * bitrate / rate + pad,
    })
}

/// Bytes at the end of an Ogg file searched for its last page (a page is at most 65,307 bytes).
const OGG_TAIL: u64 = 65_536 + 282;

/// Refuses an Ogg file whose last page is cut off: symphonia stops at the last whole page
/// without a word, and the frame count it reads from that page then matches what it decodes.
/// A stream whose whole last page lacks the end-of-stream flag only gets a warning.
fn check_ogg_end(path: &Path, len: u64) -> Result<(), AudioError> {
    let mut file = File::open(path).map_err(|e| AudioError::io(path, "cannot open", e))?;
    let start = len.saturating_sub(OGG_TAIL);
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(start))
        .and_then(|_| file.read_to_end(&mut tail))
        .map_err(|e| AudioError::io(path, "cannot read", e))?;
    // The last "OggS" whose page ends exactly at the end of the file.
    let last = (0..tail.len().saturating_sub(3))
        .rev()
        .filter(|&i| &tail[i..i + 4] == b"OggS")
        .find(|&i| ogg_page_len(&tail[i..]) == Some(tail.len() - i));
    match last {
        None => Err(AudioError::Truncated {
            path: path.to_path_buf(),
            detail: "the Ogg stream's last page is cut off".into(),
        }),
        Some(i) if tail[i + 5] & 0x04 == 0 => {
            tracing::warn!(
                "{}: the Ogg stream has no end-of-stream page (cut at a page boundary?)",
                path.display()
            );
            Ok(())
        }
        Some(_) => Ok(()),
    }
}

/// The length of the Ogg page starting at `page[0]`, if its header and segment table are there.
fn ogg_page_len(page: &[u8]) -> Option<usize> {
    let nseg = usize::from(*page.get(26)?);
    let table = page.get(27..27 + nseg)?;
    Some(27 + nseg + table.iter().map(|&b| usize::from(b)).sum::<usize>())
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
