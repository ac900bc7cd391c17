//! [`Model`]: a model's config and weights, loaded once and shared by every stream.

use std::path::Path;

use burn::prelude::Device;

use super::config::ModelConfig;
use super::io::{load_embedded_model, load_model};
use super::restoregrad::RestoreGrad;
use super::{Enhancer, ModelError};

/// A loaded model: config, weights and the device they live on. Cloning it is cheap enough to
/// give each channel or stream its own copy.
#[derive(Debug, Clone)]
pub struct Model {
    /// The architecture, STFT and sampling settings the weights were trained with.
    pub config: ModelConfig,
    /// The inference networks.
    pub weights: RestoreGrad,
    /// Where the weights live and the denoiser runs.
    pub device: Device,
}

impl Model {
    /// The shipped model (`models/default`), compiled into the library, on the CPU.
    pub fn shipped() -> Result<Self, ModelError> {
        let device = Device::flex();
        let (config, weights) = load_embedded_model(&device)?;
        Ok(Self { config, weights, device })
    }

    /// A model folder (`config.json` + `weights.bpk`) on the CPU.
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        Self::load_on(dir, &Device::flex())
    }

    /// A model folder on `device`.
    pub fn load_on(dir: &Path, device: &Device) -> Result<Self, ModelError> {
        let (config, weights) = load_model(dir, device)?;
        Ok(Self { config, weights, device: device.clone() })
    }

    /// A stateful chunk denoiser over this model, seeded with `seed`.
    pub fn enhancer(&self, seed: u64) -> Enhancer {
        Enhancer::new(self.config.clone(), self.weights.clone(), self.device.clone(), seed)
    }
}
