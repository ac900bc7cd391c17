//! Training: on-the-fly mixtures, the RestoreGrad loss, Adam with warm-up and cosine decay,
//! gradient clipping, an EMA of the weights, validation to CSV, checkpoints and exact resume.

pub mod batch;
pub mod data;
pub mod ema;
pub mod options;
pub mod trainer;
pub mod validate;

pub use options::{PosteriorStart, TrainOptions};
pub use trainer::{export_checkpoint, recorded_steps, train};
