//! The RestoreGrad denoiser: networks, diffusion schedule, loss, sampling, saving and loading.

pub mod config;
pub mod device;
pub mod diffusion;
pub mod features;
pub mod io;
mod loaded;
pub mod loss;
pub mod net;
pub mod restoregrad;
pub mod sampler;
mod sampler_core;
pub mod staggered;

pub use config::{ModelConfig, Prediction, PriorMode, Renoise};
pub use device::parse_device;
pub use loaded::Model;
pub use io::{load_embedded_model, load_enhancer, load_model, load_model_or_default, save_model, ModelError};
pub use restoregrad::RestoreGrad;
pub use sampler::{BatchState, Enhancer};

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

    /// Turns staggered step batching on with at most `max_steps` reverse steps per chunk
    /// (`Some`), or off (`None`), and returns whether the denoiser supports the request.
    ///
    /// A staggered denoiser runs step `i` of chunk `n - i` for every `i` in one batched call (see
    /// [`staggered`]), so [`ChunkDenoiser::process`] then returns the output of an earlier chunk:
    /// [`ChunkDenoiser::delay_chunks`] says how much earlier. The change applies from the next
    /// stream start: callers reset the denoiser after it. The default supports only `None`.
    fn set_stagger(&mut self, max_steps: Option<usize>) -> bool {
        max_steps.is_none()
    }

    /// Whole chunks between a chunk's input and its output: the `n`-th call to
    /// [`ChunkDenoiser::process`] (or [`ChunkDenoiser::skip`]) of a stream writes the output of
    /// the chunk passed `delay_chunks()` calls earlier (zeros while there is none). Default 0:
    /// every call returns its own chunk.
    fn delay_chunks(&self) -> usize {
        0
    }

    /// Advances a delayed stream by one chunk that is not denoised (a bypassed chunk), writing
    /// the output that is due now into `out` (the same length as a chunk). A bypassed chunk
    /// draws no noise and moves no recurrent state, exactly as when it is not shown at all; the
    /// call only finishes the chunks still in flight. The default does nothing, which is right
    /// for any denoiser with [`ChunkDenoiser::delay_chunks`] = 0 (nothing is ever in flight).
    fn skip(&mut self, out: &mut [Complex32]) {
        let _ = out;
    }
}
