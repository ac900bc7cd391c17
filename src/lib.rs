//! restoregrad: real-time streaming speech enhancement with a learned-prior diffusion denoiser.
//!
//! # Using the library
//!
//! The API for embedding is re-exported here: load a [`Model`] (the shipped one is compiled in),
//! build a [`Pipeline`] for your sample rate and channel count with [`PipelineBuilder`], and feed
//! it blocks of any size. Its output is delayed by [`Pipeline::latency`]; [`Pipeline::enhance`]
//! does a whole buffer at once and returns output aligned with the input.
//!
//! Denoise a buffer (48 kHz stereo, interleaved):
//!
//! ```
//! # fn main() -> Result<(), restoregrad::Error> {
//! let model = restoregrad::Model::shipped()?;
//! let mut pipeline = restoregrad::PipelineBuilder::new(48_000, 2).build(&model)?;
//! let noisy = vec![0.0f32; 2 * 4_800]; // 100 ms of silence
//! let enhanced = pipeline.enhance(&noisy);
//! assert_eq!(enhanced.len(), noisy.len());
//! # Ok(())
//! # }
//! ```
//!
//! Stream chunks of any size (e.g. from an audio callback; the output lags by the latency):
//!
//! ```
//! # fn main() -> Result<(), restoregrad::Error> {
//! let model = restoregrad::Model::shipped()?;
//! let mut pipeline = restoregrad::PipelineBuilder::new(44_100, 1).steps(1).build(&model)?;
//! let delay = pipeline.latency().total_out; // samples at 44.1 kHz
//! let mut out = Vec::new();
//! for block in vec![0.0f32; 44_100].chunks(441) {
//!     pipeline.process(block, &mut out);
//! }
//! pipeline.finish(&mut out); // the tail: every input sample has come out
//! assert!(out.len() >= 44_100 + delay);
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! Data flows one way through the crate's folders:
//! `audio` (files in/out) -> `dsp` (resampling, STFT) -> `model` (RestoreGrad denoiser) ->
//! `engine` (the [`Pipeline`], the streaming core and the threaded live engine). With the `cli`
//! feature (default) come `cli` (the program), `train` (builds models), `metrics` judge them,
//! `bench` measures latency and speed, and `report` draws plots. Those modules are public for the
//! program, benches and tests; the re-exports below are the embedding API.
#![warn(missing_docs)]

pub mod audio;
#[cfg(feature = "cli")]
pub mod bench;
#[cfg(feature = "cli")]
pub mod cli;
pub mod dsp;
pub mod engine;
mod error;
pub mod metrics;
pub mod model;
#[cfg(feature = "cli")]
pub mod report;
#[cfg(feature = "cli")]
pub mod train;

pub use engine::file::enhance_file;
pub use engine::pipeline::{Aligner, Latency, Pipeline, PipelineBuilder};
pub use error::{Error, Interrupted};
pub use model::Model;

/// The sample rate the model runs at.
pub const MODEL_RATE: u32 = 16_000;
