//! One channel's worker thread: input ring -> [`Pipeline`] -> output ring, steered by atomics.
//!
//! The audio thread never talks to the worker except through the two SPSC rings and the
//! [`Shared`] atomics, so nothing it does can allocate, lock or block. The worker polls: when
//! the input ring is empty it parks for [`POLL`] (an offline host's `run` unparks it at once).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use anyhow::Context;
use restoregrad::{Model, Pipeline, PipelineBuilder};
use ringbuf::traits::{Consumer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

/// How long an idle worker sleeps before it looks at the input ring again: small next to the
/// latency margin, large enough that an idle plugin costs next to no CPU.
pub const POLL: Duration = Duration::from_micros(250);

/// Settings the audio thread publishes and the workers apply (lock-free, no queue to fill).
#[derive(Debug)]
pub struct Shared {
    /// Attenuation limit in dB as `f32` bits (0: unlimited).
    atten_bits: AtomicU32,
    /// Reverse steps (1-6).
    steps: AtomicU32,
    /// Sampler runs per chunk (1-2).
    samples: AtomicU32,
    /// Model bypass (the worker skips the denoiser; the audio thread plays the dry signal).
    bypass: AtomicBool,
    /// Asks the workers to end.
    stop: AtomicBool,
}

/// Control values as the host sets them on the control ports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Attenuation limit in dB, 0..=100 (0: unlimited).
    pub atten_db: f32,
    /// Reverse steps, 1..=6.
    pub steps: u32,
    /// Sampler runs averaged per chunk, 1..=2.
    pub samples: u32,
    /// Model bypass.
    pub bypass: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self { atten_db: 0.0, steps: 1, samples: 2, bypass: false }
    }
}

impl Settings {
    /// Clamps raw control-port values into range (NaN and infinities give the defaults).
    pub fn from_ports(atten: f32, steps: f32, samples: f32, bypass: f32) -> Self {
        let d = Self::default();
        let atten_db = if atten.is_finite() { atten.clamp(0.0, 100.0) } else { d.atten_db };
        let steps = if steps.is_finite() { steps.round().clamp(1.0, 6.0) as u32 } else { d.steps };
        let samples = if samples.is_finite() && samples < 1.5 { 1 } else { 2 };
        Self { atten_db, steps, samples, bypass: bypass > 0.0 }
    }

    fn atten_lim(&self) -> Option<f32> {
        (self.atten_db > 0.0).then_some(self.atten_db)
    }
}

impl Shared {
    /// Shared state holding `s`.
    pub fn new(s: Settings) -> Self {
        let sh = Self {
            atten_bits: AtomicU32::new(0),
            steps: AtomicU32::new(1),
            samples: AtomicU32::new(2),
            bypass: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        };
        sh.publish(s);
        sh
    }

    /// Publishes new settings (relaxed atomic stores: real-time safe).
    pub fn publish(&self, s: Settings) {
        self.atten_bits.store(s.atten_db.to_bits(), Ordering::Relaxed);
        self.steps.store(s.steps, Ordering::Relaxed);
        self.samples.store(s.samples, Ordering::Relaxed);
        self.bypass.store(s.bypass, Ordering::Relaxed);
    }

    /// The settings last published.
    pub fn load(&self) -> Settings {
        Settings {
            atten_db: f32::from_bits(self.atten_bits.load(Ordering::Relaxed)),
            steps: self.steps.load(Ordering::Relaxed),
            samples: self.samples.load(Ordering::Relaxed),
            bypass: self.bypass.load(Ordering::Relaxed),
        }
    }
}

/// Counters a worker publishes for the audio thread and for benches.
#[derive(Debug, Default)]
pub struct Progress {
    /// Input samples popped and fully processed (their output is in the output ring).
    pub consumed: AtomicU64,
    /// Longest single `Pipeline::process` call, nanoseconds.
    pub max_process_ns: AtomicU64,
    /// Output samples dropped because the output ring was full.
    pub overflow: AtomicU64,
}

/// A running worker and its thread.
pub struct Worker {
    shared: Arc<Shared>,
    progress: Arc<Progress>,
    thread: Thread,
    handle: Option<JoinHandle<()>>,
}

/// The audio-thread ends of a worker's rings.
pub struct Ends {
    /// Host-rate input for the worker.
    pub input: HeapProd<f32>,
    /// Wet output from the worker: wet sample `w` is aligned with input sample `w - latency`.
    pub output: HeapCons<f32>,
}

struct Loop {
    model: Model,
    rate: u32,
    pipeline: Pipeline<'static>,
    applied: Settings,
    input: HeapCons<f32>,
    output: HeapProd<f32>,
    buf: Vec<f32>,
    out: Vec<f32>,
    shared: Arc<Shared>,
    progress: Arc<Progress>,
    /// Input samples popped so far (the stream position of the next one).
    popped: u64,
    /// Wet samples written to the output ring so far (counting fillers).
    written: u64,
    /// Output samples of a rebuilt pipeline still to drop, so that wet indices stay aligned.
    drop_next: u64,
}

/// Samples of `ms` milliseconds at `rate`.
fn samples_of(ms: f64, rate: u32) -> usize {
    (ms / 1000.0 * rate as f64).ceil() as usize
}

fn build(model: &Model, rate: u32, block: usize, s: Settings) -> anyhow::Result<Pipeline<'static>> {
    let mut p = PipelineBuilder::new(rate, 1)
        .samples(s.samples as usize)
        .steps(s.steps as usize)
        .atten_lim_db(s.atten_lim())
        .max_block(block)
        .build(model)?;
    p.set_bypass(s.bypass);
    // Warm-up: the first denoiser calls are slow (lazy initialisation); do them here, not on
    // the stream, then forget the state.
    let mut warm = Vec::with_capacity(p.max_output_for(2 * block));
    p.process(&vec![0.0; 2 * block], &mut warm);
    p.reset();
    Ok(p)
}

/// The pipeline's structural lag at `rate`: the most input samples it holds back beyond its
/// output, `max(fed - produced)`, found by streaming `secs` of audio through a bypassed copy
/// (same resamplers and chunking, no model calls) in steps of one model-rate sample. Output
/// sample `t` can be computed from the first `t + 1` input samples only if it comes at least this
/// much after them; it covers the resamplers' blocks and the model chunk as they really fall,
/// which `Latency::buffering_out` plus a chunk would overstate.
pub fn structural_lag(model: &Model, rate: u32, secs: f64) -> anyhow::Result<usize> {
    let mut p = PipelineBuilder::new(rate, 1).build(model)?;
    p.set_bypass(true);
    let step = (rate as usize).div_ceil(restoregrad::MODEL_RATE as usize).max(1);
    let x = vec![0.0f32; step];
    let total = samples_of(secs * 1000.0, rate);
    let mut out = Vec::with_capacity(p.max_output_for(step));
    let (mut fed, mut produced, mut lag) = (0usize, 0usize, 0usize);
    while fed < total {
        p.process(&x, &mut out);
        fed += step;
        produced += out.len();
        out.clear();
        if produced > 0 {
            lag = lag.max(fed.saturating_sub(produced));
        }
    }
    // The lag is sampled every `step` inputs: it can be up to a step more in between.
    Ok(lag + step)
}

/// A ring of `cap` samples whose memory has been written once, so the audio thread's first
/// pass through it takes no page faults.
fn prefaulted(cap: usize) -> (HeapProd<f32>, HeapCons<f32>) {
    let (mut prod, mut cons) = HeapRb::<f32>::new(cap).split();
    let zeros = vec![0.0f32; cap];
    prod.push_slice(&zeros);
    cons.skip(cap);
    (prod, cons)
}

impl Worker {
    /// Builds the pipeline (the model warm-up included), the rings of `ring_ms` each, and starts
    /// the thread. Allocates: only from `instantiate` and `activate`.
    pub fn start(model: &Model, rate: u32, shared: Arc<Shared>, ring_ms: f64) -> anyhow::Result<(Self, Ends, restoregrad::Latency)> {
        let block = samples_of(20.0, rate).max(64);
        let pipeline = build(model, rate, block, shared.load())?;
        let latency = pipeline.latency();
        let cap = samples_of(ring_ms, rate).max(4 * block);
        let (in_prod, in_cons) = prefaulted(cap);
        let (out_prod, out_cons) = prefaulted(cap);
        let progress = Arc::new(Progress::default());
        let lp = Loop {
            model: model.clone(),
            rate,
            out: Vec::with_capacity(pipeline.max_output_for(block)),
            applied: shared.load(),
            pipeline,
            input: in_cons,
            output: out_prod,
            buf: vec![0.0; block],
            shared: shared.clone(),
            progress: progress.clone(),
            popped: 0,
            written: 0,
            drop_next: 0,
        };
        let handle = std::thread::Builder::new()
            .name("restoregrad-ladspa".into())
            .spawn(move || lp.run())
            .context("spawning the worker thread")?;
        let thread = handle.thread().clone();
        Ok((Self { shared, progress, thread, handle: Some(handle) }, Ends { input: in_prod, output: out_cons }, latency))
    }

    /// Wakes the worker now (a futex syscall: for offline hosts only, never in real-time mode).
    pub fn wake(&self) {
        self.thread.unpark();
    }

    /// The worker's counters.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Whether the thread has ended (it only does when asked, or if the pipeline panicked).
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(|h| h.is_finished())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.thread.unpark();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Loop {
    fn run(mut self) {
        while !self.shared.stop.load(Ordering::Acquire) {
            self.apply(self.shared.load());
            let n = self.input.pop_slice(&mut self.buf);
            if n == 0 {
                std::thread::park_timeout(POLL);
                continue;
            }
            self.popped += n as u64;
            let t0 = Instant::now();
            self.pipeline.process(&self.buf[..n], &mut self.out);
            self.progress.max_process_ns.fetch_max(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
            self.push_out();
            self.progress.consumed.store(self.popped, Ordering::Release);
        }
    }

    /// Applies changed settings; a new sample count rebuilds the pipeline.
    fn apply(&mut self, s: Settings) {
        if s == self.applied {
            return;
        }
        if s.samples != self.applied.samples {
            self.rebuild(s);
        } else {
            self.pipeline.set_steps(s.steps as usize);
            self.pipeline.set_atten_lim_db(s.atten_lim());
            self.pipeline.set_bypass(s.bypass);
        }
        self.applied = s;
    }

    /// Ends the old stream (flushing its tail) and starts a new pipeline whose output continues
    /// the wet stream at the same alignment: its sample `j` is wet sample `popped + j`.
    fn rebuild(&mut self, s: Settings) {
        let Ok(p) = build(&self.model, self.rate, self.buf.len(), s) else {
            return; // keep the old pipeline; the settings are retried on the next change
        };
        self.pipeline.flush(&mut self.out);
        self.push_out();
        self.pipeline = p;
        self.out.reserve(self.pipeline.max_output_for(self.buf.len()));
        if self.written > self.popped {
            self.drop_next = self.written - self.popped;
        } else {
            self.out.resize((self.popped - self.written) as usize, 0.0);
            self.push_out();
        }
    }

    /// Moves `out` into the output ring (dropping the first `drop_next` samples); what does not
    /// fit is dropped and counted: the audio thread then finds those wet samples missing.
    fn push_out(&mut self) {
        let skip = (self.drop_next as usize).min(self.out.len());
        self.drop_next -= skip as u64;
        let rest = &self.out[skip..];
        let n = self.output.push_slice(rest);
        if n < rest.len() {
            self.progress.overflow.fetch_add((rest.len() - n) as u64, Ordering::Relaxed);
        }
        self.written += rest.len() as u64;
        self.out.clear();
    }
}
