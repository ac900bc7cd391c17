//! The options of a training run, saved as `train.json` in its folder (and read back by
//! `--resume`, so fields added later carry serde defaults that mean what older runs did).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::data::Validation;

/// Training options (saved as `train.json` in the run folder).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOptions {
    /// The shared data folder.
    pub data: PathBuf,
    /// Total optimiser steps of the run (the learning-rate schedule spans these).
    pub steps: u64,
    /// Seed of data order, diffusion draws and initialisation.
    pub seed: u64,
    /// Items per batch.
    pub batch: usize,
    /// Seconds per training segment.
    pub segment_secs: f32,
    /// Peak learning rate.
    pub lr: f64,
    /// Warm-up steps.
    pub warmup: u64,
    /// Gradient-norm clip.
    pub clip: f32,
    /// EMA decay per step.
    pub ema_decay: f64,
    /// Validate every this many steps.
    pub val_every: u64,
    /// Checkpoint every this many steps.
    pub ckpt_every: u64,
    /// Sampling steps used for validation.
    pub val_sampling_steps: usize,
    /// Mixtures per SNR in the validation set.
    pub val_per_snr: usize,
    /// Fraction of items drawn at the fast sampler's times (the rest uniform over [1, T]).
    #[serde(default = "default_fast_fraction")]
    pub fast_fraction: f32,
    /// How many of the fast sampler's noisiest times those items use (6 = all; 3 = the times
    /// of 1-3 step sampling).
    #[serde(default = "default_fast_pool")]
    pub fast_pool: usize,
    /// Learned prior: fraction of items whose diffusion noise is drawn with Σ_prior(y) (held
    /// fixed) instead of Σ_post(x0, y), so the denoiser also trains on the noise it meets at
    /// inference. 0 is the paper's recipe.
    #[serde(default)]
    pub prior_draw_fraction: f32,
    /// A run folder whose last checkpoint (weights and EMA, not the optimiser) starts this run:
    /// fine-tuning with a new loss or schedule. Its architecture must match the config.
    #[serde(default)]
    pub init_from: Option<PathBuf>,
    /// How the Posterior Net starts when `init_from` is a learned-prior model folder (which
    /// holds none); a run folder brings its own.
    #[serde(default)]
    pub posterior_start: PosteriorStart,
    /// What validation draws from (runs saved without the field validated on the test material).
    #[serde(default)]
    pub validation: Validation,
    /// With holdout validation, how many of the real train pairs (the first, sorted) are
    /// trained on instead of validated on.
    #[serde(default)]
    pub train_pairs: usize,
    /// Whether speech/train-extra and noise/train-extra are left out of training and of the
    /// held-out validation split (the corpus of the first shipped model's runs 1-7).
    #[serde(default)]
    pub without_extra: bool,
    /// Probability that a training example is drawn from a real pair.
    #[serde(default = "default_pair_fraction")]
    pub pair_fraction: f32,
    /// Probability that a real-pair example is remixed (its speech under a train noise, or its
    /// noise under train speech) instead of cropped as recorded.
    #[serde(default)]
    pub pair_remix: f32,
    /// Whether real-pair crops get the synthetic mixtures' random level.
    #[serde(default)]
    pub pair_level: bool,
    /// Probability that a remixed real-pair example puts its speech under another pair's noise.
    #[serde(default)]
    pub pair_cross: f32,
    /// Probability that a synthetic noise is stationary broadband noise with a random tilt.
    #[serde(default)]
    pub broadband_noise: f32,
    /// Upper end of the synthetic mixtures' SNR range (dB).
    #[serde(default = "default_snr_max_db")]
    pub snr_max_db: f32,
}

fn default_snr_max_db() -> f32 {
    super::data::DEFAULT_SNR_MAX_DB
}

fn default_pair_fraction() -> f32 {
    super::data::DEFAULT_PAIR_FRACTION
}

fn default_fast_fraction() -> f32 {
    0.5
}

fn default_fast_pool() -> usize {
    6
}

/// Where a continued learned-prior run's Posterior Net φ(x0, y) starts when its source holds none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PosteriorStart {
    /// At the source's Prior Net: φ's y planes take ψ's weights, its x0 planes start at zero,
    /// so L_PM starts at 0 and the trained prior is not pulled toward a random posterior.
    Prior,
    /// Freshly initialised (random): what runs recorded before this option did (run 9).
    #[default]
    Fresh,
}
