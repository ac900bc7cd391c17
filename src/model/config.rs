//! The model configuration: architecture, STFT, compression, diffusion schedule, prior mode and
//! loss weights. It is saved beside the weights and fully describes how to rebuild the model.

use burn::config::Config;
use serde::{Deserialize, Serialize};

use crate::dsp::stft::StftConfig;

/// The identifier written into every model config, checked at load time.
pub const MODEL_FORMAT: &str = "restoregrad-model";
/// The current model format version, checked at load time.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// Which prior the diffusion starts from and injects noise with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum PriorMode {
    /// RestoreGrad: Σ_prior(y) from a learned Prior Net, trained jointly with a Posterior Net.
    Learned,
    /// PriorGrad-style: variance from the noisy bin energy, floored.
    Energy,
    /// The standard N(0, I) prior.
    Standard,
}

impl std::fmt::Display for PriorMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PriorMode::Learned => "learned",
            PriorMode::Energy => "energy",
            PriorMode::Standard => "standard",
        })
    }
}

/// What the denoiser's output estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Prediction {
    /// CDiffuSE's combined noise ε̂; x̂0 = (x_t − √(1−ᾱ) ε̂) / √ᾱ (the models before clean
    /// prediction, whose configs lack the field).
    Noise,
    /// The clean planes x̂0 themselves; ε̂ = (x_t − √ᾱ x̂0) / √(1−ᾱ) where a loss needs it. The
    /// last layer starts as the identity x̂0 = y, so training starts from the noisy input's
    /// quality instead of from noise (measured: noise prediction stayed below the noisy input's
    /// SI-SDR after 2,100 steps).
    Clean,
}

impl Prediction {
    /// x̂0 from the denoiser's `output` at input `x_t`, given √(1−ᾱ) and √ᾱ (scalars or
    /// per-item tensors that broadcast, e.g. `[B, 1, 1, 1]`).
    pub fn clean_estimate<C: Clone>(self, output: burn::prelude::Tensor<4>, x_t: burn::prelude::Tensor<4>, sqrt_1m_ab: C, sqrt_ab: C) -> burn::prelude::Tensor<4>
    where
        burn::prelude::Tensor<4>: std::ops::Mul<C, Output = burn::prelude::Tensor<4>> + std::ops::Div<C, Output = burn::prelude::Tensor<4>>,
    {
        match self {
            Prediction::Noise => (x_t - output * sqrt_1m_ab) / sqrt_ab, // [B,2,T,F]
            Prediction::Clean => output,
        }
    }
}

/// How a multi-step sampler moves from one reverse step to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Renoise {
    /// Draw the next step's input from the forward marginal around x̂0 with fresh noise (the
    /// sampler of every model before the field existed).
    Fresh,
    /// Reuse the noise the current input implies, ε̂ = (x_t − a·x̂0 − b·y) / (s·σ), as DDIM's
    /// deterministic update does: no new noise enters after the start, so more steps refine
    /// one estimate instead of averaging in fresh draws.
    Reuse,
}

/// Everything needed to rebuild a model. The defaults are the shipped model's config
/// (`models/default/config.json`; a test holds them together). Config files written before a
/// field existed get that field's old meaning from [`crate::model::io::load_config`], not
/// these defaults.
#[derive(Config, Debug, PartialEq)]
pub struct ModelConfig {
    /// Always [`MODEL_FORMAT`].
    #[config(default = "MODEL_FORMAT.to_string()")]
    pub format: String,
    /// Always [`MODEL_FORMAT_VERSION`] when written by this build.
    #[config(default = "MODEL_FORMAT_VERSION")]
    pub format_version: u32,
    /// STFT window length at 16 kHz.
    #[config(default = 512)]
    pub n_fft: usize,
    /// STFT hop at 16 kHz.
    #[config(default = 128)]
    pub hop: usize,
    /// Bins the network sees (the Nyquist bin is dropped: `n_fft / 2`).
    #[config(default = 256)]
    pub n_freq: usize,
    /// Magnitude compression exponent α of X̃ = β|X|^α e^{j∠X}.
    #[config(default = 0.5)]
    pub compress_alpha: f64,
    /// Magnitude compression gain β.
    #[config(default = 2.0)]
    pub compress_beta: f64,
    /// Encoder channels, stage 1 (each stage halves the frequency axis).
    #[config(default = 16)]
    pub channels1: usize,
    /// Encoder channels, stage 2.
    #[config(default = 32)]
    pub channels2: usize,
    /// Encoder channels, stage 3.
    #[config(default = 32)]
    pub channels3: usize,
    /// Frequency kernel width of the encoder convolutions.
    #[config(default = 5)]
    pub kernel: usize,
    /// GRU hidden size of the bottleneck (the recurrent state carried between chunks).
    #[config(default = 128)]
    pub hidden: usize,
    /// Hidden size of a GRU over time run separately in each bottleneck band (weights shared
    /// across the `n_freq / 8` bands; 0 = none). Why: the full-band GRU squeezes every band into
    /// one state, while per-band recurrence (the time path of dual-path designs such as GTCRN
    /// and FSPEN) lets each band track its own noise floor. Its state is carried between chunks
    /// beside the full-band GRU's.
    #[config(default = 0)]
    pub band_hidden: usize,
    /// Hidden size of a bidirectional GRU across the bottleneck bands within each frame (0 =
    /// none): the frequency path of dual-path designs (GTCRN, FSPEN, DPCRN), which lets each band
    /// see the whole spectrum of its frame. Within one frame only, so it needs no state and
    /// streaming stays exact.
    #[config(default = 0)]
    pub freq_hidden: usize,
    /// Width of the sinusoidal diffusion-time embedding.
    #[config(default = 32)]
    pub time_dim: usize,
    /// Channels of the Prior and Posterior Nets.
    #[config(default = 8)]
    pub prior_channels: usize,
    /// Number of training diffusion steps T.
    #[config(default = 50)]
    pub train_steps: usize,
    /// First β of the linear training schedule.
    #[config(default = 1e-4)]
    pub beta_start: f64,
    /// Last β of the linear training schedule.
    #[config(default = 0.035)]
    pub beta_end: f64,
    /// Which prior. (A config file without the field means `standard`, what the models before
    /// the learned-prior default used: [`crate::model::io::load_config`] fills that in.)
    #[config(default = "PriorMode::Learned")]
    pub prior: PriorMode,
    /// What the denoiser predicts. (A config file without the field means `noise`, what the
    /// models before it used: [`crate::model::io::load_config`] fills that in.)
    #[config(default = "Prediction::Clean")]
    pub predict: Prediction,
    /// Lower clamp of predicted log-variances. It bounds the Mahalanobis weight 1/σ² of L_DM:
    /// CDiffuSE's combined-noise target also holds the (y − x0) part, which is not scaled by
    /// Σ, so a tiny σ in a silent bin would otherwise dominate the whole loss (measured: with
    /// −9 the denoiser had not learned the sampler's start time after 500 steps).
    #[config(default = -4.0)]
    pub logvar_min: f64,
    /// Upper clamp of predicted log-variances.
    #[config(default = 1.0)]
    pub logvar_max: f64,
    /// Floor of the energy prior's variance (and its cap is 1).
    #[config(default = 0.01)]
    pub energy_floor: f64,
    /// η: weight of the latent regulariser L_LR.
    #[config(default = 1.0)]
    pub eta: f64,
    /// λ: weight of the prior-matching term L_PM.
    #[config(default = 1.0)]
    pub lambda: f64,
    /// γ: weight of an auxiliary clean-estimate loss on x̂0 (0 gives the paper's loss exactly).
    /// The compressed spectra are small (mean x0² ≈ 0.004), so it needs a large weight to count.
    #[config(default = 100.0)]
    pub gamma: f64,
    /// k: how much the clean-estimate loss weights bins by their clean power (0 = plain MSE;
    /// see [`crate::model::loss::clean_loss`]). Training only.
    #[config(default = 1.0)]
    pub speech_weight: f64,
    /// μ: weight (inside γ) of a compressed-magnitude term ‖|x̂0| − |x0|‖² added to the
    /// clean-estimate loss (0 = none; see [`crate::model::loss::magnitude_loss`]). Training only.
    #[config(default = 4.0)]
    pub mag_weight: f64,
    /// a: how much more the magnitude term charges an estimate below the clean magnitude than
    /// one above it (1 = symmetric; see [`crate::model::loss::magnitude_loss`]). Training only.
    #[config(default = 0.25)]
    pub under_weight: f64,
    /// ν: weight (inside γ) of a differentiable 1 − ESTOI term on x̂0 (0 = none; see
    /// [`crate::model::loss::estoi_loss`]). Training only.
    #[config(default = 4.0)]
    pub estoi_weight: f64,
    /// Past frames of the noisy input y that a causal convolution beside the first encoder
    /// layer sees (0 = none: time enters only through the GRU).
    #[config(default = 3)]
    pub y_context: usize,
    /// How multi-step sampling re-noises between steps. Inference only.
    #[config(default = "Renoise::Fresh")]
    pub renoise: Renoise,
}

impl ModelConfig {
    /// The STFT geometry of this model.
    pub fn stft(&self) -> StftConfig {
        StftConfig { n_fft: self.n_fft, hop: self.hop }
    }

    /// Checks the format marker, version and internal consistency.
    pub fn validate(&self) -> Result<(), String> {
        if self.format != MODEL_FORMAT {
            return Err(format!("not a restoregrad model config (format = {:?})", self.format));
        }
        if self.format_version != MODEL_FORMAT_VERSION {
            return Err(format!(
                "model format version {} is not supported by this build (expects {})",
                self.format_version, MODEL_FORMAT_VERSION
            ));
        }
        self.stft().validate()?;
        if self.n_freq != self.n_fft / 2 || self.n_freq % 8 != 0 {
            return Err(format!("n_freq {} must be n_fft/2 and a multiple of 8", self.n_freq));
        }
        if self.kernel % 2 == 0 {
            return Err(format!("kernel {} must be odd", self.kernel));
        }
        if self.train_steps < 2 || !(self.beta_start > 0.0 && self.beta_end < 1.0) {
            return Err("invalid diffusion schedule".into());
        }
        Ok(())
    }

    /// Multiply-accumulates per frame per reverse step of the denoiser (convolutions, GRU,
    /// linear layers), and of the prior net per frame.
    pub fn macs_per_frame(&self) -> (usize, usize) {
        let f = self.n_freq;
        let k = self.kernel;
        let (c1, c2, c3, h) = (self.channels1, self.channels2, self.channels3, self.hidden);
        let flat = c3 * f / 8;
        let enc = (f / 2) * 4 * c1 * k + (f / 4) * c1 * c2 * k + (f / 8) * c2 * c3 * k;
        let context = if self.y_context > 0 { (f / 2) * 2 * c1 * k * (self.y_context + 1) } else { 0 };
        let bottleneck = flat * h + 3 * (h + h) * h + h * flat;
        let hb = self.band_hidden;
        let bands = (f / 8) * (3 * (c3 + hb) * hb + hb * c3);
        let hf = self.freq_hidden;
        let freq = (f / 8) * (2 * 3 * (c3 + hf) * hf + 2 * hf * c3);
        // Transposed convs (kernel 4) over their inputs, with skip concatenation doubling inputs.
        let dec = (f / 8) * (2 * c3) * c2 * 4 + (f / 4) * (2 * c2) * c1 * 4 + (f / 2) * (2 * c1) * 6 * 4 + f * 8;
        let time = self.time_dim * 2 * h + 2 * h * 2 * h; // once per call, not per frame; upper bound
        let pc = self.prior_channels;
        let prior = f * (3 * pc * k + 2 * pc * pc * k + pc * k);
        (enc + context + bottleneck + bands + freq + dec + time / 16, prior)
    }
}
