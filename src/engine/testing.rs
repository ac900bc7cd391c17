//! Deterministic stand-in denoisers for tests and benchmarks of the engine (not models).

use crate::dsp::Complex32;
use crate::model::ChunkDenoiser;
use std::collections::VecDeque;
use std::time::Duration;

/// Returns its input unchanged (the streaming path is then a pure delay).
#[derive(Debug, Clone)]
pub struct IdentityDenoiser {
    /// Bins per frame.
    pub n_bins: usize,
}

impl ChunkDenoiser for IdentityDenoiser {
    fn n_bins(&self) -> usize {
        self.n_bins
    }
    fn process(&mut self, noisy: &[Complex32], _steps: usize, out: &mut [Complex32]) {
        out.copy_from_slice(noisy);
    }
    fn reset(&mut self) {}
}

/// A stateful, deterministic per-bin gain: a recursive power estimate per bin drives a Wiener-like
/// gain, applied `steps` times. Its output depends on every earlier frame, like a recurrent model.
#[derive(Debug, Clone)]
pub struct GainDenoiser {
    n_bins: usize,
    power: Vec<f32>,
    /// Optional sleep per call, to emulate a slow model.
    pub delay_per_call: Duration,
    /// Optional extra sleep per call and step.
    pub delay_per_step: Duration,
}

impl GainDenoiser {
    /// A fast gain denoiser for `n_bins` bins.
    pub fn new(n_bins: usize) -> Self {
        Self { n_bins, power: vec![0.0; n_bins], delay_per_call: Duration::ZERO, delay_per_step: Duration::ZERO }
    }
    /// The same, sleeping `per_call + steps * per_step` on every call.
    pub fn slow(n_bins: usize, per_call: Duration, per_step: Duration) -> Self {
        Self { delay_per_call: per_call, delay_per_step: per_step, ..Self::new(n_bins) }
    }
}

impl ChunkDenoiser for GainDenoiser {
    fn n_bins(&self) -> usize {
        self.n_bins
    }
    fn process(&mut self, noisy: &[Complex32], steps: usize, out: &mut [Complex32]) {
        let nb = self.n_bins;
        for (fi, fo) in noisy.chunks(nb).zip(out.chunks_mut(nb)) {
            for (b, (x, y)) in fi.iter().zip(fo.iter_mut()).enumerate() {
                let p = x.norm_sqr();
                self.power[b] = 0.9 * self.power[b] + 0.1 * p;
                let floor = 1e-3 * (1.0 + b as f32 / nb as f32);
                let g = self.power[b] / (self.power[b] + floor);
                *y = *x * g.powi(steps.max(1) as i32);
            }
        }
        let d = self.delay_per_call + self.delay_per_step * steps as u32;
        if !d.is_zero() {
            std::thread::sleep(d);
        }
    }
    fn reset(&mut self) {
        self.power.iter_mut().for_each(|p| *p = 0.0);
    }
}

/// An identity denoiser that supports staggering the way the model does: with
/// [`ChunkDenoiser::set_stagger`]`(Some(s))` each call returns the chunk passed `s - 1` calls
/// earlier (zeros before the first one and for bypassed chunks), so engine tests can check the
/// latency accounting of a delayed denoiser without a model.
#[derive(Debug, Clone, Default)]
pub struct DelayedIdentity {
    /// Bins per frame.
    pub n_bins: usize,
    delay: usize,
    /// Chunks not yet returned, oldest first (`None`: a bypassed chunk).
    queue: VecDeque<Option<Vec<Complex32>>>,
}

impl DelayedIdentity {
    /// An undelayed identity for `n_bins` bins (staggering off).
    pub fn new(n_bins: usize) -> Self {
        Self { n_bins, ..Self::default() }
    }

    fn emit(&mut self, out: &mut [Complex32]) {
        let due = if self.queue.len() > self.delay { self.queue.pop_front().flatten() } else { None };
        match due {
            Some(c) => out.copy_from_slice(&c),
            None => out.fill(Complex32::new(0.0, 0.0)),
        }
    }
}

impl ChunkDenoiser for DelayedIdentity {
    fn n_bins(&self) -> usize {
        self.n_bins
    }
    fn process(&mut self, noisy: &[Complex32], _steps: usize, out: &mut [Complex32]) {
        self.queue.push_back(Some(noisy.to_vec()));
        self.emit(out);
    }
    fn reset(&mut self) {
        self.queue.clear();
    }
    fn set_stagger(&mut self, max_steps: Option<usize>) -> bool {
        self.delay = max_steps.map_or(0, |s| s.max(1) - 1);
        self.reset();
        true
    }
    fn delay_chunks(&self) -> usize {
        self.delay
    }
    fn skip(&mut self, out: &mut [Complex32]) {
        self.queue.push_back(None);
        self.emit(out);
    }
}
