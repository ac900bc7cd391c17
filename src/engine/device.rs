//! Audio devices through cpal (feature `live`): listing, selection by name or index, and a
//! [`LiveSession`] that connects an input and an output stream to the threaded [`Engine`].
//!
//! The callbacks follow the real-time rules: the input callback downmixes into the engine's input
//! ring; the output callback copies out of the output ring, duplicating mono to every channel.
//! Both only touch preallocated buffers and atomics: no allocation, lock, log or panic.
//!
//! On an output underrun the callback plays the dry input in its place (silence before the first
//! output, or when the two devices run at different rates) and counts it; the dry signal runs
//! through its own ring, pre-filled with the engine's delay so it lines up with the wet signal.
//! The late wet samples are then kept, so the output latency grows by the underrun (an adaptive
//! jitter buffer, as DeepFilterNet's LADSPA plugin does), up to
//! [`LiveOptions::max_extra_latency_ms`]; past that, late wet samples are skipped instead so the
//! latency stays bounded.
//! Stream errors (device unplugged, invalidated stream) stop the session with the reason; xruns
//! reported by the host are counted.

use super::threaded::{Engine, EngineConfig, EngineStats, RingEnds, SharedCounters};
use crate::model::ChunkDenoiser;
use anyhow::{bail, Context};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, Sample, SampleFormat, SizedSample};
use crossbeam_channel::{Receiver, Sender};
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A device's default stream configuration in one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultStreamConfig {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Channel count.
    pub channels: u16,
    /// Sample format, as cpal names it (e.g. `f32`, `i16`).
    pub sample_format: String,
}

/// One audio device as `restoregrad devices` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Position in the host's device list (what `--input N` / `--output N` select).
    pub index: usize,
    /// Human-readable name (what `--input NAME` matches).
    pub name: String,
    /// The host's stable device id, if it has one.
    pub id: Option<String>,
    /// Default input configuration (None: not an input device, or it cannot be queried).
    pub input: Option<DefaultStreamConfig>,
    /// Default output configuration.
    pub output: Option<DefaultStreamConfig>,
    /// Whether this is the host's default input device.
    pub is_default_input: bool,
    /// Whether this is the host's default output device.
    pub is_default_output: bool,
}

fn stream_cfg(c: &cpal::SupportedStreamConfig) -> DefaultStreamConfig {
    DefaultStreamConfig {
        sample_rate: c.sample_rate(),
        channels: c.channels(),
        sample_format: c.sample_format().to_string(),
    }
}

fn same_device(a: &Option<cpal::Device>, b: &cpal::Device) -> bool {
    a.as_ref().is_some_and(|a| a == b)
}

/// Lists the default host's devices with their default configurations.
pub fn list_devices() -> anyhow::Result<Vec<DeviceInfo>> {
    let host = cpal::default_host();
    let def_in = host.default_input_device();
    let def_out = host.default_output_device();
    let devices = host.devices().context("cannot enumerate audio devices")?;
    Ok(devices
        .enumerate()
        .map(|(index, d)| DeviceInfo {
            index,
            name: d.to_string(),
            id: d.id().ok().map(|i| i.to_string()),
            input: d.default_input_config().ok().map(|c| stream_cfg(&c)),
            output: d.default_output_config().ok().map(|c| stream_cfg(&c)),
            is_default_input: same_device(&def_in, &d),
            is_default_output: same_device(&def_out, &d),
        })
        .collect())
}

/// Finds a device: `None` picks the host default; a number is an index into the device list; any
/// other text matches a device name exactly, then its id, then a unique case-insensitive
/// substring of a name.
fn select_device(host: &cpal::Host, sel: Option<&str>, input: bool) -> anyhow::Result<cpal::Device> {
    let dir = if input { "input" } else { "output" };
    let Some(sel) = sel else {
        let d = if input { host.default_input_device() } else { host.default_output_device() };
        return d.with_context(|| {
            format!("no default {dir} device (see `restoregrad devices`, then pass --{dir} NAME|INDEX)")
        });
    };
    let devices: Vec<cpal::Device> = host.devices().context("cannot enumerate audio devices")?.collect();
    let names: Vec<String> = devices.iter().map(|d| d.to_string()).collect();
    let pick = if let Ok(i) = sel.trim().parse::<usize>() {
        match devices.get(i) {
            Some(d) => d.clone(),
            None => {
                bail!("no {dir} device with index {i}: there are {} devices (see `restoregrad devices`)", devices.len())
            }
        }
    } else if let Some(i) = names.iter().position(|n| n == sel) {
        devices[i].clone()
    } else if let Some(d) = devices.iter().find(|d| d.id().is_ok_and(|id| id.to_string() == sel)) {
        d.clone()
    } else {
        let low = sel.to_lowercase();
        let hits: Vec<usize> = (0..names.len()).filter(|&i| names[i].to_lowercase().contains(&low)).collect();
        match hits.as_slice() {
            [i] => devices[*i].clone(),
            [] => bail!("unknown {dir} device {sel:?}; available: {}", names.join(", ")),
            many => bail!(
                "{dir} device {sel:?} is ambiguous: {}",
                many.iter().map(|&i| format!("{i}: {}", names[i])).collect::<Vec<_>>().join(", ")
            ),
        }
    };
    Ok(pick)
}

/// Selection and settings of a live session.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    /// Input device name or index (`None`: the default input).
    pub input: Option<String>,
    /// Output device name or index (`None`: the default output).
    pub output: Option<String>,
    /// Engine settings.
    pub engine: EngineConfig,
    /// Most the output latency may grow through underruns before late samples are skipped
    /// instead (milliseconds; `None`: 100).
    pub max_extra_latency_ms: Option<f32>,
}

/// A running live session: two cpal streams around an [`Engine`].
pub struct LiveSession {
    engine: Engine,
    _input: cpal::Stream,
    _output: cpal::Stream,
    errors: Receiver<String>,
    xruns: Arc<AtomicU64>,
    /// Input device name.
    pub input_name: String,
    /// Output device name.
    pub output_name: String,
    /// Input stream configuration in use.
    pub input_config: DefaultStreamConfig,
    /// Output stream configuration in use.
    pub output_config: DefaultStreamConfig,
    /// Samples the output waits for before it starts (jitter buffer), at the output rate.
    pub prefill: usize,
}

/// Largest block the callbacks handle in one piece (longer host buffers are split).
const SCRATCH: usize = 8192;

impl LiveSession {
    /// Opens the devices, builds and warms the engine, then starts both streams.
    ///
    /// Errors: no (default) device, unknown or ambiguous name, bad index, an unsupported sample
    /// format, or a stream that cannot be built or started.
    pub fn start(denoiser: Box<dyn ChunkDenoiser>, opts: &LiveOptions) -> anyhow::Result<Self> {
        let host = cpal::default_host();
        let in_dev = select_device(&host, opts.input.as_deref(), true)?;
        let out_dev = select_device(&host, opts.output.as_deref(), false)?;
        let in_name = in_dev.to_string();
        let out_name = out_dev.to_string();
        let in_sup = in_dev
            .default_input_config()
            .with_context(|| format!("input device {in_name:?} has no usable input configuration"))?;
        let mut out_sup = out_dev
            .default_output_config()
            .with_context(|| format!("output device {out_name:?} has no usable output configuration"))?;
        // Prefer the input's rate on the output too (no drift between resamplers, dry fallback).
        if out_sup.sample_rate() != in_sup.sample_rate() {
            if let Ok(ranges) = out_dev.supported_output_configs() {
                let want = in_sup.sample_rate();
                if let Some(r) = ranges
                    .filter(|r| r.sample_format() == out_sup.sample_format())
                    .find(|r| r.min_sample_rate() <= want && want <= r.max_sample_rate())
                {
                    out_sup = r.with_sample_rate(want);
                }
            }
        }
        let in_rate = in_sup.sample_rate();
        let out_rate = out_sup.sample_rate();
        let (engine, ends) = Engine::start(denoiser, opts.engine, in_rate, out_rate)?;
        let RingEnds { input, output, prefill } = ends;
        // Dry path for underruns, delayed by the engine's latency (only when rates match).
        let dry = if in_rate == out_rate {
            let cap = engine.latency().total_out + prefill + 4 * SCRATCH + in_rate as usize;
            let (mut p, c) = HeapRb::<f32>::new(cap).split();
            for _ in 0..engine.latency().total_out {
                let _ = p.try_push(0.0);
            }
            Some((p, c))
        } else {
            None
        };
        let (dry_p, dry_c) = match dry {
            Some((p, c)) => (Some(p), Some(c)),
            None => (None, None),
        };
        let (err_tx, errors) = crossbeam_channel::bounded(16);
        let xruns = Arc::new(AtomicU64::new(0));
        let counters = engine.counters().clone();

        let in_stream = build_input(&in_dev, &in_sup, input, dry_p, counters.clone(), err_tx.clone(), xruns.clone())
            .with_context(|| format!("cannot open input stream on {in_name:?}"))?;
        let max_grow = (opts.max_extra_latency_ms.unwrap_or(100.0).max(0.0) / 1000.0 * out_rate as f32) as usize;
        let out_stream =
            build_output(&out_dev, &out_sup, output, dry_c, (prefill, max_grow), counters, err_tx, xruns.clone())
                .with_context(|| format!("cannot open output stream on {out_name:?}"))?;
        out_stream.play().with_context(|| format!("cannot start output stream on {out_name:?}"))?;
        in_stream.play().with_context(|| format!("cannot start input stream on {in_name:?}"))?;
        Ok(Self {
            engine,
            _input: in_stream,
            _output: out_stream,
            errors,
            xruns,
            input_name: in_name,
            output_name: out_name,
            input_config: stream_cfg(&in_sup),
            output_config: stream_cfg(&out_sup),
            prefill,
        })
    }

    /// The engine (controls, stats, latency).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The first pending stream error, if any (the session should then be stopped).
    pub fn poll_error(&self) -> Option<String> {
        self.errors.try_recv().ok()
    }

    /// Xruns the host reported through the error callbacks.
    pub fn host_xruns(&self) -> u64 {
        self.xruns.load(Ordering::Relaxed)
    }

    /// Stops the streams and the worker; returns the final stats.
    pub fn stop(self) -> anyhow::Result<EngineStats> {
        let Self { engine, _input, _output, .. } = self;
        let _ = _input.pause();
        let _ = _output.pause();
        drop(_input);
        drop(_output);
        engine.stop()
    }
}

fn error_callback(
    dir: &'static str,
    tx: Sender<String>,
    xruns: Arc<AtomicU64>,
    counters: Arc<SharedCounters>,
) -> impl FnMut(cpal::Error) + Send + 'static {
    move |e: cpal::Error| match e.kind() {
        cpal::ErrorKind::Xrun => {
            xruns.fetch_add(1, Ordering::Relaxed);
        }
        cpal::ErrorKind::DeviceChanged | cpal::ErrorKind::RealtimeDenied => {}
        _ => {
            let _ = tx.try_send(format!("{dir} stream error: {e}"));
            counters.stop.store(true, Ordering::SeqCst);
        }
    }
}

/// Expands `$go!(T)` with the Rust sample type of cpal format `$fmt`, or an "unsupported" error:
/// the one place that lists the formats both stream directions accept.
macro_rules! with_sample_type {
    ($fmt:expr, $go:ident) => {
        match $fmt {
            SampleFormat::F32 => $go!(f32),
            SampleFormat::F64 => $go!(f64),
            SampleFormat::I8 => $go!(i8),
            SampleFormat::I16 => $go!(i16),
            SampleFormat::I32 => $go!(i32),
            SampleFormat::U8 => $go!(u8),
            SampleFormat::U16 => $go!(u16),
            SampleFormat::U32 => $go!(u32),
            f => Err(unsupported(f)),
        }
    };
}

fn unsupported(fmt: SampleFormat) -> anyhow::Error {
    anyhow::anyhow!("unsupported sample format {fmt} (supported: f32, f64, i8, i16, i32, u8, u16, u32)")
}

fn build_input(
    dev: &cpal::Device,
    sup: &cpal::SupportedStreamConfig,
    ring: HeapProd<f32>,
    dry: Option<HeapProd<f32>>,
    counters: Arc<SharedCounters>,
    err_tx: Sender<String>,
    xruns: Arc<AtomicU64>,
) -> anyhow::Result<cpal::Stream> {
    macro_rules! go {
        ($t:ty) => {
            build_input_typed::<$t>(dev, sup.config(), ring, dry, counters, err_tx, xruns)
        };
    }
    with_sample_type!(sup.sample_format(), go)
}

fn build_input_typed<T>(
    dev: &cpal::Device,
    config: cpal::StreamConfig,
    mut ring: HeapProd<f32>,
    mut dry: Option<HeapProd<f32>>,
    counters: Arc<SharedCounters>,
    err_tx: Sender<String>,
    xruns: Arc<AtomicU64>,
) -> anyhow::Result<cpal::Stream>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let ch = config.channels.max(1) as usize;
    let scale = 1.0 / ch as f32;
    let mut mono = vec![0.0f32; SCRATCH];
    let cb_counters = counters.clone();
    let data = move |data: &[T], _: &cpal::InputCallbackInfo| {
        for block in data.chunks(SCRATCH * ch) {
            let frames = block.len() / ch;
            for (m, f) in mono[..frames].iter_mut().zip(block.chunks_exact(ch)) {
                *m = f.iter().map(|&s| f32::from_sample(s)).sum::<f32>() * scale;
            }
            let n = ring.push_slice(&mono[..frames]);
            if n < frames {
                cb_counters.input_overrun_samples.fetch_add((frames - n) as u64, Ordering::Relaxed);
            }
            if let Some(d) = dry.as_mut() {
                d.push_slice(&mono[..frames]);
            }
        }
    };
    Ok(dev.build_input_stream::<T, _, _>(config, data, error_callback("input", err_tx, xruns, counters), None)?)
}

#[allow(clippy::too_many_arguments)]
fn build_output(
    dev: &cpal::Device,
    sup: &cpal::SupportedStreamConfig,
    ring: HeapCons<f32>,
    dry: Option<HeapCons<f32>>,
    prefill_grow: (usize, usize),
    counters: Arc<SharedCounters>,
    err_tx: Sender<String>,
    xruns: Arc<AtomicU64>,
) -> anyhow::Result<cpal::Stream> {
    macro_rules! go {
        ($t:ty) => {
            build_output_typed::<$t>(dev, sup.config(), ring, dry, prefill_grow, counters, err_tx, xruns)
        };
    }
    with_sample_type!(sup.sample_format(), go)
}

#[allow(clippy::too_many_arguments)]
fn build_output_typed<T>(
    dev: &cpal::Device,
    config: cpal::StreamConfig,
    mut ring: HeapCons<f32>,
    mut dry: Option<HeapCons<f32>>,
    (prefill, max_grow): (usize, usize),
    counters: Arc<SharedCounters>,
    err_tx: Sender<String>,
    xruns: Arc<AtomicU64>,
) -> anyhow::Result<cpal::Stream>
where
    T: SizedSample + FromSample<f32>,
{
    let ch = config.channels.max(1) as usize;
    let mut wet = vec![0.0f32; SCRATCH];
    let mut dry_buf = vec![0.0f32; SCRATCH];
    let mut started = false;
    // Latency added by underruns so far, and wet samples owed once that budget is spent (skipped
    // when they arrive, so the delay stops growing).
    let mut grown = 0usize;
    let mut debt = 0usize;
    let cb_counters = counters.clone();
    let data = move |data: &mut [T], _: &cpal::OutputCallbackInfo| {
        for block in data.chunks_mut(SCRATCH * ch) {
            let frames = block.len() / ch;
            if !started && ring.occupied_len() >= prefill {
                started = true;
            }
            if !started {
                block.iter_mut().for_each(|s| *s = T::EQUILIBRIUM);
                continue;
            }
            if debt > 0 {
                debt -= ring.skip(debt);
            }
            let n = if debt == 0 { ring.pop_slice(&mut wet[..frames]) } else { 0 };
            let gap = frames - n;
            // The dry samples that line up with the wet ones just played are consumed.
            let d = dry.as_mut().map_or(0, |c| c.pop_slice(&mut dry_buf[..n]));
            dry_buf[d..n].iter_mut().for_each(|x| *x = 0.0);
            if gap > 0 {
                cb_counters.output_underruns.fetch_add(1, Ordering::Relaxed);
                cb_counters.output_underrun_samples.fetch_add(gap as u64, Ordering::Relaxed);
                let g = if grown + gap <= max_grow {
                    // Grow the latency: play the dry samples without consuming them, so the dry
                    // ring stays aligned with the wet samples that will now come later.
                    grown += gap;
                    dry.as_ref().map_or(0, |c| c.peek_slice(&mut dry_buf[n..frames]))
                } else {
                    debt += gap;
                    dry.as_mut().map_or(0, |c| c.pop_slice(&mut dry_buf[n..frames]))
                };
                dry_buf[n + g..frames].iter_mut().for_each(|x| *x = 0.0);
                wet[n..frames].copy_from_slice(&dry_buf[n..frames]);
            }
            for (f, &v) in block.chunks_exact_mut(ch).zip(&wet[..frames]) {
                let s = T::from_sample(v.clamp(-1.0, 1.0));
                f.iter_mut().for_each(|o| *o = s);
            }
        }
    };
    Ok(dev.build_output_stream::<T, _, _>(config, data, error_callback("output", err_tx, xruns, counters), None)?)
}
