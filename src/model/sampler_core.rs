//! The sampler core: a model, one stream's sampler state (noise generator, recurrent states, y
//! history) and the reverse update, shared by the sequential sampler ([`super::sampler`]) and
//! the staggered one ([`super::staggered`]) so that neither depends on the other.

use std::collections::HashMap;

use burn::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::config::{ModelConfig, Renoise};
use super::diffusion::Schedule;
use super::features::{compress, decompress};
use super::net::{time_embedding, Denoiser};
use super::restoregrad::RestoreGrad;
use crate::dsp::Complex32;

/// A model with one stream's sampler state.
pub(super) struct SamplerCore {
    pub(super) model: RestoreGrad,
    pub(super) cfg: ModelConfig,
    pub(super) schedule: Schedule,
    pub(super) device: Device,
    pub(super) seed: u64,
    pub(super) rng: ChaCha8Rng,
    /// Sampler runs averaged per chunk: 1, or 2 (z and −z).
    pub(super) samples: usize,
    /// Recurrent state per (step count, step index): each reverse step is its own causal stream
    /// (`[samples, H]`: one row per sample).
    pub(super) states: HashMap<(usize, usize), Tensor<2>>,
    /// The descending sampling times of each step count (1..=6).
    pub(super) times: HashMap<usize, Vec<f64>>,
    /// The last frames of y of the stream `[1, 2, context, F]` (models with y context).
    pub(super) history: Option<Tensor<4>>,
    /// Host buffer for a noise draw; moved into its tensor, so nothing is copied.
    pub(super) noise: Vec<f32>,
}

/// Returns the y `history` before chunk `y` `[B, 2, T, F]` and replaces it by the history after.
pub(super) fn advance(denoiser: &Denoiser, history: &mut Option<Tensor<4>>, y: &Tensor<4>) -> Option<Tensor<4>> {
    let before = history.take();
    *history = denoiser.next_history(before.clone(), y);
    before
}

/// One reverse step's weights: x̂0 comes from the network output with the step's own √(1−ᾱ)
/// and √ᾱ, and the next step's input is `x0·x̂0 + y·y + noise·σ·z + x·x_t` (z fresh noise, σ the
/// prior's standard deviation, x_t this step's input).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct StepWeights {
    pub sqrt_1m_ab: f64,
    pub sqrt_ab: f64,
    pub x0: f64,
    pub y: f64,
    pub noise: f64,
    pub x: f64,
}

/// Appends `n` standard normal draws from `rng` to `buf`.
pub(super) fn draw_normals(rng: &mut ChaCha8Rng, n: usize, buf: &mut Vec<f32>) {
    buf.extend((0..n).map(|_| {
        let v: f32 = StandardNormal.sample(rng);
        v
    }));
}

impl SamplerCore {
    /// A fresh stream over `model` with sampling seed `seed` and `samples` samples per chunk.
    pub(super) fn new(cfg: ModelConfig, model: RestoreGrad, device: Device, seed: u64, samples: usize) -> Self {
        let schedule = Schedule::new(cfg.train_steps, cfg.beta_start, cfg.beta_end);
        let times = (1..=6).map(|s| (s, schedule.sampling_times(s).expect("1..=6"))).collect();
        Self {
            model,
            cfg,
            schedule,
            device,
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            samples,
            states: HashMap::new(),
            times,
            history: None,
            noise: Vec::new(),
        }
    }

    /// Bins per frame the model expects.
    pub(super) fn n_bins(&self) -> usize {
        self.cfg.n_fft / 2 + 1
    }

    /// Sampler runs averaged per chunk.
    pub(super) fn samples(&self) -> usize {
        self.samples
    }

    /// Forgets the stream: generator, recurrent states and y history start afresh.
    pub(super) fn reset(&mut self) {
        self.rng = ChaCha8Rng::seed_from_u64(self.seed);
        self.states.clear();
        self.history = None;
    }

    /// `x` `[B, ..]` as the sampler's rows `[samples * B, ..]`: one copy per sample.
    pub(super) fn per_sample<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        if self.samples == 1 {
            x
        } else {
            Tensor::cat(vec![x; self.samples], 0)
        }
    }

    /// Noise `z` `[B, ..]` as the sampler's rows `[samples * B, ..]`: z, then −z.
    pub(super) fn signed_noise(&self, z: Tensor<4>) -> Tensor<4> {
        if self.samples == 1 {
            z
        } else {
            Tensor::cat(vec![z.clone(), z.neg()], 0)
        }
    }

    /// The mean over samples `[B, ..]` of the sampler's rows `[samples * B, ..]`.
    pub(super) fn merge_samples(&self, x: Tensor<4>) -> Tensor<4> {
        if self.samples == 1 {
            return x;
        }
        let [rows, c, t, f] = x.dims();
        let b = rows / self.samples;
        (x.clone().slice([0..b, 0..c, 0..t, 0..f]) + x.slice([b..2 * b, 0..c, 0..t, 0..f])) * 0.5 // [B,2,T,F]
    }

    /// Draws all the noise one chunk's sampling uses, `[steps * B, 2, T, F]` for a chunk of
    /// `[B, 2, T, F]`, in one upload: rows `i*B..(i+1)*B` are plane `i`, plane 0 the start's and
    /// plane `i` the re-noise after step `i - 1`. Values come off the generator in exactly that
    /// order, so drawing them up front gives the same numbers as drawing each plane when it is
    /// needed (nothing else touches the generator), which lets the staggered sampler draw a
    /// chunk's noise at its entry and still match the sequential one.
    pub(super) fn draw_chunk_noise(&mut self, steps: usize, [b, c, t, f]: [usize; 4]) -> Tensor<4> {
        self.noise.clear();
        draw_normals(&mut self.rng, steps * b * c * t * f, &mut self.noise);
        Tensor::from_data(TensorData::new(std::mem::take(&mut self.noise), [steps * b, c, t, f]), &self.device) // [S*B,2,T,F]
    }

    /// Compresses `batch` chunks of frames (item-major, `n_frames * n_bins` each) into the
    /// network's planes `[batch, 2, T, F]` on the device (one upload).
    pub(super) fn upload_chunks(&self, noisy: &[Complex32], batch: usize) -> Tensor<4> {
        let (n_bins, n_freq) = (self.n_bins(), self.cfg.n_freq);
        let n_frames = noisy.len() / (batch * n_bins);
        let (alpha, beta) = (self.cfg.compress_alpha as f32, self.cfg.compress_beta as f32);
        // Per item, the real then the imaginary plane, frame-major: the `[B, 2, T, F]` layout.
        let plane = n_frames * n_freq;
        let mut planes = vec![0.0; batch * 2 * plane];
        for (item, frames) in planes.chunks_mut(2 * plane).zip(noisy.chunks(n_frames * n_bins)) {
            let (re, im) = item.split_at_mut(plane);
            compress(frames, n_bins, n_freq, alpha, beta, re, im);
        }
        Tensor::from_data(TensorData::new(planes, [batch, 2, n_frames, n_freq]), &self.device) // [B,2,T,F]
    }

    /// Downloads planes `[B, 2, T, F]` and decompresses them into `out` (item-major frames).
    pub(super) fn download_chunks(&self, x0: Tensor<4>, out: &mut [Complex32]) {
        let [b, _, t, f] = x0.dims();
        let (n_bins, alpha, beta) = (self.n_bins(), self.cfg.compress_alpha as f32, self.cfg.compress_beta as f32);
        let x0: Vec<f32> = x0.into_data().try_into_vec().expect("f32 model output");
        for (item, frames) in x0.chunks(2 * t * f).zip(out.chunks_mut(t * n_bins)).take(b) {
            let (re, im) = item.split_at(t * f);
            decompress(re, im, f, n_bins, alpha, beta, frames);
        }
    }

    /// The stream's y history before chunk `y` `[1, 2, T, F]`, replacing it by the history after.
    pub(super) fn advance_history(&mut self, y: &Tensor<4>) -> Option<Tensor<4>> {
        advance(&self.model.denoiser, &mut self.history, y)
    }

    /// Σ_prior(y)^{1/2} `[B, 1, T, F]` for compressed noisy planes `y` `[B, 2, T, F]`.
    pub(super) fn prior_std(&self, y: Tensor<4>) -> Tensor<4> {
        (self.model.prior_logvar(&self.cfg, y) * 0.5).exp() // [B,1,T,F]
    }

    /// Denoises compressed planes `y` `[B, 2, T, F]` with `steps` reverse steps and the noise
    /// `[S*B, 2, T, F]` laid out as [`SamplerCore::draw_chunk_noise`] makes it. `states[i]` is the
    /// GRU state `[M*B, H]` of step `i` for the M samples (`None`: stream start); each is
    /// replaced by the state after this chunk. `history` is the y history before the chunk (the
    /// same for every step).
    pub(super) fn sample(
        &mut self,
        y: Tensor<4>,
        steps: usize,
        states: &mut [Option<Tensor<2>>],
        history: Option<Tensor<4>>,
        noise: Tensor<4>,
    ) -> Tensor<4> {
        let [b, c, t, f] = y.dims();
        let times = self.times[&steps].clone();
        // Each sample is a block of B rows (sample-major); the prior is computed once.
        let sigma = self.per_sample(self.prior_std(y.clone())); // [M*B,1,T,F]
        let (y, history) = (self.per_sample(y), history.map(|h| self.per_sample(h))); // [M*B,2,T,F]
        let plane = |i: usize| self.signed_noise(noise.clone().slice([i * b..(i + 1) * b, 0..c, 0..t, 0..f])); // [M*B,2,T,F]
        let b = b * self.samples;
        let start = self.schedule.start_coeffs(times[0]);
        let mut x = y.clone() * start.y_weight() + plane(0) * sigma.clone() * start.noise_std(); // [B,2,T,F]
        let total = self.schedule.train_steps() as f64;
        for (i, &tau) in times.iter().enumerate() {
            let w = self.step_weights(steps, i);
            let emb = time_embedding(&vec![(tau / total) as f32; b], self.cfg.time_dim, &self.device); // [B, time_dim]
            let input = Tensor::cat(vec![x.clone(), y.clone()], 1); // [B,4,T,F]
            let (eps, new_state) = self.model.denoiser.forward(input, emb, states[i].take(), history.clone());
            states[i] = Some(new_state);
            let x0_hat = self.cfg.predict.clean_estimate(eps, x.clone(), w.sqrt_1m_ab, w.sqrt_ab); // [M*B,2,T,F]
            if i + 1 == times.len() {
                return self.merge_samples(x0_hat); // [B,2,T,F]
            }
            let mut next = x0_hat * w.x0 + y.clone() * w.y; // [M*B,2,T,F]
            if w.noise != 0.0 {
                next = next + plane(i + 1) * sigma.clone() * w.noise;
            }
            if w.x != 0.0 {
                next = next + x * w.x;
            }
            x = next;
        }
        unreachable!("times is never empty")
    }

    /// The weights of step `i` of a `steps`-step sampler (see [`StepWeights`]); the last
    /// step's are those of x̂0 itself. The one place the reverse update is defined: the
    /// sequential and the staggered samplers both use it.
    pub(super) fn step_weights(&self, steps: usize, i: usize) -> StepWeights {
        let times = &self.times[&steps];
        let co = self.schedule.coeffs(times[i]);
        // The coefficients this step's input x_t was drawn with: the start's at step 0.
        let drawn = if i == 0 { self.schedule.start_coeffs(times[0]) } else { co };
        let (x0, y, noise, x) = match times.get(i + 1) {
            None => (1.0, 0.0, 0.0, 0.0),
            Some(&next) => {
                let cn = self.schedule.coeffs(next);
                match self.cfg.renoise {
                    Renoise::Fresh => (cn.x0_weight(), cn.y_weight(), cn.noise_std(), 0.0),
                    Renoise::Reuse => {
                        let c = cn.noise_std() / drawn.noise_std();
                        (cn.x0_weight() - c * drawn.x0_weight(), cn.y_weight() - c * drawn.y_weight(), 0.0, c)
                    }
                }
            }
        };
        StepWeights { sqrt_1m_ab: (1.0 - co.alpha_bar).sqrt(), sqrt_ab: co.alpha_bar.sqrt(), x0, y, noise, x }
    }
}
