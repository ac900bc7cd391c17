//! The RestoreGrad denoiser: networks, diffusion schedule, loss, sampling, saving and loading.

pub mod config;
pub mod device;
pub mod diffusion;
pub mod features;
pub mod io;
pub mod loss;
pub mod net;
pub mod restoregrad;
pub mod sampler;

pub use config::{ModelConfig, PriorMode};
pub use device::parse_device;
pub use io::{default_model_dir, load_enhancer, load_model, save_model, ModelError};
pub use restoregrad::RestoreGrad;
pub use sampler::Enhancer;

use crate::dsp::Complex32;

/// A stateful frame-domain denoiser, as the streaming engine sees the model.
///
/// Implementations keep their own recurrent state between calls, so a caller passes only the
/// new frames of each chunk: no left context is recomputed.
pub trait ChunkDenoiser: Send {
    /// Bins per frame this denoiser expects.
    fn n_bins(&self) -> usize;
    /// Denoises `noisy` (`n_frames * n_bins` STFT values, row-major) with `steps` reverse
    /// diffusion steps, writing the same number of values into `out`.
    fn process(&mut self, noisy: &[Complex32], steps: usize, out: &mut [Complex32]);
    /// Forgets all state (the next call starts as at the beginning of a stream).
    fn reset(&mut self);
}
