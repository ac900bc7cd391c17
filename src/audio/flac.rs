//! [`FlacEncoder`]: streaming 16-bit FLAC encoding (flacenc) into an open file.
//!
//! flacenc encodes whole streams in memory; this encodes one fixed-size block at a time as
//! samples arrive, so memory stays flat for hour-long files. The STREAMINFO header (total
//! samples, MD5, frame sizes) is only known at the end: a placeholder of the same size is
//! written first and overwritten by [`FlacEncoder::finish`].

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};

use flacenc::bitsink::MemSink;
use flacenc::component::{BitRepr, Stream, StreamInfo};
use flacenc::config;
use flacenc::error::{Verified, Verify};
use flacenc::source::{Context, Fill, FrameBuf};

/// Bits per written sample: the same 16-bit PCM as [`SampleFormat::Pcm16`](super::SampleFormat).
const BITS: usize = 16;

/// Samples per channel in one FLAC frame (the reference encoder's default).
pub const BLOCK_FRAMES: usize = 4096;

/// A FLAC stream being written block by block.
pub struct FlacEncoder {
    out: BufWriter<File>,
    config: Verified<config::Encoder>,
    info: StreamInfo,
    block: (FrameBuf, Context),
    pending: Vec<i32>,
    channels: usize,
}

impl FlacEncoder {
    /// Starts a stream of `channels` at `rate` Hz in `file` (at its start).
    pub fn new(file: File, rate: u32, channels: usize) -> Result<Self, String> {
        let config = config::Encoder::default().into_verified().map_err(|(_, e)| e.to_string())?;
        let mut info = StreamInfo::new(rate as usize, channels, BITS).map_err(|e| e.to_string())?;
        info.set_block_sizes(BLOCK_FRAMES, BLOCK_FRAMES).map_err(|e| e.to_string())?;
        let block = (FrameBuf::with_size(channels, BLOCK_FRAMES).map_err(|e| e.to_string())?, Context::new(BITS, channels));
        let mut enc = Self { out: BufWriter::new(file), config, info, block, pending: Vec::with_capacity(BLOCK_FRAMES * channels), channels };
        let header = enc.header()?;
        enc.out.write_all(&header).map_err(|e| e.to_string())?;
        Ok(enc)
    }

    /// Appends interleaved 16-bit samples (need not be whole frames until [`finish`](Self::finish)).
    pub fn write(&mut self, samples: impl IntoIterator<Item = i16>) -> Result<(), String> {
        let whole = BLOCK_FRAMES * self.channels;
        for s in samples {
            self.pending.push(i32::from(s));
            if self.pending.len() == whole {
                self.encode_pending()?;
            }
        }
        Ok(())
    }

    /// Encodes the last partial block, rewrites the header with the stream's totals and
    /// flushes. The file is complete when this returns.
    pub fn finish(mut self) -> Result<(), String> {
        if !self.pending.is_empty() {
            self.encode_pending()?;
        }
        let (_, context) = &self.block;
        // A fixed-blocksize stream states min = max block size (the last block may be shorter):
        // decoders such as symphonia reject frames numbered by frame index otherwise.
        self.info.set_block_sizes(BLOCK_FRAMES, BLOCK_FRAMES).map_err(|e| e.to_string())?;
        self.info.set_md5_digest(&context.md5_digest());
        self.info.set_total_samples(context.total_samples());
        let header = self.header()?;
        let mut file = self.out.into_inner().map_err(|e| e.error().to_string())?;
        file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        file.write_all(&header).map_err(|e| e.to_string())?;
        file.flush().map_err(|e| e.to_string())
    }

    fn encode_pending(&mut self) -> Result<(), String> {
        self.block.fill_interleaved(&self.pending).map_err(|e| e.to_string())?;
        let number = self.block.1.current_frame_number().unwrap_or(0);
        let frame = flacenc::encode_fixed_size_frame(&self.config, &self.block.0, number, &self.info).map_err(|e| e.to_string())?;
        self.info.update_frame_info(&frame);
        let mut sink = MemSink::<u8>::with_capacity(frame.count_bits());
        frame.write(&mut sink).map_err(|e| e.to_string())?;
        self.out.write_all(sink.as_slice()).map_err(|e| e.to_string())?;
        self.pending.clear();
        Ok(())
    }

    /// `fLaC` and the STREAMINFO block as they stand (always the same size).
    fn header(&self) -> Result<Vec<u8>, String> {
        let stream = Stream::with_stream_info(self.info.clone());
        let mut sink = MemSink::<u8>::new();
        stream.write(&mut sink).map_err(|e| e.to_string())?;
        Ok(sink.into_inner())
    }
}
