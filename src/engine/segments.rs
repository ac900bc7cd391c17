//! Offline batched enhancement: a whole signal cut into B segments that run as one batch.
//!
//! Streaming a file runs one chunk at a time, so each denoiser call sees a batch of one. When
//! the whole signal is at hand, [`enhance_segments_16k`] cuts its spectrogram into B consecutive
//! segments of L frames and runs them side by side: each call denoises `chunk_frames` frames of
//! every segment at once ([`Enhancer::process_batch`]), carrying each segment's recurrent state
//! to its next chunk, and the enhanced segments are stitched back in order.
//!
//! The denoiser is causal and recurrent, so a segment that started cold would begin with a
//! state unlike the one the stream would have there. Each segment but the first therefore starts
//! W frames early (a *burn-in* prefix taken from the previous segment's frames): the state
//! settles on real audio and the prefix's output is dropped. The first segment starts at the
//! signal's start, as the stream does. Segments shorter than the longest (the first, which has
//! no prefix, and the last) are padded with silence at their end, which cannot change their
//! earlier frames (causality); the padding's output is dropped as well.
//!
//! Segments and burn-in are whole chunks (L and W are rounded up to multiples of
//! `chunk_frames`), so every chunk a segment runs is a chunk of the streaming run, and each row
//! gets exactly the noise the streaming sampler draws for that chunk
//! ([`Enhancer::process_batch`]'s positions). The result then differs from the streaming result
//! only through the recurrent state at the start of each segment, i.e. by how far it has settled
//! after W frames; a test measures the difference on a committed fixture. With one segment it
//! *is* the streaming result. The STFT framing and alignment are the streaming path's ([`stft`],
//! [`istft`]): the output is aligned with the input and has its length.

use crate::dsp::stft::{istft, stft};
use crate::dsp::Complex32;
use crate::engine::streamer::finish_frame;
use crate::engine::{atten_lim_gain, StreamerConfig};
use crate::model::{BatchState, ChunkDenoiser, Enhancer};

/// How [`enhance_segments_16k`] cuts a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentConfig {
    /// B: segments run side by side (at most one per frame; at least 1).
    pub segments: usize,
    /// W: burn-in frames before every segment but the first, whose output is dropped (rounded
    /// up to whole chunks).
    pub burn_in_frames: usize,
}

impl Default for SegmentConfig {
    fn default() -> Self {
        Self { segments: 8, burn_in_frames: Self::DEFAULT_BURN_IN_FRAMES }
    }
}

impl SegmentConfig {
    /// Default W: 64 frames (0.5 s at 16 kHz with hop 128).
    pub const DEFAULT_BURN_IN_FRAMES: usize = 64;

    /// B segments with the default burn-in.
    pub fn new(segments: usize) -> Self {
        Self { segments, ..Self::default() }
    }

    /// Sets W, the burn-in frames.
    pub fn with_burn_in_frames(mut self, frames: usize) -> Self {
        self.burn_in_frames = frames;
        self
    }
}

/// Where one segment's frames come from, in spectrogram frames.
#[derive(Debug, Clone, Copy)]
struct Segment {
    /// First frame fed (the burn-in prefix starts here).
    from: usize,
    /// First frame whose output is kept.
    keep: usize,
    /// One past the last frame kept.
    end: usize,
}

/// Enhances a whole mono model-rate signal with the batched segment path (see the module docs).
/// Uses `cfg`'s STFT, steps, `chunk_frames` (frames per segment and call), attenuation limit and
/// bypass; staggering does not apply. The enhancer's staggering is turned off and it is reset
/// before use, so the result is a function of its seed. Returns `x.len()` samples aligned with
/// `x`.
///
/// Fails on an invalid config, staggering, zero segments or a bin-count mismatch.
pub fn enhance_segments_16k(
    enh: &mut Enhancer,
    cfg: &StreamerConfig,
    seg: &SegmentConfig,
    x: &[f32],
) -> anyhow::Result<Vec<f32>> {
    cfg.validate().map_err(anyhow::Error::msg)?;
    anyhow::ensure!(!cfg.stagger, "staggered batching is a streaming option; the segment path batches segments instead");
    anyhow::ensure!(seg.segments >= 1, "at least one segment is needed");
    let nb = cfg.stft.n_bins();
    anyhow::ensure!(enh.n_bins() == nb, "the model expects {} bins but the STFT gives {nb}", enh.n_bins());
    if x.is_empty() {
        return Ok(Vec::new());
    }
    enh.set_stagger(None);
    enh.reset();
    let spec = stft(&cfg.stft, x);
    let n = spec.n_frames;
    let mut out = spec.clone();
    if cfg.bypass {
        return Ok(istft(&cfg.stft, &out, x.len()));
    }
    // L and W in whole chunks of C frames (so rows are chunks of the streaming run); B
    // recomputed so that no segment is empty.
    let c = cfg.chunk_frames;
    let len = n.div_ceil(seg.segments.min(n)).next_multiple_of(c);
    let burn_in = seg.burn_in_frames.next_multiple_of(c);
    let segments: Vec<Segment> = (0..n.div_ceil(len))
        .map(|b| {
            let keep = b * len;
            Segment { from: keep.saturating_sub(burn_in), keep, end: (keep + len).min(n) }
        })
        .collect();
    let b = segments.len();
    // Whole chunks for every row: the streaming run's chunks are all C frames long too.
    let t_max = segments.iter().map(|s| s.end - s.from).max().unwrap_or(0).next_multiple_of(c);
    let mut state = BatchState::new();
    let mut positions = vec![0; b];
    let zero = Complex32::new(0.0, 0.0);
    let mut batch_in = vec![zero; b * c * nb];
    let mut batch_out = vec![zero; b * c * nb];
    let g = atten_lim_gain(cfg.atten_lim_db);
    for c0 in (0..t_max).step_by(c) {
        // Item-major: segment j's frames from+c0.. (silence past its end).
        for ((s, item), p) in segments.iter().zip(batch_in.chunks_mut(c * nb)).zip(&mut positions) {
            *p = (s.from + c0) / c;
            for (k, frame) in item.chunks_mut(nb).enumerate() {
                let f = s.from + c0 + k;
                if f < s.end {
                    frame.copy_from_slice(spec.frame(f));
                } else {
                    frame.fill(zero);
                }
            }
        }
        enh.process_batch(&batch_in, b, cfg.steps, &positions, &mut state, &mut batch_out);
        for (s, item) in segments.iter().zip(batch_out.chunks(c * nb)) {
            for (k, frame) in item.chunks(nb).enumerate() {
                let f = s.from + c0 + k;
                if (s.keep..s.end).contains(&f) {
                    let dst = &mut out.data[f * nb..(f + 1) * nb];
                    dst.copy_from_slice(frame);
                    // The streamer's post-filter and attenuation limit, on the same noisy frame.
                    finish_frame(dst, spec.frame(f), cfg.post_filter, g);
                }
            }
        }
    }
    Ok(istft(&cfg.stft, &out, x.len()))
}
