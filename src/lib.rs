//! restoregrad: real-time streaming speech enhancement with a learned-prior diffusion denoiser.
//!
//! Data flows one way through the crate's folders:
//! `audio` (files in/out) -> `dsp` (resampling, STFT) -> `model` (RestoreGrad denoiser) ->
//! `engine` (streaming core and threaded live engine) -> `cli`. `train` builds models and `metrics`
//! judges them; `bench` measures latency and speed.
#![warn(missing_docs)]

pub mod audio;
pub mod bench;
pub mod cli;
pub mod dsp;
pub mod engine;
pub mod metrics;
pub mod model;
pub mod report;
pub mod train;

/// The sample rate the model runs at.
pub const MODEL_RATE: u32 = 16_000;
