//! The streaming engine: the one audio path ([`Pipeline`]: any rate and channel count ->
//! resampling -> [`Streamer`] -> resampling, its latency derived once), a threaded engine that
//! runs a pipeline between lock-free rings with graceful degradation ([`threaded`]), and, with
//! the `live` feature, audio devices through cpal (`device`).
//!
//! Files (`enhance` and [`enhance_file`] through [`stream_aligned`], [`enhance_mono_16k`]), benchmarks, the threaded [`Engine`] (used by
//! [`run_file`] and the live session) all run through [`Pipeline`]. [`segments`] is the offline
//! alternative for whole files: the signal cut into segments that run as one batch.

#[cfg(feature = "live")]
pub mod device;
pub mod file;
pub mod pipeline;
pub mod segments;
pub mod streamer;
#[doc(hidden)]
pub mod testing;
pub mod threaded;

pub use file::{enhance_file, stream_aligned, Streamed};
pub use pipeline::{enhance_mono_16k, Aligner, Latency, Pipeline};
pub use segments::{enhance_segments_16k, SegmentConfig};
pub use streamer::{atten_lim_gain, Degrade, Streamer, StreamerConfig, StreamerStats};
pub use threaded::{
    run_file, Control, DegradePolicy, Engine, EngineConfig, EngineStats, FileRunOptions, FileRunReport,
    RingEnds, SharedCounters,
};
