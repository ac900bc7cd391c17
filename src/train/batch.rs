//! Turning examples into model-ready batches on a loader thread, so decoding, mixing and STFT
//! overlap the network's compute.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::data::{batch_rng, train_example, Corpus};
use super::options::TrainOptions;
use crate::dsp::stft::stft;
use crate::model::config::ModelConfig;
use crate::model::diffusion::Schedule;
use crate::model::features::compress;

/// A batch on the host: compressed planes `[B, 2, T, F]` flattened, plus the diffusion draws.
pub struct HostBatch {
    /// Training step this batch belongs to.
    pub step: u64,
    /// Batch size.
    pub batch: usize,
    /// Frames per item.
    pub frames: usize,
    /// Clean planes.
    pub clean: Vec<f32>,
    /// Noisy planes.
    pub noisy: Vec<f32>,
    /// Standard normal draws.
    pub z: Vec<f32>,
    /// Fractional diffusion time per item.
    pub times: Vec<f64>,
    /// Whether each item is drawn in the sampler's start form.
    pub start_form: Vec<bool>,
    /// Whether each item's noise is drawn with Σ_prior(y) instead of Σ_post (learned prior).
    pub prior_drawn: Vec<bool>,
}

/// Compressed real/imag planes `[2, T, F]` of a 16 kHz signal, appended to `out`.
pub fn planes(cfg: &ModelConfig, x: &[f32], frames: usize, out: &mut Vec<f32>) {
    let spec = stft(&cfg.stft(), x);
    let n = frames * cfg.n_freq;
    let (mut re, mut im) = (vec![0.0; n], vec![0.0; n]);
    compress(&spec.data[..frames * spec.n_bins], spec.n_bins, cfg.n_freq, cfg.compress_alpha as f32, cfg.compress_beta as f32, &mut re, &mut im);
    out.extend_from_slice(&re);
    out.extend_from_slice(&im);
}

/// Builds the batch of `step` deterministically from (seed, step).
pub fn make_batch(corpus: &Corpus, cfg: &ModelConfig, schedule: &Schedule, opts: &TrainOptions, step: u64, seg_len: usize) -> HostBatch {
    let mut rng = batch_rng(opts.seed, step);
    let batch = opts.batch;
    let frames = seg_len / cfg.hop;
    let fast: Vec<f64> = schedule.sampling_times(opts.fast_pool.clamp(1, 6)).expect("1..=6 steps");
    let (mut clean, mut noisy) = (Vec::new(), Vec::new());
    let (mut times, mut start_form) = (Vec::new(), Vec::new());
    for _ in 0..batch {
        let ex = train_example(corpus, seg_len, &mut rng);
        planes(cfg, &ex.clean, frames, &mut clean);
        planes(cfg, &ex.noisy, frames, &mut noisy);
        // Items at the fast sampler's times (where inference happens), the rest uniform.
        if rng.random::<f32>() < opts.fast_fraction {
            times.push(fast[rng.random_range(0..fast.len())]);
            start_form.push(rng.random::<f32>() < 0.5);
        } else {
            times.push(rng.random_range(1.0..schedule.train_steps() as f64));
            start_form.push(false);
        }
    }
    let z = (0..clean.len()).map(|_| StandardNormal.sample(&mut rng)).collect();
    // Drawn only when asked for, so runs without it keep their batches (and resume exactly).
    let prior_drawn = (0..batch).map(|_| opts.prior_draw_fraction > 0.0 && rng.random::<f32>() < opts.prior_draw_fraction).collect();
    HostBatch { step, batch, frames, clean, noisy, z, times, start_form, prior_drawn }
}

/// Starts a loader thread producing batches for steps `first..last` in order.
pub fn spawn_loader(
    corpus: Arc<Corpus>,
    cfg: ModelConfig,
    opts: TrainOptions,
    first: u64,
    seg_len: usize,
) -> (Receiver<HostBatch>, JoinHandle<()>) {
    let (tx, rx) = bounded(3);
    let handle = std::thread::Builder::new()
        .name("restoregrad-loader".into())
        .spawn(move || {
            let schedule = Schedule::new(cfg.train_steps, cfg.beta_start, cfg.beta_end);
            for step in first..opts.steps {
                if tx.send(make_batch(&corpus, &cfg, &schedule, &opts, step, seg_len)).is_err() {
                    break;
                }
            }
        })
        .expect("spawn loader thread");
    (rx, handle)
}
