//! RNNoise (the `nnnoiseless` crate) as a streaming reference through the same harness.
//!
//! RNNoise works at 48 kHz on 480-sample (10 ms) frames of i16-scaled floats and delays its
//! output by one frame. [`RnnoiseStream`] wraps it for any input rate: a streaming resampler to
//! 48 kHz, the frame loop, and a streaming resampler back. Its total delay
//! ([`RnnoiseStream::latency_samples`]) is the frame plus both resamplers' delays; the harness
//! drops it to align outputs for scoring and checks it against cross-correlation.

use std::time::{Duration, Instant};

use nnnoiseless::DenoiseState;

use crate::dsp::resample::StreamResampler;

/// RNNoise's native rate.
pub const RNNOISE_RATE: u32 = 48_000;
/// RNNoise's frame (and delay) in samples at 48 kHz.
pub const RNNOISE_FRAME: usize = DenoiseState::FRAME_SIZE;

/// A streaming RNNoise denoiser at an arbitrary rate, timing every frame it processes.
pub struct RnnoiseStream {
    rate: u32,
    state: Box<DenoiseState<'static>>,
    up: StreamResampler,
    down: StreamResampler,
    buf48: Vec<f32>,
    frame_in: Vec<f32>,
    frame_out: Vec<f32>,
    out48: Vec<f32>,
    times: Vec<Duration>,
}

impl RnnoiseStream {
    /// A fresh RNNoise stream for mono input at `rate` Hz; `expected_frames` sizes the
    /// per-frame timing buffer so that recording never allocates.
    pub fn new(rate: u32, expected_frames: usize) -> anyhow::Result<Self> {
        let up = StreamResampler::new(rate, RNNOISE_RATE, 4096)?;
        let down = StreamResampler::new(RNNOISE_RATE, rate, 4096)?;
        Ok(Self {
            rate,
            state: DenoiseState::new(),
            up,
            down,
            buf48: Vec::with_capacity(16384),
            frame_in: vec![0.0; RNNOISE_FRAME],
            frame_out: vec![0.0; RNNOISE_FRAME],
            out48: Vec::with_capacity(16384),
            times: Vec::with_capacity(expected_frames + 16),
        })
    }

    /// The input/output rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Algorithmic delay in samples at [`RnnoiseStream::rate`]: one 480-sample frame at 48 kHz
    /// plus both resamplers' delays (rounded).
    pub fn latency_samples(&self) -> usize {
        let r = self.rate as f64 / RNNOISE_RATE as f64;
        ((self.up.delay_out() + RNNOISE_FRAME) as f64 * r + self.down.delay_out() as f64).round() as usize
    }

    /// Worst-case block buffering of the two resamplers in ms (input waiting for a complete
    /// block; 0 at 48 kHz). The 480-sample frame itself is part of the algorithmic delay.
    pub fn buffering_ms(&self) -> f64 {
        let up = if self.up.is_identity() { 0.0 } else { (self.up.block_in() - 1) as f64 / self.rate as f64 };
        let down = if self.down.is_identity() { 0.0 } else { (self.down.block_in() - 1) as f64 / RNNOISE_RATE as f64 };
        (up + down) * 1000.0
    }

    /// Durations of every `process_frame` call so far (one per 10 ms frame).
    pub fn frame_times(&self) -> &[Duration] {
        &self.times
    }

    /// Feeds mono samples at the stream's rate and appends the finished output to `out`.
    pub fn feed(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.up.process(input, &mut self.buf48);
        self.run_frames(out);
    }

    fn run_frames(&mut self, out: &mut Vec<f32>) {
        let mut start = 0;
        while self.buf48.len() - start >= RNNOISE_FRAME {
            for (d, s) in self.frame_in.iter_mut().zip(&self.buf48[start..start + RNNOISE_FRAME]) {
                *d = s * 32768.0;
            }
            let t0 = Instant::now();
            self.state.process_frame(&mut self.frame_out, &self.frame_in);
            let dt = t0.elapsed();
            if self.times.len() < self.times.capacity() {
                self.times.push(dt);
            }
            self.out48.extend(self.frame_out.iter().map(|v| v / 32768.0));
            start += RNNOISE_FRAME;
        }
        self.buf48.drain(..start);
        self.down.process(&self.out48, out);
        self.out48.clear();
    }

    /// Ends the stream: pushes enough silence that every fed sample has come out (then the
    /// output so far is at least `fed + latency_samples()` long) and flushes the resamplers.
    pub fn flush(&mut self, out: &mut Vec<f32>) {
        // Silence covering the frame delay, a partial frame and the resampler blocks.
        let pad = self.latency_samples() + (self.up.block_in() + self.down.block_in() * 3 + RNNOISE_FRAME * 2);
        let zeros = vec![0.0f32; pad];
        self.feed(&zeros, out);
        self.up.flush(&mut self.buf48);
        let n = self.buf48.len().div_ceil(RNNOISE_FRAME) * RNNOISE_FRAME;
        self.buf48.resize(n, 0.0);
        self.run_frames(out);
        self.down.flush(out);
    }
}

/// Runs RNNoise over a whole mono signal at `rate` Hz; returns the output aligned with `x` (its
/// delay dropped, same length) and the per-frame durations.
pub fn rnnoise_enhance(x: &[f32], rate: u32) -> anyhow::Result<(Vec<f32>, Vec<Duration>)> {
    let frames = x.len() * RNNOISE_RATE as usize / rate as usize / RNNOISE_FRAME + 64;
    let mut s = RnnoiseStream::new(rate, frames)?;
    let lat = s.latency_samples();
    let mut out = Vec::with_capacity(x.len() + lat + 32768);
    for block in x.chunks(160) {
        s.feed(block, &mut out);
    }
    s.flush(&mut out);
    anyhow::ensure!(out.len() >= x.len() + lat, "RNNoise stream ended short ({} < {})", out.len(), x.len() + lat);
    out.drain(..lat);
    out.truncate(x.len());
    Ok((out, s.times))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_aligned_and_as_long_as_the_input() {
        // A tone with a gap: RNNoise keeps much of it; the delay estimate must be right.
        let n = 16000;
        let x: Vec<f32> = (0..n)
            .map(|i| if (4000..6000).contains(&i) { 0.0 } else { 0.3 * (i as f32 * 0.07).sin() * ((i as f32 * 0.0013).sin()) })
            .collect();
        let (y, times) = rnnoise_enhance(&x, 16000).unwrap();
        assert_eq!(y.len(), x.len());
        assert!(times.len() >= n * 3 / RNNOISE_FRAME);
        let d = crate::metrics::align_delay(&x, &y, 800);
        assert!(d.abs() <= 2, "residual delay {d}");
    }
}
