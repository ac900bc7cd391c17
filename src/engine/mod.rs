//! The streaming engine: a device-free streaming core ([`Streamer`]), a threaded engine that runs
//! it between lock-free rings with graceful degradation ([`threaded`]), and, with the `live`
//! feature, audio devices through cpal (`device`).
//!
//! Files, tests, benchmarks and the live path share one code path: [`Streamer`] (used directly by
//! [`enhance_mono_16k`]) inside the threaded [`Engine`] (used by [`run_file`] and the live
//! session). [`segments`] is the offline alternative for whole files: the signal cut into
//! segments that run as one batch.

#[cfg(feature = "live")]
pub mod device;
pub mod pipeline;
pub mod segments;
pub mod streamer;
#[doc(hidden)]
pub mod testing;
pub mod threaded;

pub use pipeline::{Aligner, Latency, Pipeline};
pub use segments::{enhance_segments_16k, SegmentConfig};
pub use streamer::{atten_lim_gain, enhance_mono_16k, Degrade, Streamer, StreamerConfig, StreamerStats};
pub use threaded::{
    run_file, Control, DegradePolicy, Engine, EngineConfig, EngineStats, FileRunOptions, FileRunReport,
    RingEnds, SharedCounters,
};
