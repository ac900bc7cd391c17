//! The streaming engine: a device-free streaming core ([`Streamer`]), a threaded engine that runs
//! it between lock-free rings with graceful degradation ([`threaded`]), and, with the `live`
//! feature, audio devices through cpal (`device`).

pub mod streamer;
#[doc(hidden)]
pub mod testing;

pub use streamer::{atten_lim_gain, enhance_mono_16k, Degrade, Streamer, StreamerConfig, StreamerStats};
pub mod threaded;

pub use threaded::{
    run_file, Control, DegradePolicy, Engine, EngineConfig, EngineLatency, EngineStats, FileRunOptions, FileRunReport,
    RingEnds, SharedCounters,
};
