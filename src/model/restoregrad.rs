//! The RestoreGrad model: denoiser + Prior Net for inference, plus a Posterior Net for training,
//! and the training loss L_DM + η·L_LR + λ·L_PM (+ γ·L_x0).

use burn::prelude::*;

use super::config::{ModelConfig, Prediction, PriorMode};
use super::diffusion::Schedule;
use super::loss::{band_matrix, clean_loss, estoi_loss, latent_regulariser, magnitude_loss, noise_loss, prior_matching};
use super::net::{spectral_features, time_embedding, Denoiser, VarianceNet};

/// The inference model: what a model folder holds. The Posterior Net is not part of it.
#[derive(Module, Debug)]
pub struct RestoreGrad {
    /// ε_θ(x_t, y, t).
    pub denoiser: Denoiser,
    /// ψ(y) → log Σ_prior; present only in `learned` mode.
    pub prior_net: Option<VarianceNet>,
}

impl RestoreGrad {
    /// A freshly initialised model for `cfg`.
    pub fn new(cfg: &ModelConfig, device: &Device) -> Self {
        Self {
            denoiser: Denoiser::new(cfg, device),
            prior_net: (cfg.prior == PriorMode::Learned).then(|| VarianceNet::new(cfg, 3, device)),
        }
    }

    /// log Σ_prior(y) `[B, 1, T, F]` for compressed noisy spectra `y` `[B, 2, T, F]`.
    pub fn prior_logvar(&self, cfg: &ModelConfig, y: Tensor<4>) -> Tensor<4> {
        match (&self.prior_net, cfg.prior) {
            (Some(net), PriorMode::Learned) => net.forward(spectral_features(y)),
            (_, PriorMode::Energy) => {
                let power = y.square().sum_dim(1); // [B, 1, T, F]
                power.clamp(cfg.energy_floor, 1.0).log()
            }
            _ => {
                let [b, _, t, f] = y.dims();
                Tensor::zeros([b, 1, t, f], &y.device())
            }
        }
    }
}

/// The training model: the inference model plus the Posterior Net φ(x0, y).
#[derive(Module, Debug)]
pub struct TrainModel {
    /// The part that is exported.
    pub model: RestoreGrad,
    /// φ(x0, y) → log Σ_post; present only in `learned` mode.
    pub posterior_net: Option<VarianceNet>,
}

/// One training batch, compressed spectra and the host-drawn randomness.
pub struct TrainBatch {
    /// Clean x0 `[B, 2, T, F]`.
    pub clean: Tensor<4>,
    /// Noisy y `[B, 2, T, F]`.
    pub noisy: Tensor<4>,
    /// Standard normal z `[B, 2, T, F]`.
    pub z: Tensor<4>,
    /// Fractional diffusion time per item, in `[1, T]`.
    pub times: Vec<f64>,
    /// Per item: draw x_t as the sampler's start does (mean √ᾱ y) instead of the marginal.
    pub start_form: Vec<bool>,
    /// Per item (learned prior): draw the noise with Σ_prior(y), held fixed, instead of Σ_post.
    /// Empty means none.
    pub prior_drawn: Vec<bool>,
}

/// The loss terms of one batch (scalars), each logged separately.
pub struct LossTerms {
    /// L_DM + η·L_LR + λ·L_PM + γ·L_x0.
    pub total: Tensor<1>,
    /// Σ-weighted noise loss.
    pub dm: Tensor<1>,
    /// Latent regulariser (0 unless `learned`).
    pub lr: Tensor<1>,
    /// Prior matching (0 unless `learned`).
    pub pm: Tensor<1>,
    /// Auxiliary clean-estimate loss (with its magnitude term).
    pub clean: Tensor<1>,
}

/// The cap on the signal-to-noise ratio ᾱ/(1−ᾱ) that weights clean prediction's ε-loss.
pub const MIN_SNR_CAP: f64 = 5.0;

/// The Min-SNR factor min(SNR, cap)/SNR applied to the ε-loss of an item at ᾱ.
fn snr_weight(alpha_bar: f64) -> f64 {
    let snr = alpha_bar / (1.0 - alpha_bar).max(1e-12);
    snr.min(MIN_SNR_CAP) / snr
}

fn per_item(values: impl Iterator<Item = f64>, device: &Device) -> Tensor<4> {
    let v: Vec<f32> = values.map(|x| x as f32).collect();
    let b = v.len();
    Tensor::from_data(TensorData::new(v, [b, 1, 1, 1]), device) // [B, 1, 1, 1]
}

impl TrainModel {
    /// A freshly initialised training model for `cfg`.
    pub fn new(cfg: &ModelConfig, device: &Device) -> Self {
        Self {
            model: RestoreGrad::new(cfg, device),
            posterior_net: (cfg.prior == PriorMode::Learned).then(|| VarianceNet::new(cfg, 6, device)),
        }
    }

    /// The RestoreGrad training loss for one batch.
    pub fn losses(&self, cfg: &ModelConfig, schedule: &Schedule, batch: TrainBatch) -> LossTerms {
        let device = batch.clean.device();
        let TrainBatch { clean: x0, noisy: y, z, times, start_form, prior_drawn } = batch;
        let coeffs: Vec<_> = times
            .iter()
            .zip(&start_form)
            .map(|(&t, &s)| if s { schedule.start_coeffs(t) } else { schedule.coeffs(t) })
            .collect();
        let a = per_item(coeffs.iter().map(|c| c.x0_weight()), &device); // [B,1,1,1]
        let b = per_item(coeffs.iter().map(|c| c.y_weight()), &device); // [B,1,1,1]
        let s = per_item(coeffs.iter().map(|c| c.noise_std()), &device); // [B,1,1,1]
        let sqrt_ab = per_item(coeffs.iter().map(|c| c.alpha_bar.sqrt()), &device); // [B,1,1,1]
        let sqrt_1m_ab = per_item(coeffs.iter().map(|c| (1.0 - c.alpha_bar).sqrt()), &device); // [B,1,1,1]

        let zero = || Tensor::<1>::zeros([1], &device);
        // The variance the noise is drawn with, and the prior-matching / latent terms.
        let (logvar, lr, pm) = match (cfg.prior, &self.posterior_net) {
            (PriorMode::Learned, Some(post)) => {
                let lv_post = post.forward(Tensor::cat(
                    vec![spectral_features(x0.clone()), spectral_features(y.clone())],
                    1,
                )); // [B,1,T,F]
                let lv_prior = self.model.prior_logvar(cfg, y.clone()); // [B,1,T,F]
                let lr = latent_regulariser(x0.clone(), lv_post.clone(), schedule.alpha_bar_last());
                let pm = prior_matching(lv_prior.clone(), lv_post.clone());
                // Items drawn with the (detached) prior see the noise inference starts from; the
                // prior itself still learns only through L_PM.
                let drawn = per_item(
                    (0..times.len()).map(|i| if prior_drawn.get(i).copied().unwrap_or(false) { 1.0 } else { 0.0 }),
                    &device,
                ); // [B,1,1,1]
                let lv = lv_prior.detach() * drawn.clone() + lv_post * (drawn.neg() + 1.0); // [B,1,T,F]
                (lv, lr, pm)
            }
            _ => (self.model.prior_logvar(cfg, y.clone()), zero(), zero()),
        };
        let eps = z * (logvar.clone() * 0.5).exp(); // [B,2,T,F], ε = Σ^{1/2} ⊙ z
        let x_t = x0.clone() * a + y.clone() * b + eps * s; // [B,2,T,F]
        // CDiffuSE's combined noise: x_t = √ᾱ x0 + √(1-ᾱ) c.
        let target = (x_t.clone() - x0.clone() * sqrt_ab.clone()) / sqrt_1m_ab.clone(); // [B,2,T,F]
        let emb = time_embedding(
            &times.iter().map(|&t| (t / schedule.train_steps() as f64) as f32).collect::<Vec<_>>(),
            cfg.time_dim,
            &device,
        ); // [B, time_dim]
        let (output, _) = self.model.denoiser.forward(Tensor::cat(vec![x_t.clone(), y], 1), emb, None, None); // [B,2,T,F]
        let x0_hat = cfg.predict.clean_estimate(output.clone(), x_t.clone(), sqrt_1m_ab.clone(), sqrt_ab.clone()); // [B,2,T,F]
        let dm = match cfg.predict {
            Prediction::Noise => noise_loss(target, output, logvar),
            Prediction::Clean => {
                // The same ε-loss through x̂0 carries the weight ᾱ/(1−ᾱ) (up to 10⁴ near t = 1),
                // which would let a few low-noise items steer every clipped step; cap that SNR
                // weight at MIN_SNR_CAP (Min-SNR weighting, Hang et al. 2023).
                let eps_hat = (x_t - x0_hat.clone() * sqrt_ab) / sqrt_1m_ab; // [B,2,T,F]
                let w = per_item(coeffs.iter().map(|c| snr_weight(c.alpha_bar).sqrt()), &device); // [B,1,1,1]
                noise_loss(target * w.clone(), eps_hat * w, logvar)
            }
        };
        let mut clean = clean_loss(x0.clone(), x0_hat.clone(), cfg.speech_weight);
        if cfg.mag_weight > 0.0 {
            clean = clean + magnitude_loss(x0.clone(), x0_hat.clone(), cfg.under_weight) * cfg.mag_weight;
        }
        if cfg.estoi_weight > 0.0 {
            let bands = band_matrix(cfg.n_freq, cfg.n_fft, crate::MODEL_RATE, &device); // [F, 15]
            clean = clean + estoi_loss(x0, x0_hat, cfg.compress_alpha, cfg.compress_beta, &bands) * cfg.estoi_weight;
        }
        let total = dm.clone() + lr.clone() * cfg.eta + pm.clone() * cfg.lambda + clean.clone() * cfg.gamma;
        LossTerms { total, dm, lr, pm, clean }
    }
}
