//! Deterministic stand-in denoisers for tests and benchmarks of the engine (not models).

use crate::dsp::Complex32;
use crate::model::ChunkDenoiser;
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
