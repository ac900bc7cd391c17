//! Validation: enhance the fixed sets with the EMA model and score them.

use burn::prelude::Device;

use super::data::ValItem;
use crate::dsp::stft::{istft, stft};
use crate::dsp::Complex32;
use crate::metrics::{estoi, si_sdr};
use crate::model::{ChunkDenoiser, Enhancer, ModelConfig, RestoreGrad};
use crate::MODEL_RATE;

/// Mean scores over a validation set.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct ValScores {
    /// Mean SI-SDR of the enhanced output, dB.
    pub si_sdr: f64,
    /// Mean ESTOI of the enhanced output.
    pub estoi: f64,
}

/// Enhances one signal with a whole-utterance call (the GRU makes it equal to streaming).
pub fn enhance_offline(enh: &mut Enhancer, x: &[f32], steps: usize) -> Vec<f32> {
    let stft_cfg = enh.config().stft();
    let spec = stft(&stft_cfg, x);
    let mut out = vec![Complex32::new(0.0, 0.0); spec.data.len()];
    enh.reset();
    enh.process(&spec.data, steps, &mut out);
    istft(&stft_cfg, &crate::dsp::stft::Spectrogram { data: out, ..spec }, x.len())
}

/// Scores `model` on `items` with `steps` sampling steps (seed 0, one sample per chunk: half the
/// cost of the antithetic pair, and the curves stay comparable with the runs logged before it).
pub fn score_set(cfg: &ModelConfig, model: &RestoreGrad, device: &Device, items: &[ValItem], steps: usize) -> ValScores {
    let mut enh = Enhancer::new(cfg.clone(), model.clone(), device.clone(), 0).with_samples(1);
    let mut s = ValScores::default();
    for it in items {
        let y = enhance_offline(&mut enh, &it.noisy, steps);
        s.si_sdr += si_sdr(&it.clean, &y);
        s.estoi += estoi(&it.clean, &y, MODEL_RATE);
    }
    let n = items.len().max(1) as f64;
    ValScores { si_sdr: s.si_sdr / n, estoi: s.estoi / n }
}

/// Scores the noisy inputs themselves (the baseline row).
pub fn score_noisy(items: &[ValItem]) -> ValScores {
    let n = items.len().max(1) as f64;
    let (a, b) = items.iter().fold((0.0, 0.0), |(a, b), it| (a + si_sdr(&it.clean, &it.noisy), b + estoi(&it.clean, &it.noisy, MODEL_RATE)));
    ValScores { si_sdr: a / n, estoi: b / n }
}
