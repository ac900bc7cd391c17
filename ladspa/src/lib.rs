//! restoregrad as a LADSPA plugin (mono and stereo), for PipeWire's filter-chain.
//!
//! Each channel runs the threaded engine ([`restoregrad::engine::threaded::Engine`]): `run` only
//! copies between the host's buffers and the engine's preallocated lock-free rings, and a worker
//! thread per channel runs the [`restoregrad::Pipeline`].
//!
//! # Latency
//!
//! The plugin's latency is constant, `L = A + S` samples at the host rate, reported on the
//! control output port `latency` (PipeWire compensates for a port of that name): `A` is the
//! engine's algorithmic delay ([`restoregrad::Latency::total_out`]) and `S` a fixed safety margin
//! (the resamplers' block buffering + one model chunk + [`SAFETY_MS`], or
//! `$RESTOREGRAD_LADSPA_SAFETY_MS` read at instantiation) that gives the worker time to compute.
//! Output sample `t` is the worker's wet sample `t - S`; when it is not there yet (underrun), the
//! dry input delayed by exactly `L` is played instead and the underrun is counted (control
//! output `underruns`), so a slow worker never makes the latency grow.
//!
//! # Controls
//!
//! `attenuation limit (dB)` (0: unlimited), `reverse steps` (1-6) and `bypass` are sent to the
//! worker when they change (only then: the control channel may allocate on a send). `samples`
//! (1-2) is a property of the denoiser: a change takes effect at the next `activate`.

use ladspa::{Data, DefaultValue, Plugin, PluginDescriptor, Port, PortConnection, PortDescriptor};
use restoregrad::engine::threaded::{Control, Engine, EngineConfig};
use restoregrad::engine::StreamerConfig;
use restoregrad::model::ChunkDenoiser;
use restoregrad::Model;
use ringbuf::traits::{Consumer, Observer, Producer};
use ringbuf::{HeapCons, HeapProd};

/// Default extra safety margin for the worker, in milliseconds at any host rate.
pub const SAFETY_MS: f64 = 50.0;
/// Lowest and highest host rate accepted (Hz).
pub const RATES: std::ops::RangeInclusive<u64> = 8_000..=192_000;
/// Label of the mono plugin.
pub const LABEL_MONO: &str = "restoregrad_mono";
/// Label of the stereo plugin.
pub const LABEL_STEREO: &str = "restoregrad_stereo";

/// Names of the control ports, in port order after the audio ports.
pub const PORT_ATTEN: &str = "attenuation limit (dB)";
pub const PORT_STEPS: &str = "reverse steps";
pub const PORT_SAMPLES: &str = "samples";
pub const PORT_BYPASS: &str = "bypass";
pub const PORT_LATENCY: &str = "latency";
pub const PORT_UNDERRUNS: &str = "underruns";

/// One channel: its engine, ring ends and dry delay line.
struct Channel {
    engine: Engine,
    input: HeapProd<f32>,
    output: HeapCons<f32>,
    /// Dry delay line of length `latency` (circular).
    dry: Vec<f32>,
    dry_pos: usize,
    /// Index (in the wet stream) of the next wet sample the ring holds.
    wet_next: u64,
}

struct RestoreGrad {
    channels: usize,
    rate: u32,
    model: Model,
    samples: usize,
    /// The `samples` value asked for on the port (applied at the next `activate`).
    samples_wanted: usize,
    chans: Vec<Channel>,
    /// Reported latency L (host-rate samples).
    latency: usize,
    /// Safety margin S: output t is wet sample t - S.
    safety: usize,
    /// Samples processed since activation.
    t: u64,
    underruns: u64,
    /// Last values sent to the workers.
    sent_atten: f32,
    sent_steps: f32,
    sent_bypass: f32,
    bypass: bool,
}

fn safety_ms() -> f64 {
    std::env::var("RESTOREGRAD_LADSPA_SAFETY_MS").ok().and_then(|v| v.trim().parse::<f64>().ok()).filter(|v| v.is_finite() && *v >= 0.0 && *v <= 2000.0).unwrap_or(SAFETY_MS)
}

impl RestoreGrad {
    fn new(channels: usize, rate: u64) -> anyhow::Result<Self> {
        anyhow::ensure!(RATES.contains(&rate), "sample rate {rate} Hz is outside 8000..=192000");
        let model = Model::shipped()?;
        let mut p = Self {
            channels,
            rate: rate as u32,
            model,
            samples: 2,
            samples_wanted: 2,
            chans: Vec::with_capacity(channels),
            latency: 0,
            safety: 0,
            t: 0,
            underruns: 0,
            sent_atten: 0.0,
            sent_steps: 1.0,
            sent_bypass: 0.0,
            bypass: false,
        };
        p.start_engines()?;
        Ok(p)
    }

    /// (Re)starts one engine per channel and resets all stream state. Allocates: only from
    /// `instantiate` and `activate`.
    fn start_engines(&mut self) -> anyhow::Result<()> {
        self.chans.clear(); // drops (stops and joins) the old workers
        let streamer = StreamerConfig::default().with_stft(self.model.config.stft());
        let cfg = EngineConfig { streamer, ..EngineConfig::default() };
        let chunk16 = streamer.chunk_frames * streamer.stft.hop;
        let rate = self.rate;
        for _ in 0..self.channels {
            let den: Box<dyn ChunkDenoiser> = Box::new(self.model.enhancer(0).with_samples(self.samples));
            let (engine, ends) = Engine::start(den, cfg, rate, rate)?;
            let lat = engine.latency();
            let chunk_out = (chunk16 as f64 * rate as f64 / restoregrad::MODEL_RATE as f64).ceil() as usize;
            let safety = lat.buffering_out + chunk_out + (safety_ms() / 1000.0 * rate as f64).round() as usize;
            self.safety = safety;
            self.latency = lat.total_out + safety;
            self.chans.push(Channel {
                engine,
                input: ends.input,
                output: ends.output,
                dry: vec![0.0; self.latency.max(1)],
                dry_pos: 0,
                wet_next: 0,
            });
        }
        self.t = 0;
        self.underruns = 0;
        // The workers start with the defaults (no attenuation limit, 1 step, no bypass): nothing
        // to send until the host changes a value. One message now makes the (unbounded, list)
        // control channel allocate its first block here rather than on the audio thread.
        self.send_all(Control::SetBypass(false));
        self.sent_atten = 0.0;
        self.sent_steps = 1.0;
        self.sent_bypass = 0.0;
        self.bypass = false;
        Ok(())
    }

    fn send_all(&self, c: Control) {
        for ch in &self.chans {
            ch.engine.send(c);
        }
    }

    /// Sends changed control values to the workers (a send may allocate: only on change).
    fn controls(&mut self, atten: f32, steps: f32, samples: f32, bypass: f32) {
        let atten = if atten.is_finite() { atten.clamp(0.0, 100.0) } else { 0.0 };
        if atten != self.sent_atten {
            self.sent_atten = atten;
            self.send_all(Control::SetAttenLimDb(if atten > 0.0 { Some(atten) } else { None }));
        }
        let steps = if steps.is_finite() { steps.round().clamp(1.0, 6.0) } else { 1.0 };
        if steps != self.sent_steps {
            self.sent_steps = steps;
            self.send_all(Control::SetSteps(steps as usize));
        }
        let b = if bypass > 0.0 { 1.0 } else { 0.0 };
        if b != self.sent_bypass {
            self.sent_bypass = b;
            self.bypass = b > 0.0;
            self.send_all(Control::SetBypass(self.bypass));
        }
        self.samples_wanted = if samples.is_finite() && samples < 1.5 { 1 } else { 2 };
    }

    /// The real-time part for one channel: no allocation, lock, syscall or panic.
    fn process(&mut self, c: usize, input: &[f32], out: &mut [f32]) {
        let (safety, t0, bypass) = (self.safety as u64, self.t, self.bypass);
        let Some(ch) = self.chans.get_mut(c) else {
            // Only after a failed restart in `activate`: silence, never a panic.
            out.fill(0.0);
            return;
        };
        // Feed the worker. Input the ring cannot take is lost; the wet stream then lacks as
        // many samples, so its index moves on by as many to stay aligned.
        let pushed = ch.input.push_slice(input);
        let dropped = (input.len() - pushed) as u64;
        let n = input.len().min(out.len());
        let len = ch.dry.len();
        let mut underruns = 0u64;
        for i in 0..n {
            let x = input[i];
            let d = ch.dry[ch.dry_pos];
            ch.dry[ch.dry_pos] = x;
            ch.dry_pos += 1;
            if ch.dry_pos == len {
                ch.dry_pos = 0;
            }
            let t = t0 + i as u64;
            let y = if t < safety {
                d
            } else {
                let need = t - safety;
                if ch.wet_next < need {
                    let k = ch.output.skip(((need - ch.wet_next) as usize).min(ch.output.occupied_len()));
                    ch.wet_next += k as u64;
                }
                let w = if ch.wet_next == need { ch.output.try_pop() } else { None };
                match w {
                    Some(w) => {
                        ch.wet_next += 1;
                        if bypass { d } else { w }
                    }
                    None => {
                        underruns += 1;
                        d
                    }
                }
            };
            out[i] = if y.is_finite() { y } else { d };
        }
        // Input samples lost at the ring: their wet samples will never come.
        if dropped > 0 {
            ch.wet_next += dropped; // approximate: the gap is in the middle of the queued stream
        }
        self.underruns += underruns;
    }
}

impl Plugin for RestoreGrad {
    fn activate(&mut self) {
        if self.t > 0 || self.samples_wanted != self.samples {
            self.samples = self.samples_wanted;
            // activate may allocate; on failure keep the old engines (stream state reset below).
            if self.start_engines().is_err() {
                self.t = 0;
            }
        }
    }

    fn run<'a>(&mut self, sample_count: usize, ports: &[&'a PortConnection<'a>]) {
        let nc = self.channels;
        let ctl = 2 * nc;
        if ports.len() < ctl + 6 {
            return;
        }
        let atten = *ports[ctl].unwrap_control();
        let steps = *ports[ctl + 1].unwrap_control();
        let samples = *ports[ctl + 2].unwrap_control();
        let bypass = *ports[ctl + 3].unwrap_control();
        self.controls(atten, steps, samples, bypass);
        for c in 0..nc {
            let input = ports[c].unwrap_audio();
            let mut out = ports[nc + c].unwrap_audio_mut();
            let n = sample_count.min(input.len()).min(out.len());
            self.process(c, &input[..n], &mut out[..n]);
        }
        self.t += sample_count as u64;
        **ports[ctl + 4].unwrap_control_mut() = self.latency as Data;
        **ports[ctl + 5].unwrap_control_mut() = self.underruns.min(1 << 24) as Data;
    }

    fn deactivate(&mut self) {}
}

fn new_mono(_: &PluginDescriptor, rate: u64) -> Box<dyn Plugin + Send> {
    // A panic here is caught by the ladspa crate and makes `instantiate` return NULL.
    Box::new(RestoreGrad::new(1, rate).unwrap_or_else(|e| panic!("restoregrad: {e:#}")))
}

fn new_stereo(_: &PluginDescriptor, rate: u64) -> Box<dyn Plugin + Send> {
    Box::new(RestoreGrad::new(2, rate).unwrap_or_else(|e| panic!("restoregrad: {e:#}")))
}

fn audio(name: &'static str, desc: PortDescriptor) -> Port {
    Port { name, desc, ..Default::default() }
}

fn control_ports() -> Vec<Port> {
    vec![
        Port {
            name: PORT_ATTEN,
            desc: PortDescriptor::ControlInput,
            hint: None,
            default: Some(DefaultValue::Minimum),
            lower_bound: Some(0.0),
            upper_bound: Some(100.0),
        },
        Port {
            name: PORT_STEPS,
            desc: PortDescriptor::ControlInput,
            hint: Some(ladspa::HINT_INTEGER),
            default: Some(DefaultValue::Minimum),
            lower_bound: Some(1.0),
            upper_bound: Some(6.0),
        },
        Port {
            name: PORT_SAMPLES,
            desc: PortDescriptor::ControlInput,
            hint: Some(ladspa::HINT_INTEGER),
            default: Some(DefaultValue::Maximum),
            lower_bound: Some(1.0),
            upper_bound: Some(2.0),
        },
        Port {
            name: PORT_BYPASS,
            desc: PortDescriptor::ControlInput,
            hint: Some(ladspa::HINT_TOGGLED),
            default: Some(DefaultValue::Value0),
            lower_bound: None,
            upper_bound: None,
        },
        Port { name: PORT_LATENCY, desc: PortDescriptor::ControlOutput, ..Default::default() },
        Port { name: PORT_UNDERRUNS, desc: PortDescriptor::ControlOutput, ..Default::default() },
    ]
}

/// The plugin descriptors: 0 mono, 1 stereo.
#[no_mangle]
#[allow(improper_ctypes_definitions)] // the ladspa crate declares it with this Rust type
pub extern "C" fn get_ladspa_descriptor(index: u64) -> Option<PluginDescriptor> {
    match index {
        0 => {
            let mut ports = vec![audio("in", PortDescriptor::AudioInput), audio("out", PortDescriptor::AudioOutput)];
            ports.extend(control_ports());
            Some(PluginDescriptor {
                unique_id: 0x52_4701,
                label: LABEL_MONO,
                properties: ladspa::PROP_REALTIME,
                name: "restoregrad speech enhancement (mono)",
                maker: "restoregrad",
                copyright: "MIT OR Apache-2.0",
                ports,
                new: new_mono,
            })
        }
        1 => {
            let mut ports = vec![
                audio("in left", PortDescriptor::AudioInput),
                audio("in right", PortDescriptor::AudioInput),
                audio("out left", PortDescriptor::AudioOutput),
                audio("out right", PortDescriptor::AudioOutput),
            ];
            ports.extend(control_ports());
            Some(PluginDescriptor {
                unique_id: 0x52_4702,
                label: LABEL_STEREO,
                properties: ladspa::PROP_REALTIME,
                name: "restoregrad speech enhancement (stereo)",
                maker: "restoregrad",
                copyright: "MIT OR Apache-2.0",
                ports,
                new: new_stereo,
            })
        }
        _ => None,
    }
}
