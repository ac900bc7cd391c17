//! restoregrad as a LADSPA plugin (mono and stereo), for PipeWire's filter-chain and other
//! LADSPA hosts.
//!
//! Each channel has a worker thread running a [`restoregrad::Pipeline`] ([`worker`]); the
//! host's `run` only copies between the host's buffers, two preallocated lock-free rings per
//! channel and a dry delay line, and publishes control values through atomics ([`plugin`]).
//! The C ABI is written out in `ffi` (see there why not the `ladspa` crate).
//!
//! # Latency
//!
//! The latency is constant, `L = A + S` samples at the host rate, reported on the control
//! output `latency` (PipeWire and Audacity compensate for a port of that name): `A` is the
//! pipeline's algorithmic delay ([`restoregrad::Latency::total_out`]) and `S` a fixed margin:
//! the pipeline's structural lag ([`worker::structural_lag`], measured at instantiation) plus
//! [`plugin::SAFETY_MS`] (or `$RESTOREGRAD_LADSPA_SAFETY_MS`, read at instantiation) for the
//! host's block, the worker's compute and scheduling jitter. Output
//! sample `t` is wet sample `t - S`; when it is not there yet (underrun), the dry input delayed
//! by exactly `L` is played instead and counted (control output `underruns`), so a late worker
//! never makes the latency grow.
//!
//! # Controls
//!
//! `attenuation limit (dB)` (0: unlimited), `reverse steps` (1-6), `samples` (1-2; a change
//! restarts the denoiser's state on the worker, with a seam of one chunk) and `bypass` take
//! effect within one worker step. `offline` (default 0) is for hosts that call `run` faster than
//! real time (applyplugin, Audacity): `run` then waits for the workers, so every output sample
//! is wet; it is not real-time safe and must stay 0 in PipeWire, Carla or any live host.
//!
//! The post-filter has no port: it runs at the engine's default
//! ([`restoregrad::engine::StreamerConfig::DEFAULT_POST_FILTER`], which [`PipelineBuilder`] sets),
//! as the command line does without `--post-filter`; a port would change the port list that hosts
//! and filter-chain configs address by position and name.
//!
//! [`PipelineBuilder`]: restoregrad::PipelineBuilder

use std::ffi::CStr;

mod ffi;
pub mod plugin;
pub mod worker;

pub use plugin::Instance;
pub use worker::Settings;

/// Label of the mono plugin.
pub const LABEL_MONO: &str = "restoregrad_mono";
/// Label of the stereo plugin.
pub const LABEL_STEREO: &str = "restoregrad_stereo";
/// LADSPA unique IDs of the mono and stereo plugins.
pub const UNIQUE_IDS: [std::ffi::c_ulong; 2] = [0x52_4701, 0x52_4702];

/// One port as LADSPA describes it.
#[derive(Debug, Clone, Copy)]
pub struct PortSpec {
    /// Port name (hosts and filter-chain configs address controls by it).
    pub name: &'static CStr,
    /// Audio (true) or control port.
    pub audio: bool,
    /// Output (true) or input port.
    pub output: bool,
    /// Bounds of a control input.
    pub range: Option<(f32, f32)>,
    /// Default of a control input.
    pub default: f32,
    /// Integer-valued control.
    pub integer: bool,
    /// On/off control.
    pub toggled: bool,
}

const fn control_in(name: &'static CStr, range: Option<(f32, f32)>, default: f32, integer: bool) -> PortSpec {
    PortSpec { name, audio: false, output: false, range, default, integer, toggled: range.is_none() }
}

const fn control_out(name: &'static CStr) -> PortSpec {
    PortSpec { name, audio: false, output: true, range: None, default: 0.0, integer: false, toggled: false }
}

/// The control ports, in port order after the audio ports.
pub const PORTS: [PortSpec; 7] = [
    control_in(c"attenuation limit (dB)", Some((0.0, 100.0)), 0.0, false),
    control_in(c"reverse steps", Some((1.0, 6.0)), 1.0, true),
    control_in(c"samples", Some((1.0, 2.0)), 2.0, true),
    control_in(c"bypass", None, 0.0, false),
    control_in(c"offline", None, 0.0, false),
    control_out(c"latency"),
    control_out(c"underruns"),
];

/// All ports of the plugin with `channels` channels (1 or 2): inputs, outputs, then [`PORTS`].
pub fn ports(channels: usize) -> Vec<PortSpec> {
    let audio = |name, output| PortSpec { name, audio: true, output, range: None, default: 0.0, integer: false, toggled: false };
    let mut v = if channels == 1 {
        vec![audio(c"in", false), audio(c"out", true)]
    } else {
        vec![audio(c"in left", false), audio(c"in right", false), audio(c"out left", true), audio(c"out right", true)]
    };
    v.extend(PORTS);
    v
}
