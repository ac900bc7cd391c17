//! The threaded engine: input ring -> worker thread -> output ring, with graceful degradation.
//!
//! ```text
//!  producer (device callback or file feeder)        consumer (device callback or file drain)
//!        | mono, device rate                                   ^ mono, device rate
//!        v                                                     |
//!  [input ring: ringbuf SPSC] --> worker: resample -> 16 kHz -> Streamer -> resample back --> [output ring]
//!                                   ^ Control (crossbeam)       | EngineStats (crossbeam)
//! ```
//!
//! Everything that can fail or allocate (model warm-up, resamplers, ring and scratch buffers)
//! happens in [`Engine::start`], before any audio flows. The worker's loop does not allocate.
//!
//! # Degradation
//!
//! The worker measures its backlog (the input ring's fill, in milliseconds of audio) before each
//! chunk-sized step. Above [`DegradePolicy::reduce_steps_above_ms`] the next chunks run with
//! [`DegradePolicy::reduced_steps`] steps; above [`DegradePolicy::bypass_above_ms`] they are
//! passed through dry (no denoiser call); once the backlog is below
//! [`DegradePolicy::recover_below_ms`] full quality returns. Every degraded or bypassed chunk is
//! counted. Because the streamer switches per STFT frame, transitions are cross-faded by the
//! overlap-add: no clicks.
//!
//! # File mode
//!
//! [`run_file`] drives the very same threads from a file: a feeder thread pushes the samples into
//! the input ring (at real-time pace with `realtime`, otherwise as fast as the ring takes them;
//! it waits when the ring is full and never drops input), and a drain thread pulls the output
//! ring into a sink, dropping the engine's delay ([`Latency::total_out`]) so the result
//! is aligned with the input and has its length.

use super::pipeline::{Aligner, Latency, Pipeline};
use super::streamer::{Degrade, StreamerConfig, StreamerStats};
use crate::model::ChunkDenoiser;
use crate::MODEL_RATE;
use anyhow::Context;
use crossbeam_channel::{Receiver, Sender};
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// When and how the worker trades quality for speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DegradePolicy {
    /// Whether to degrade at all (file mode without `realtime` never degrades).
    pub enabled: bool,
    /// Backlog (ms of input waiting) above which chunks run with fewer steps.
    pub reduce_steps_above_ms: f32,
    /// Backlog above which chunks are bypassed (dry signal, no denoiser call).
    pub bypass_above_ms: f32,
    /// Backlog below which full quality returns.
    pub recover_below_ms: f32,
    /// Steps while reduced; 0 means half the configured steps (at least 1).
    pub reduced_steps: usize,
}

impl Default for DegradePolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            reduce_steps_above_ms: 80.0,
            bypass_above_ms: 200.0,
            recover_below_ms: 30.0,
            reduced_steps: 0,
        }
    }
}

/// Settings of the threaded engine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineConfig {
    /// The streaming core's settings.
    pub streamer: StreamerConfig,
    /// Degradation thresholds.
    pub degrade: DegradePolicy,
    /// Capacity of each ring in milliseconds of device-rate audio (default 2000).
    pub ring_ms: u32,
    /// How often the worker sends an [`EngineStats`] snapshot (default 500 ms).
    pub stats_interval: Duration,
    /// Output the output callback waits for before it starts playing, in milliseconds (default
    /// 10). The worker's first output arrives only after every block and chunk has filled once,
    /// so playback starts at the worst-case lag; this margin covers compute time and callback
    /// jitter on top. The live output grows it adaptively on underruns (see `device`).
    pub safety_ms: f32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            streamer: StreamerConfig::default(),
            degrade: DegradePolicy::default(),
            ring_ms: 2000,
            stats_interval: Duration::from_millis(500),
            safety_ms: 10.0,
        }
    }
}

/// Run-time commands for the worker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Control {
    /// Sets the configured (full-quality) number of reverse steps.
    SetSteps(usize),
    /// Sets the attenuation limit in dB (`None`: unlimited).
    SetAttenLimDb(Option<f32>),
    /// Turns user bypass on or off.
    SetBypass(bool),
    /// Stops the worker (live mode: at once; the final stats follow).
    Stop,
}

/// Counters shared with the device callbacks and feeder/drain threads (lock-free).
#[derive(Debug, Default)]
pub struct SharedCounters {
    /// Input samples dropped because the input ring was full (live input overrun).
    pub input_overrun_samples: AtomicU64,
    /// Output callbacks that found too few samples in the output ring.
    pub output_underruns: AtomicU64,
    /// Output samples filled with the dry signal or silence on underrun.
    pub output_underrun_samples: AtomicU64,
    /// Output samples the worker could not push because the output ring was full.
    pub output_overflow_samples: AtomicU64,
    /// Set by the producer when no more input will come (file mode).
    pub input_done: AtomicBool,
    /// Asks every thread to stop (Ctrl-C, a stream error, or [`Engine::stop`]).
    pub stop: AtomicBool,
    /// Set by the worker when it has pushed its last output.
    pub worker_done: AtomicBool,
}

/// A snapshot of the engine's counters (sent periodically and returned at the end).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EngineStats {
    /// Seconds of input audio the worker has processed.
    pub audio_s: f64,
    /// Seconds the worker spent processing (resampling, STFT, denoiser).
    pub busy_s: f64,
    /// Real-time factor, `busy_s / audio_s` (below 1: faster than real time).
    pub rtf: f64,
    /// RTF over the last stats interval.
    pub rtf_recent: f64,
    /// Algorithmic latency in milliseconds ([`Latency::total_ms`]).
    pub latency_ms: f64,
    /// Current backlog: input waiting in the ring, in milliseconds.
    pub backlog_ms: f64,
    /// The streamer's counters (chunks, degraded, bypassed, clipped, denoiser time).
    pub streamer: StreamerStats,
    /// Input samples dropped on input-ring overflow.
    pub input_overrun_samples: u64,
    /// Output callbacks that underran.
    pub output_underruns: u64,
    /// Output samples filled in on underrun.
    pub output_underrun_samples: u64,
    /// Output samples dropped on output-ring overflow.
    pub output_overflow_samples: u64,
    /// Full-quality steps currently configured.
    pub steps: usize,
    /// The degradation in force.
    pub degrade: Degrade,
    /// Whether this is the final snapshot.
    pub finished: bool,
}

impl EngineStats {
    /// Input overruns plus output underruns (events and dropped samples are not mixed: this
    /// counts overrun *samples* as events of one).
    pub fn xruns(&self) -> u64 {
        self.output_underruns + u64::from(self.input_overrun_samples > 0) + u64::from(self.output_overflow_samples > 0)
    }
}

/// How the worker treats a full output ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Drop what does not fit (a device consumes in real time) and count it.
    Live,
    /// Wait for room (back-pressure from the drain thread).
    File,
}

/// The device-side ends of the engine's rings, handed to the callbacks (or feeder and drain).
pub struct RingEnds {
    /// Push mono device-rate input here.
    pub input: HeapProd<f32>,
    /// Pull mono device-rate output from here.
    pub output: HeapCons<f32>,
    /// Output samples to accumulate before playback starts (see [`EngineConfig::safety_ms`]);
    /// the first output burst already comes at the pipeline's worst-case lag.
    pub prefill: usize,
}

/// A running worker thread with its control and stats channels.
pub struct Engine {
    controls: Sender<Control>,
    stats: Receiver<EngineStats>,
    counters: Arc<SharedCounters>,
    latency: Latency,
    worker: Option<JoinHandle<EngineStats>>,
}

struct Worker {
    input: HeapCons<f32>,
    output: HeapProd<f32>,
    pipeline: Pipeline<'static>,
    /// Device-rate samples popped per step (about one chunk).
    step_in: usize,
    buf_in: Vec<f32>,
    buf_out: Vec<f32>,
    controls: Receiver<Control>,
    stats_tx: Sender<EngineStats>,
    counters: Arc<SharedCounters>,
    cfg: EngineConfig,
    mode: Mode,
    in_rate: u32,
    latency_ms: f64,
    samples_in: u64,
    busy: Duration,
}

impl Engine {
    /// Builds the rings, resamplers and streamer, warms the denoiser up, and starts the worker.
    ///
    /// `in_rate` is the rate of the mono samples pushed into the input ring, `out_rate` that of
    /// the samples pulled from the output ring. Returns the engine and the ring ends for the
    /// device callbacks.
    pub fn start(
        denoiser: Box<dyn ChunkDenoiser>,
        cfg: EngineConfig,
        in_rate: u32,
        out_rate: u32,
    ) -> anyhow::Result<(Self, RingEnds)> {
        Self::start_mode(denoiser, cfg, in_rate, out_rate, Mode::Live)
    }

    fn start_mode(
        denoiser: Box<dyn ChunkDenoiser>,
        cfg: EngineConfig,
        in_rate: u32,
        out_rate: u32,
        mode: Mode,
    ) -> anyhow::Result<(Self, RingEnds)> {
        anyhow::ensure!(in_rate > 0 && out_rate > 0, "device sample rates must be positive");
        let chunk16 = cfg.streamer.chunk_frames * cfg.streamer.stft.hop;
        let step_in = ((chunk16 as f64 * in_rate as f64 / MODEL_RATE as f64).ceil() as usize).max(1);
        let mut pipeline = Pipeline::with_rates(vec![denoiser], cfg.streamer, in_rate, out_rate, step_in)?;
        let out_cap = pipeline.max_output_for(step_in);
        let latency = pipeline.latency();

        // Warm-up: one chunk of silence through the denoiser, then forget it.
        let mut warm = Vec::with_capacity(pipeline.max_output_for(2 * step_in));
        pipeline.process(&vec![0.0; 2 * step_in], &mut warm);
        pipeline.reset();

        let ring_in = ((cfg.ring_ms as f64 / 1000.0 * in_rate as f64) as usize).max(4 * step_in);
        let ring_out = ((cfg.ring_ms as f64 / 1000.0 * out_rate as f64) as usize).max(4 * out_cap);
        let (in_prod, in_cons) = HeapRb::<f32>::new(ring_in).split();
        let (out_prod, out_cons) = HeapRb::<f32>::new(ring_out).split();
        let (ctl_tx, ctl_rx) = crossbeam_channel::unbounded();
        let (st_tx, st_rx) = crossbeam_channel::bounded(64);
        let counters = Arc::new(SharedCounters::default());
        let prefill = ((cfg.safety_ms.max(0.0) as f64 / 1000.0 * out_rate as f64) as usize).max(1);
        let worker = Worker {
            input: in_cons,
            output: out_prod,
            pipeline,
            step_in,
            buf_in: vec![0.0; step_in],
            buf_out: Vec::with_capacity(out_cap),
            controls: ctl_rx,
            stats_tx: st_tx,
            counters: counters.clone(),
            cfg,
            mode,
            in_rate,
            latency_ms: latency.total_ms(),
            samples_in: 0,
            busy: Duration::ZERO,
        };
        let handle = std::thread::Builder::new()
            .name("restoregrad-worker".into())
            .spawn(move || worker.run())
            .context("spawning the worker thread")?;
        Ok((
            Self { controls: ctl_tx, stats: st_rx, counters, latency, worker: Some(handle) },
            RingEnds { input: in_prod, output: out_cons, prefill },
        ))
    }

    /// Sends a command to the worker (ignored once it has stopped).
    pub fn send(&self, c: Control) {
        let _ = self.controls.send(c);
    }

    /// A sender for commands, e.g. for another thread.
    pub fn controls(&self) -> Sender<Control> {
        self.controls.clone()
    }

    /// The periodic stats snapshots.
    pub fn stats(&self) -> &Receiver<EngineStats> {
        &self.stats
    }

    /// The counters shared with the callbacks.
    pub fn counters(&self) -> &Arc<SharedCounters> {
        &self.counters
    }

    /// The engine's delays.
    pub fn latency(&self) -> Latency {
        self.latency
    }

    /// Whether the worker has finished (end of file input, or stopped).
    pub fn is_finished(&self) -> bool {
        self.worker.as_ref().is_none_or(|w| w.is_finished())
    }

    /// Stops the worker and returns its final stats.
    pub fn stop(mut self) -> anyhow::Result<EngineStats> {
        self.counters.stop.store(true, Ordering::SeqCst);
        let _ = self.controls.send(Control::Stop);
        self.join()
    }

    /// Waits for the worker to end on its own (file mode) and returns its final stats.
    pub fn join(&mut self) -> anyhow::Result<EngineStats> {
        let h = self.worker.take().context("the worker was already joined")?;
        h.join().map_err(|_| anyhow::anyhow!("the worker thread panicked"))
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(h) = self.worker.take() {
            self.counters.stop.store(true, Ordering::SeqCst);
            let _ = self.controls.send(Control::Stop);
            let _ = h.join();
        }
    }
}

impl Worker {
    fn ms(&self, samples: usize) -> f32 {
        samples as f32 * 1000.0 / self.in_rate as f32
    }

    fn decide(&mut self, backlog: usize) {
        let p = self.cfg.degrade;
        if !p.enabled {
            return;
        }
        let ms = self.ms(backlog);
        let cur = self.pipeline.degrade();
        let next = if ms > p.bypass_above_ms {
            Degrade::Bypass
        } else if ms > p.reduce_steps_above_ms {
            if cur == Degrade::Bypass {
                cur
            } else {
                let full = self.pipeline.config().steps;
                let s = if p.reduced_steps == 0 { (full / 2).max(1) } else { p.reduced_steps.min(full) };
                Degrade::Steps(s)
            }
        } else if ms < p.recover_below_ms {
            Degrade::None
        } else {
            cur
        };
        if next != cur {
            self.pipeline.set_degrade(next);
        }
    }

    fn snapshot(&self, recent_rtf: f64, finished: bool) -> EngineStats {
        let c = &self.counters;
        let audio_s = self.samples_in as f64 / self.in_rate as f64;
        let busy_s = self.busy.as_secs_f64();
        EngineStats {
            audio_s,
            busy_s,
            rtf: if audio_s > 0.0 { busy_s / audio_s } else { 0.0 },
            rtf_recent: recent_rtf,
            latency_ms: self.latency_ms,
            backlog_ms: self.ms(self.input.occupied_len()) as f64,
            streamer: *self.pipeline.stats(),
            input_overrun_samples: c.input_overrun_samples.load(Ordering::Relaxed),
            output_underruns: c.output_underruns.load(Ordering::Relaxed),
            output_underrun_samples: c.output_underrun_samples.load(Ordering::Relaxed),
            output_overflow_samples: c.output_overflow_samples.load(Ordering::Relaxed),
            steps: self.pipeline.config().steps,
            degrade: self.pipeline.degrade(),
            finished,
        }
    }

    /// Pushes `buf_out` into the output ring (waiting in file mode, dropping in live mode).
    fn push_out(&mut self) {
        let mut rest = &self.buf_out[..];
        while !rest.is_empty() {
            let n = self.output.push_slice(rest);
            rest = &rest[n..];
            if rest.is_empty() {
                break;
            }
            match self.mode {
                Mode::Live => {
                    self.counters.output_overflow_samples.fetch_add(rest.len() as u64, Ordering::Relaxed);
                    break;
                }
                Mode::File => {
                    if self.counters.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
        self.buf_out.clear();
    }

    fn run(mut self) -> EngineStats {
        let mut last_stats = Instant::now();
        let mut last_audio = 0u64;
        let mut last_busy = Duration::ZERO;
        loop {
            while let Ok(c) = self.controls.try_recv() {
                match c {
                    Control::SetSteps(s) => self.pipeline.set_steps(s),
                    Control::SetAttenLimDb(db) => self.pipeline.set_atten_lim_db(db),
                    Control::SetBypass(b) => self.pipeline.set_bypass(b),
                    Control::Stop => self.counters.stop.store(true, Ordering::SeqCst),
                }
            }
            if self.counters.stop.load(Ordering::Relaxed) {
                break;
            }
            let backlog = self.input.occupied_len();
            if backlog == 0 {
                if self.counters.input_done.load(Ordering::SeqCst) && self.input.occupied_len() == 0 {
                    self.finish_stream();
                    break;
                }
                std::thread::sleep(Duration::from_micros(500));
            } else {
                self.decide(backlog);
                let t0 = Instant::now();
                let n = self.input.pop_slice(&mut self.buf_in[..self.step_in.min(backlog)]);
                self.samples_in += n as u64;
                self.pipeline.process(&self.buf_in[..n], &mut self.buf_out);
                self.busy += t0.elapsed();
                self.push_out();
            }
            if last_stats.elapsed() >= self.cfg.stats_interval {
                let da = (self.samples_in - last_audio) as f64 / self.in_rate as f64;
                let db = (self.busy - last_busy).as_secs_f64();
                let _ = self.stats_tx.try_send(self.snapshot(if da > 0.0 { db / da } else { 0.0 }, false));
                last_stats = Instant::now();
                last_audio = self.samples_in;
                last_busy = self.busy;
            }
        }
        self.counters.worker_done.store(true, Ordering::SeqCst);
        let s = self.snapshot(0.0, true);
        let _ = self.stats_tx.try_send(s);
        s
    }

    /// End of input: flushes resampler, streamer and resampler so every input sample comes out.
    fn finish_stream(&mut self) {
        let t0 = Instant::now();
        self.pipeline.flush(&mut self.buf_out);
        self.busy += t0.elapsed();
        self.push_out();
    }
}

/// Options of [`run_file`].
#[derive(Debug, Clone)]
pub struct FileRunOptions {
    /// Feed the input at real-time pace (and allow degradation), as a device would.
    pub realtime: bool,
    /// Samples per feeder push (default 160, 10 ms at 16 kHz).
    pub feed_block: usize,
    /// Setting this flag (e.g. from a Ctrl-C handler) stops the run early; the output is then
    /// padded with zeros to the input's length.
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for FileRunOptions {
    fn default() -> Self {
        Self { realtime: false, feed_block: 160, stop: None }
    }
}

/// What [`run_file`] returns besides the output written to the sink.
#[derive(Debug, Clone, Copy)]
pub struct FileRunReport {
    /// The worker's final stats.
    pub stats: EngineStats,
    /// The delays that were trimmed.
    pub latency: Latency,
    /// Wall time of the run.
    pub wall: Duration,
    /// Output samples delivered to the sink (equals the input length).
    pub samples_out: usize,
}

/// Runs the threaded engine over a mono signal at `rate` Hz: a feeder thread, the worker and a
/// drain thread that hands aligned output blocks to `sink` (exactly `input.len()` samples in all,
/// the engine's delay trimmed). `on_stats` sees each periodic snapshot on the calling thread.
pub fn run_file(
    denoiser: Box<dyn ChunkDenoiser>,
    cfg: EngineConfig,
    rate: u32,
    input: Arc<Vec<f32>>,
    opts: FileRunOptions,
    mut sink: impl FnMut(&[f32]) -> anyhow::Result<()> + Send,
    mut on_stats: impl FnMut(&EngineStats),
) -> anyhow::Result<FileRunReport> {
    let mut cfg = cfg;
    cfg.degrade.enabled &= opts.realtime;
    let t0 = Instant::now();
    let (mut engine, ends) = Engine::start_mode(denoiser, cfg, rate, rate, Mode::File)?;
    let latency = engine.latency();
    let counters = engine.counters().clone();
    let RingEnds { input: mut prod, output: mut cons, .. } = ends;
    let total = input.len();
    let skip = latency.total_out;
    let block = opts.feed_block.max(1);
    let realtime = opts.realtime;

    let result = std::thread::scope(|scope| -> anyhow::Result<usize> {
        let feeder_counters = counters.clone();
        let feeder_input = input.clone();
        let feeder = scope.spawn(move || {
            let start = Instant::now();
            let mut pos = 0usize;
            while pos < feeder_input.len() {
                if feeder_counters.stop.load(Ordering::Relaxed) {
                    break;
                }
                if realtime {
                    let due = Duration::from_secs_f64(pos as f64 / rate as f64);
                    let el = start.elapsed();
                    if due > el {
                        std::thread::sleep(due - el);
                    }
                }
                let end = (pos + block).min(feeder_input.len());
                let n = prod.push_slice(&feeder_input[pos..end]);
                let short = n < end - pos;
                pos += n;
                if short {
                    // Ring full: wait for the worker (back-pressure; never drop input).
                    std::thread::sleep(Duration::from_micros(300));
                }
            }
            feeder_counters.input_done.store(true, Ordering::SeqCst);
        });
        let drain_counters = counters.clone();
        let drain = scope.spawn(move || -> anyhow::Result<usize> {
            let stop_on_error = drain_counters.clone();
            let r = (move || -> anyhow::Result<usize> {
                let mut buf = vec![0.0f32; 4096];
                let mut aligner = Aligner::new(skip, 1);
                let mut aligned = Vec::with_capacity(buf.len());
                loop {
                    let done = drain_counters.worker_done.load(Ordering::SeqCst);
                    let n = cons.pop_slice(&mut buf);
                    if n == 0 {
                        if done || drain_counters.stop.load(Ordering::Relaxed) {
                            break;
                        }
                        std::thread::sleep(Duration::from_micros(300));
                        continue;
                    }
                    aligned.clear();
                    if aligner.push(&buf[..n], total as u64, &mut aligned) > 0 {
                        sink(&aligned)?;
                    }
                }
                let mut written = aligner.written() as usize;
                if written < total {
                    // The flush covers every input sample; this only pads after a stop.
                    let zeros = vec![0.0f32; total - written];
                    sink(&zeros)?;
                    written = total;
                }
                Ok(written)
            })();
            if r.is_err() {
                stop_on_error.stop.store(true, Ordering::SeqCst);
            }
            r
        });
        while !drain.is_finished() {
            if opts.stop.as_ref().is_some_and(|f| f.load(Ordering::Relaxed)) {
                counters.stop.store(true, Ordering::SeqCst);
            }
            if let Ok(s) = engine.stats().recv_timeout(Duration::from_millis(50)) {
                on_stats(&s);
            }
        }
        feeder.join().map_err(|_| anyhow::anyhow!("the feeder thread panicked"))?;
        drain.join().map_err(|_| anyhow::anyhow!("the drain thread panicked"))?
    });
    let samples_out = match result {
        Ok(n) => n,
        Err(e) => {
            let _ = engine.stop();
            return Err(e);
        }
    };
    let stats = engine.join()?;
    Ok(FileRunReport { stats, latency, wall: t0.elapsed(), samples_out })
}
