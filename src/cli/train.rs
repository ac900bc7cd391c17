//! `restoregrad train`: train a model on the shared data, resumable across sessions.

use std::path::PathBuf;

use super::Globals;
use crate::model::{parse_device, ModelConfig, Prediction, PriorMode};
use crate::train::data::Validation;
use crate::train::{train, PosteriorStart, TrainOptions};

/// Arguments of `restoregrad train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// The shared data folder (with manifest.csv); only its train splits are trained on.
    #[arg(long)]
    pub data: PathBuf,
    /// Run folder for config, logs (log.csv), checkpoints and the best model (`--out-dir`, as
    /// every folder output is named; `--out` is kept as an alias).
    #[arg(long = "out-dir", visible_alias = "out")]
    pub out: PathBuf,
    /// Prior: learned (RestoreGrad), energy (PriorGrad-style) or standard (N(0, I)) [default:
    /// learned, or the --init-from run's; a standard run may be continued as learned].
    #[arg(long, value_enum)]
    pub prior: Option<PriorMode>,
    /// Total optimiser steps of the run [default: 20000]; with --resume, the run's recorded
    /// total unless given, and only a larger total (extending it) is accepted.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Continue the run in --out from its last checkpoint, with the same data order.
    #[arg(long)]
    pub resume: bool,
    /// Seed of data order, diffusion noise and initialisation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Items per batch.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Seconds per training segment.
    #[arg(long, default_value_t = 1.0)]
    pub segment_secs: f32,
    /// Peak learning rate (linear warm-up, cosine decay to 10%).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Validate (and keep the best EMA model) every N steps.
    #[arg(long, default_value_t = 500)]
    pub val_every: u64,
    /// Checkpoint every N steps (and on Ctrl-C).
    #[arg(long, default_value_t = 100)]
    pub ckpt_every: u64,
    /// Sampling steps used for validation.
    #[arg(long, default_value_t = 2)]
    pub val_sampling_steps: usize,
    /// Validation mixtures per SNR (0/5/10/15 dB).
    #[arg(long, default_value_t = 6)]
    pub val_per_snr: usize,
    /// Fraction of items drawn at the fast sampler's times (the rest uniform over [1, T]).
    #[arg(long, default_value_t = 0.5)]
    pub fast_fraction: f32,
    /// How many of the fast sampler's noisiest times those items use (1-6).
    #[arg(long, default_value_t = 6)]
    pub fast_pool: usize,
    /// Learned prior: fraction of items whose noise is drawn with Σ_prior(y) rather than
    /// Σ_post (0 = the paper's recipe).
    #[arg(long, default_value_t = 0.0)]
    pub prior_draw_fraction: f32,
    /// What the denoiser predicts: the clean planes (starts as the identity) or CDiffuSE's noise.
    #[arg(long, value_enum, default_value_t = Prediction::Clean)]
    pub predict: Prediction,
    /// η: weight of the latent regulariser.
    #[arg(long)]
    pub eta: Option<f64>,
    /// λ: weight of prior matching.
    #[arg(long)]
    pub lambda: Option<f64>,
    /// γ: weight of the auxiliary clean-estimate loss (0 = the paper's loss exactly).
    #[arg(long)]
    pub gamma: Option<f64>,
    /// k: weight of loud (speech) bins in the clean-estimate loss, 1 + k·|x0|²/mean|x0|².
    #[arg(long, default_value_t = ModelConfig::new().speech_weight)]
    pub speech_weight: f64,
    /// μ: weight of a compressed-magnitude term in the clean-estimate loss (0 = none).
    #[arg(long, default_value_t = ModelConfig::new().mag_weight)]
    pub mag_weight: f64,
    /// a: weight of magnitude errors below the clean magnitude (over-suppression) against
    /// errors above it (1 = symmetric).
    #[arg(long, default_value_t = ModelConfig::new().under_weight)]
    pub under_weight: f64,
    /// ν: weight of a differentiable 1 − ESTOI term on the clean estimate (0 = none).
    #[arg(long, default_value_t = ModelConfig::new().estoi_weight)]
    pub estoi_weight: f64,
    /// Start from another run's last checkpoint (fine-tuning): its config (architecture, prior,
    /// compression) is kept, and only the loss weights given here change.
    #[arg(long, value_name = "RUN")]
    pub init_from: Option<PathBuf>,
    /// Where the Posterior Net starts when --init-from is a learned-prior model folder (which
    /// holds none): at its Prior Net (L_PM starts at 0) or freshly initialised.
    #[arg(long, value_enum, default_value_t = PosteriorStart::Prior)]
    pub posterior_start: PosteriorStart,
    /// β of the spectral compression X̃ = β|X|^α e^{j∠X}: sets the data's scale against the
    /// prior's variance range (the default 0.15 gives mean |x0|² ≈ 0.002).
    #[arg(long)]
    pub compress_beta: Option<f64>,
    /// GRU hidden size of the denoiser.
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Hidden size of a per-band GRU over time at the bottleneck (0 = none). With `--init-from`
    /// it adds the branch to a source without one, starting at the source's output.
    #[arg(long)]
    pub band_hidden: Option<usize>,
    /// Hidden size of a bidirectional GRU across the bottleneck bands within each frame (0 =
    /// none). With `--init-from` it adds the branch to a source without one, as `--band-hidden`.
    #[arg(long)]
    pub freq_hidden: Option<usize>,
    /// Upper end of the training mixtures' SNR range in dB (the range starts at −5 dB): lower
    /// values put more of the training at the low SNRs of real recordings.
    #[arg(long, default_value_t = crate::train::data::DEFAULT_SNR_MAX_DB)]
    pub snr_max: f32,
    /// Past frames of the noisy input a causal convolution beside the first encoder layer sees
    /// (0 = none). With --init-from, adds that layer (starting at zero) to a source without one.
    #[arg(long)]
    pub y_context: Option<usize>,
    /// What validation draws from: `holdout` (speakers, noise files and real pairs held out of
    /// the train split) or `test` (the evaluation material, as the first runs did).
    #[arg(long, value_enum, default_value_t = Validation::Holdout)]
    pub validation: Validation,
    /// With `--validation holdout`: train on the first N of the six real p287 pairs and validate
    /// on the rest (6 = a final refit on all of them, once the recipe is chosen).
    #[arg(long, default_value_t = 0)]
    pub train_pairs: usize,
    /// Leave speech/train-extra and noise/train-extra out of training and of the held-out
    /// validation split: the corpus the first shipped model's runs 1-7 trained on, before those
    /// folders existed (`scripts/train_v2.sh v1` reproduces them with it).
    #[arg(long)]
    pub without_extra: bool,
    /// Probability that a training example is a crop of a real pair instead of a synthetic
    /// mixture (when any real pair is trained on).
    #[arg(long, default_value_t = crate::train::data::DEFAULT_PAIR_FRACTION)]
    pub pair_fraction: f32,
    /// Probability that a real-pair example is remixed: the pair's speech under a train noise, or
    /// its recorded noise (noisy minus clean) under train speech, at a random SNR.
    #[arg(long, default_value_t = 0.0)]
    pub pair_remix: f32,
    /// Give real-pair crops the random level of the synthetic mixtures (speech at −35..−15 dBFS)
    /// instead of the level they were recorded at.
    #[arg(long)]
    pub pair_level: bool,
    /// Probability that a remixed real-pair example is the pair's speech under the recorded noise
    /// of a random real pair (real speech, real noise, a new SNR) instead of the two kinds above.
    #[arg(long, default_value_t = 0.0)]
    pub pair_cross: f32,
    /// Probability that a synthetic mixture's noise (or a remix's train noise) is stationary
    /// broadband noise with a random spectral tilt instead of a train recording or babble.
    #[arg(long, default_value_t = 0.0)]
    pub broadband_noise: f32,
    /// Compute device: cpu, cuda[:N], vulkan or tch (all but cpu need their cargo feature; tch is for training, docs/TCH.md).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Runs `restoregrad train`.
pub fn run(a: TrainArgs, g: Globals) -> anyhow::Result<()> {
    let device = parse_device(&a.device).map_err(anyhow::Error::msg)?;
    let mut cfg = match &a.init_from {
        Some(src) => crate::model::io::load_config(&src.join("config.json")).map_err(anyhow::Error::msg)?,
        None => ModelConfig::new().with_prior(a.prior.unwrap_or(PriorMode::Learned)).with_predict(a.predict),
    };
    if let Some(prior) = a.prior {
        if a.init_from.is_some() && prior != cfg.prior && !(cfg.prior == PriorMode::Standard && prior == PriorMode::Learned) {
            anyhow::bail!("--init-from: a {:?} run can only be continued with its own prior (or standard as learned)", cfg.prior);
        }
        cfg.prior = prior;
    }
    if let Some(v) = a.eta {
        cfg.eta = v;
    }
    if let Some(v) = a.lambda {
        cfg.lambda = v;
    }
    if let Some(v) = a.gamma {
        cfg.gamma = v;
    }
    cfg.speech_weight = a.speech_weight;
    cfg.mag_weight = a.mag_weight;
    cfg.under_weight = a.under_weight;
    cfg.estoi_weight = a.estoi_weight;
    if a.init_from.is_some() && (a.compress_beta.is_some() || a.hidden.is_some()) {
        anyhow::bail!("--init-from keeps the source run's architecture and compression: drop --compress-beta/--hidden");
    }
    for (flag, wanted, have) in [("--band-hidden", a.band_hidden, &mut cfg.band_hidden), ("--freq-hidden", a.freq_hidden, &mut cfg.freq_hidden)] {
        let Some(v) = wanted else { continue };
        if a.init_from.is_some() && *have != 0 && *have != v {
            anyhow::bail!("--init-from: the source run already has {flag} {have}; a branch can only be added to a run without one");
        }
        *have = v;
    }
    if !(a.snr_max > 0.0 && a.snr_max <= 40.0) {
        anyhow::bail!("--snr-max must be in (0, 40] dB, got {}", a.snr_max);
    }
    if let Some(v) = a.compress_beta {
        cfg.compress_beta = v;
    }
    if let Some(v) = a.hidden {
        cfg.hidden = v;
    }
    if let Some(v) = a.y_context {
        if a.init_from.is_some() && cfg.y_context != 0 && cfg.y_context != v {
            anyhow::bail!("--init-from: the source run already has --y-context {}; it can only be added to a run without one", cfg.y_context);
        }
        cfg.y_context = v;
    }
    if a.prior_draw_fraction > 0.0 && cfg.prior != PriorMode::Learned {
        anyhow::bail!("--prior-draw-fraction needs --prior learned");
    }
    if a.train_pairs > 0 && a.validation != Validation::Holdout {
        anyhow::bail!("--train-pairs needs --validation holdout (with `test` every train pair is trained on)");
    }
    for (flag, v) in [("--pair-fraction", a.pair_fraction), ("--pair-remix", a.pair_remix), ("--pair-cross", a.pair_cross), ("--broadband-noise", a.broadband_noise), ("--prior-draw-fraction", a.prior_draw_fraction)] {
        if !(0.0..=1.0).contains(&v) {
            anyhow::bail!("{flag} must be in 0..=1, got {v}");
        }
    }
    let opts = TrainOptions {
        data: a.data,
        steps: match (a.steps, a.resume) {
            (Some(n), _) => n,
            (None, true) => crate::train::recorded_steps(&a.out)?,
            (None, false) => 20_000,
        },
        seed: a.seed,
        batch: a.batch,
        segment_secs: a.segment_secs,
        lr: a.lr,
        warmup: 200,
        clip: 3.0,
        ema_decay: 0.999,
        val_every: a.val_every.max(1),
        ckpt_every: a.ckpt_every.max(1),
        val_sampling_steps: a.val_sampling_steps,
        val_per_snr: a.val_per_snr,
        fast_fraction: a.fast_fraction,
        fast_pool: a.fast_pool,
        prior_draw_fraction: a.prior_draw_fraction,
        init_from: a.init_from,
        posterior_start: a.posterior_start,
        validation: a.validation,
        train_pairs: a.train_pairs,
        without_extra: a.without_extra,
        pair_fraction: a.pair_fraction,
        pair_remix: a.pair_remix,
        pair_level: a.pair_level,
        pair_cross: a.pair_cross,
        broadband_noise: a.broadband_noise,
        snr_max_db: a.snr_max,
    };
    train(&a.out, cfg, opts, a.resume, device, g.quiet)
}
