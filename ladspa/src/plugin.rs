//! The plugin instance, host-independent: what the LADSPA entry points ([`crate::ffi`]) call,
//! and what benches drive directly.

use std::sync::Arc;
use std::time::{Duration, Instant};

use restoregrad::Model;
use ringbuf::traits::{Consumer, Observer, Producer};
use ringbuf::{HeapCons, HeapProd};

use crate::worker::{Ends, Settings, Shared, Worker};

/// Default safety margin for the worker, in milliseconds at any host rate (see the crate docs).
pub const SAFETY_MS: f64 = 30.0;
/// Environment variable that overrides [`SAFETY_MS`] (read at instantiation; 0 to 2000).
pub const SAFETY_ENV: &str = "RESTOREGRAD_LADSPA_SAFETY_MS";
/// Lowest and highest host rate accepted (Hz).
pub const RATES: std::ops::RangeInclusive<u64> = 8_000..=192_000;
/// Most channels an instance runs.
pub const MAX_CHANNELS: usize = 2;
/// Capacity of each ring, in milliseconds of host-rate audio: more than the largest block
/// (8192 frames at 8 kHz is 1024 ms) plus the latency.
const RING_MS: f64 = 3000.0;
/// Audio streamed through a bypassed pipeline at instantiation to find its structural lag:
/// several periods of the resamplers' and the chunk's block pattern.
const LAG_PROBE_SECS: f64 = 0.5;
/// How long an offline `run` waits for a worker that makes no progress before it gives up and
/// plays the dry input (a dead worker must not hang the host).
const OFFLINE_GIVE_UP: Duration = Duration::from_secs(10);

/// One channel: its worker, ring ends and dry delay line.
struct Channel {
    worker: Worker,
    input: HeapProd<f32>,
    output: HeapCons<f32>,
    /// Dry delay line of length `latency` (circular).
    dry: Vec<f32>,
    dry_pos: usize,
    /// Index (in the wet stream) of the next wet sample the ring holds.
    wet_next: u64,
    /// Input samples pushed into the ring since activation.
    pushed: u64,
}

/// A plugin instance: one worker per channel, constant latency, dry fallback on underrun.
pub struct Instance {
    channels: usize,
    rate: u32,
    model: Model,
    shared: Arc<Shared>,
    chans: Vec<Channel>,
    /// Reported latency `L` (host-rate samples).
    latency: usize,
    /// Safety margin `S`: output `t` is wet sample `t - S`.
    safety: usize,
    /// Samples processed since activation.
    t: u64,
    /// Output samples played dry because the wet sample was not there.
    underruns: u64,
    bypass: bool,
}

/// The safety margin in milliseconds: [`SAFETY_ENV`] if set and valid, else [`SAFETY_MS`].
pub fn safety_ms() -> f64 {
    std::env::var(SAFETY_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && (0.0..=2000.0).contains(v))
        .unwrap_or(SAFETY_MS)
}

impl Instance {
    /// Loads the shipped model and starts one worker per channel at host rate `rate`.
    pub fn new(channels: usize, rate: u64) -> anyhow::Result<Self> {
        anyhow::ensure!(RATES.contains(&rate), "sample rate {rate} Hz is outside 8000..=192000");
        anyhow::ensure!((1..=MAX_CHANNELS).contains(&channels), "{channels} channels is outside 1..={MAX_CHANNELS}");
        let mut p = Self {
            channels,
            rate: rate as u32,
            model: Model::shipped()?,
            shared: Arc::new(Shared::new(Settings::default())),
            chans: Vec::with_capacity(channels),
            latency: 0,
            safety: 0,
            t: 0,
            underruns: 0,
            bypass: false,
        };
        p.start_workers()?;
        Ok(p)
    }

    /// (Re)starts one worker per channel and resets all stream state. Allocates: only from
    /// `instantiate` and `activate`.
    fn start_workers(&mut self) -> anyhow::Result<()> {
        self.chans.clear(); // drops (stops and joins) the old workers
        let lag = crate::worker::structural_lag(&self.model, self.rate, LAG_PROBE_SECS)?;
        for _ in 0..self.channels {
            let (worker, Ends { input, output }, lat) = Worker::start(&self.model, self.rate, self.shared.clone(), RING_MS)?;
            self.safety = lag + (safety_ms() / 1000.0 * self.rate as f64).round() as usize;
            self.latency = lat.total_out + self.safety;
            // Written once here, not only zeroed, so that `run` takes no page faults on it.
            let mut dry = vec![0.0; self.latency.max(1)];
            dry.iter_mut().for_each(|v| *v = std::hint::black_box(0.0));
            self.chans.push(Channel { worker, input, output, dry, dry_pos: 0, wet_next: 0, pushed: 0 });
        }
        self.t = 0;
        self.underruns = 0;
        Ok(())
    }

    /// Restarts the stream after the host used the instance (allocates; never called from `run`).
    pub fn activate(&mut self) {
        if self.t > 0 && self.start_workers().is_err() {
            self.chans.clear(); // `run` then outputs silence
        }
    }

    /// The constant latency in host-rate samples (the `latency` port).
    pub fn latency(&self) -> usize {
        self.latency
    }

    /// Output samples played dry since activation because the wet sample was late (the
    /// `underruns` port; summed over channels).
    pub fn underruns(&self) -> u64 {
        self.underruns
    }

    /// Channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The longest single pipeline call of any worker so far (benches).
    pub fn max_worker_call(&self) -> Duration {
        let ns = self.chans.iter().map(|c| c.worker.progress().max_process_ns.load(std::sync::atomic::Ordering::Relaxed)).max();
        Duration::from_nanos(ns.unwrap_or(0))
    }

    /// Publishes control values to the workers: atomic stores only (real-time safe).
    pub fn set_controls(&mut self, s: Settings) {
        self.bypass = s.bypass;
        self.shared.publish(s);
    }

    /// Processes one block: `inputs[c]` and `outputs[c]` per channel, all `n` long.
    ///
    /// With `offline` false (the real-time default) this only copies between the rings and the
    /// delay lines: no allocation, lock, syscall, sleep or panic. With `offline` true it first
    /// waits until the workers have computed every wet sample the block needs (for hosts that
    /// run faster than real time: applyplugin, Audacity); it then blocks and makes syscalls.
    pub fn run(&mut self, inputs: &[&[f32]], outputs: &mut [&mut [f32]], offline: bool) {
        let n = inputs.iter().map(|b| b.len()).chain(outputs.iter().map(|o| o.len())).min().unwrap_or(0);
        let nc = self.channels.min(inputs.len()).min(outputs.len());
        for (c, input) in inputs.iter().enumerate().take(nc) {
            self.feed(c, &input[..n]);
        }
        if offline {
            self.wait_for_workers(n);
        }
        for c in 0..nc {
            self.play(c, &inputs[c][..n], &mut outputs[c][..n]);
        }
        self.t += n as u64;
    }

    fn feed(&mut self, c: usize, input: &[f32]) {
        let Some(ch) = self.chans.get_mut(c) else { return };
        // Input the ring cannot take is lost; its wet samples will never come, so the wet
        // index moves on by as many (approximately: the gap is inside the queued stream).
        let pushed = ch.input.push_slice(input);
        ch.wet_next += (input.len() - pushed) as u64;
        ch.pushed += pushed as u64;
    }

    /// Offline hosts: waits until every channel's ring holds the wet samples this block of `n`
    /// needs, or its worker has processed all the input it got.
    fn wait_for_workers(&self, n: usize) {
        let end = self.t + n as u64;
        let need_to = end.saturating_sub(self.safety as u64); // wet indices below this
        let mut last_progress = Instant::now();
        for ch in &self.chans {
            let mut last = u64::MAX;
            loop {
                let have = ch.wet_next + ch.output.occupied_len() as u64;
                let consumed = ch.worker.progress().consumed.load(std::sync::atomic::Ordering::Acquire);
                if have >= need_to || consumed >= ch.pushed || ch.worker.is_finished() {
                    break;
                }
                if consumed != last {
                    last = consumed;
                    last_progress = Instant::now();
                } else if last_progress.elapsed() > OFFLINE_GIVE_UP {
                    break;
                }
                ch.worker.wake();
                std::thread::sleep(Duration::from_micros(50));
            }
        }
    }

    /// The real-time part for one channel: no allocation, lock, syscall or panic.
    fn play(&mut self, c: usize, input: &[f32], out: &mut [f32]) {
        let (safety, t0, bypass) = (self.safety as u64, self.t, self.bypass);
        let Some(ch) = self.chans.get_mut(c) else {
            // Only after a failed restart in `activate`: silence, never a panic.
            out.fill(0.0);
            return;
        };
        // Output `t` is wet sample `t - safety`; the first `first` outputs come before wet 0.
        let n = input.len().min(out.len());
        let first = safety.saturating_sub(t0).min(n as u64) as usize;
        let missing = if first < n { ch.align(t0 + first as u64 - safety) } else { 0 };
        let (wet, len) = (ch.output.as_slices(), ch.dry.len());
        let (mut used, mut underruns) = (0usize, 0u64);
        for i in 0..n {
            let d = std::mem::replace(&mut ch.dry[ch.dry_pos], input[i]);
            ch.dry_pos = if ch.dry_pos + 1 == len { 0 } else { ch.dry_pos + 1 };
            let w = match (i - first.min(i)).checked_sub(missing) {
                _ if i < first => None,
                Some(k) => wet.0.get(k).or_else(|| wet.1.get(k - wet.0.len())).inspect(|_| used = k + 1),
                None => None,
            };
            out[i] = match w {
                Some(&w) if w.is_finite() && !bypass => w,
                Some(_) => d,
                None => {
                    underruns += u64::from(i >= first);
                    d
                }
            };
        }
        ch.output.skip(used);
        ch.wet_next += used as u64;
        self.underruns += underruns;
    }
}

impl Channel {
    /// Drops queued wet samples older than `need`; returns how many wet samples from `need` on
    /// are known to be missing (lost to a full ring), which play dry.
    fn align(&mut self, need: u64) -> usize {
        if self.wet_next < need {
            let k = self.output.skip(((need - self.wet_next) as usize).min(self.output.occupied_len()));
            self.wet_next += k as u64;
        }
        if self.wet_next < need {
            return usize::MAX; // the ring ran empty before `need`: every sample of this block is late
        }
        (self.wet_next - need) as usize
    }
}
