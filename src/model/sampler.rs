//! Few-step ancestral sampling from the prior: the inference side of RestoreGrad.
//!
//! The start is drawn around the noisy chunk, x = √ᾱ y + √δ Σ_prior^{1/2} ⊙ z, and each step
//! estimates x̂0 from the noise prediction, then re-noises it to the next time with fresh
//! Σ_prior^{1/2} ⊙ z. The last step returns x̂0. Noise is drawn on the host from a seeded
//! ChaCha generator, so output is bit-reproducible for a seed and chunking on any backend.

use std::collections::HashMap;

use burn::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::config::ModelConfig;
use super::diffusion::Schedule;
use super::features::{compress, decompress};
use super::net::time_embedding;
use super::restoregrad::RestoreGrad;
use super::ChunkDenoiser;
use crate::dsp::Complex32;

/// A loaded model ready to denoise a stream of STFT chunks.
pub struct Enhancer {
    model: RestoreGrad,
    cfg: ModelConfig,
    schedule: Schedule,
    device: Device,
    seed: u64,
    rng: ChaCha8Rng,
    /// GRU state per (step count, step index): each reverse step is its own causal stream.
    states: HashMap<(usize, usize), Tensor<2>>,
    times: HashMap<usize, Vec<f64>>,
    /// Host buffer for a noise draw; moved into its tensor, so nothing is copied.
    noise: Vec<f32>,
}

impl Enhancer {
    /// Wraps a model for inference on `device` with sampling seed `seed`.
    pub fn new(cfg: ModelConfig, model: RestoreGrad, device: Device, seed: u64) -> Self {
        let schedule = Schedule::new(cfg.train_steps, cfg.beta_start, cfg.beta_end);
        let times = (1..=6).map(|s| (s, schedule.sampling_times(s).expect("1..=6"))).collect();
        Self {
            model,
            cfg,
            schedule,
            device,
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            states: HashMap::new(),
            times,
            noise: Vec::new(),
        }
    }

    /// The model configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    fn draw_noise(&mut self, n: usize) -> Tensor<4> {
        let [t, f] = [n / (2 * self.cfg.n_freq), self.cfg.n_freq];
        self.noise.clear();
        let rng = &mut self.rng;
        self.noise.extend((0..n).map(|_| {
            let v: f32 = StandardNormal.sample(rng);
            v
        }));
        Tensor::from_data(TensorData::new(std::mem::take(&mut self.noise), [1, 2, t, f]), &self.device) // [1,2,T,F]
    }

    /// Denoises compressed planes `y` `[1, 2, T, F]` with `steps` reverse steps, carrying state.
    fn sample(&mut self, y: Tensor<4>, steps: usize) -> Tensor<4> {
        let n = y.dims().iter().product();
        let times = self.times[&steps].clone();
        let sigma = (self.model.prior_logvar(&self.cfg, y.clone()) * 0.5).exp(); // [1,1,T,F]
        let start = self.schedule.start_coeffs(times[0]);
        let z = self.draw_noise(n);
        let mut x = y.clone() * start.y_weight() + z * sigma.clone() * start.noise_std(); // [1,2,T,F]
        let total = self.schedule.train_steps() as f64;
        for (i, &tau) in times.iter().enumerate() {
            let c = self.schedule.coeffs(tau);
            let emb = time_embedding(&[(tau / total) as f32], self.cfg.time_dim, &self.device); // [1, time_dim]
            let state = self.states.get(&(steps, i)).cloned();
            let input = Tensor::cat(vec![x.clone(), y.clone()], 1); // [1,4,T,F]
            let (eps, new_state) = self.model.denoiser.forward(input, emb, state);
            self.states.insert((steps, i), new_state);
            let x0_hat = (x - eps * (1.0 - c.alpha_bar).sqrt()) / c.alpha_bar.sqrt(); // [1,2,T,F]
            match times.get(i + 1) {
                None => return x0_hat,
                Some(&next) => {
                    let cn = self.schedule.coeffs(next);
                    let z = self.draw_noise(n);
                    x = x0_hat * cn.x0_weight() + y.clone() * cn.y_weight() + z * sigma.clone() * cn.noise_std();
                }
            }
        }
        unreachable!("times is never empty")
    }
}

impl ChunkDenoiser for Enhancer {
    fn n_bins(&self) -> usize {
        self.cfg.n_fft / 2 + 1
    }

    fn process(&mut self, noisy: &[Complex32], steps: usize, out: &mut [Complex32]) {
        let (n_bins, n_freq) = (self.n_bins(), self.cfg.n_freq);
        let n_frames = noisy.len() / n_bins;
        if n_frames == 0 {
            return;
        }
        let steps = steps.clamp(1, 6);
        let (alpha, beta) = (self.cfg.compress_alpha as f32, self.cfg.compress_beta as f32);
        // Real then imaginary plane, frame-major: the `[1, 2, T, F]` layout of the tensor.
        let mut planes = vec![0.0; 2 * n_frames * n_freq];
        let (re, im) = planes.split_at_mut(n_frames * n_freq);
        compress(noisy, n_bins, n_freq, alpha, beta, re, im);
        let y = Tensor::<4>::from_data(TensorData::new(planes, [1, 2, n_frames, n_freq]), &self.device); // [1,2,T,F]
        let x0: Vec<f32> = self.sample(y, steps).into_data().try_into_vec().expect("f32 model output");
        let (re, im) = x0.split_at(n_frames * n_freq);
        decompress(re, im, n_freq, n_bins, alpha, beta, out);
    }

    fn reset(&mut self) {
        self.rng = ChaCha8Rng::seed_from_u64(self.seed);
        self.states.clear();
    }
}
