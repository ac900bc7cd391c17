//! Latency, speed, memory and quality measurements behind `restoregrad bench`.
//!
//! The building blocks are public so that the criterion suite (`benches/`) and tests can use
//! them:
//!
//! * [`TimedDenoiser`]: a [`ChunkDenoiser`] decorator that records the duration of every call
//!   into a preallocated buffer (per-chunk processing time, no allocation while timing).
//! * [`ChunkTimes`]: median / p90 / p99 / max of those durations after warm-up.
//! * [`measure_streamer`]: one setting (steps, C, threads) over a set of clean/noisy pairs with
//!   a 16 kHz [`Pipeline`]: per-chunk times, real-time factor and quality (SI-SDR, ESTOI).
//! * [`measure_engine_latency`]: a chirp probe pushed through the threaded [`Engine`] from a
//!   file-like input; the delay is found by cross-correlation and compared with the
//!   configuration's algorithmic latency.
//! * [`rnnoise`]: RNNoise (`nnnoiseless`) through the same harness, as the reference.
//! * [`report`]: the JSON report, the Markdown table and the PNG plot.
//!
//! # Threads
//!
//! burn's Flex backend parallelises with rayon (`gemm`'s `Parallelism::Rayon(0)` and rayon
//! iterators), both of which use the *current* rayon pool, so a measurement is run inside
//! `rayon::ThreadPoolBuilder::new().num_threads(n).build()?.install(..)` ([`with_threads`]).
//! The threaded engine's worker is a plain thread and uses the global pool; it is only used for
//! the latency probe, where timing does not matter.
//!
//! # Peak memory
//!
//! [`peak_rss_bytes`] reads `VmHWM` from `/proc/self/status`; [`reset_peak_rss`] writes `5` to
//! `/proc/self/clear_refs` (Linux ≥ 4.0) so each setting gets its own peak. Where either is not
//! available the figures are absent (or cumulative).

pub mod report;
pub mod rnnoise;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use ringbuf::traits::{Consumer, Observer, Producer};
use serde::{Deserialize, Serialize};

use crate::dsp::Complex32;
use crate::engine::streamer::ByRef;
use crate::engine::{Aligner, Engine, EngineConfig, Latency, Pipeline, StreamerConfig};
use crate::metrics::{align_delay, estoi, si_sdr};
use crate::model::ChunkDenoiser;
use crate::MODEL_RATE;

/// Wraps a denoiser and records the duration of every [`ChunkDenoiser::process`] (and, for a
/// staggered denoiser, [`ChunkDenoiser::skip`]) call.
///
/// Durations go into a buffer allocated up front; calls beyond its capacity are still run but
/// only counted in [`TimedDenoiser::dropped`], so timing never allocates.
pub struct TimedDenoiser<'a> {
    inner: &'a mut (dyn ChunkDenoiser + 'a),
    times: Vec<Duration>,
    dropped: usize,
}

impl<'a> TimedDenoiser<'a> {
    /// Wraps `inner`, with room for `capacity` recorded calls.
    pub fn new(inner: &'a mut (dyn ChunkDenoiser + 'a), capacity: usize) -> Self {
        Self { inner, times: Vec::with_capacity(capacity), dropped: 0 }
    }

    /// The recorded call durations, in call order.
    pub fn times(&self) -> &[Duration] {
        &self.times
    }

    /// Calls that did not fit in the buffer.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Forgets the recorded durations (the capacity is kept).
    pub fn clear(&mut self) {
        self.times.clear();
        self.dropped = 0;
    }
}

impl ChunkDenoiser for TimedDenoiser<'_> {
    fn n_bins(&self) -> usize {
        self.inner.n_bins()
    }
    fn process(&mut self, noisy: &[Complex32], steps: usize, out: &mut [Complex32]) {
        let t0 = Instant::now();
        self.inner.process(noisy, steps, out);
        let dt = t0.elapsed();
        if self.times.len() < self.times.capacity() {
            self.times.push(dt);
        } else {
            self.dropped += 1;
        }
    }
    fn reset(&mut self) {
        self.inner.reset()
    }
    fn set_stagger(&mut self, max_steps: Option<usize>) -> bool {
        self.inner.set_stagger(max_steps)
    }
    fn delay_chunks(&self) -> usize {
        self.inner.delay_chunks()
    }
    /// A bypassed chunk of a staggered stream still runs the chunks in flight: timed as a call.
    fn skip(&mut self, out: &mut [Complex32]) {
        let t0 = Instant::now();
        self.inner.skip(out);
        let dt = t0.elapsed();
        if self.times.len() < self.times.capacity() {
            self.times.push(dt);
        } else {
            self.dropped += 1;
        }
    }
}

/// A denoiser shared behind a mutex, so one loaded model can be lent to the threaded engine
/// (which needs an owned `'static` denoiser) and used again afterwards.
#[derive(Clone)]
pub struct SharedDenoiser<D>(pub Arc<Mutex<D>>);

impl<D: ChunkDenoiser> ChunkDenoiser for SharedDenoiser<D> {
    fn n_bins(&self) -> usize {
        self.0.lock().expect("denoiser mutex").n_bins()
    }
    fn process(&mut self, noisy: &[Complex32], steps: usize, out: &mut [Complex32]) {
        self.0.lock().expect("denoiser mutex").process(noisy, steps, out)
    }
    fn reset(&mut self) {
        self.0.lock().expect("denoiser mutex").reset()
    }
    fn set_stagger(&mut self, max_steps: Option<usize>) -> bool {
        self.0.lock().expect("denoiser mutex").set_stagger(max_steps)
    }
    fn delay_chunks(&self) -> usize {
        self.0.lock().expect("denoiser mutex").delay_chunks()
    }
    fn skip(&mut self, out: &mut [Complex32]) {
        self.0.lock().expect("denoiser mutex").skip(out)
    }
}

/// Summary of per-chunk processing times, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChunkTimes {
    /// Calls summarised (after warm-up).
    pub n: usize,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub median_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Maximum.
    pub max_ms: f64,
}

impl ChunkTimes {
    /// Summarises `times` after dropping the first `warmup` (all of them are kept when fewer
    /// than `warmup + 1` exist). Percentiles are nearest-rank. `None` when `times` is empty.
    pub fn from_durations(times: &[Duration], warmup: usize) -> Option<Self> {
        if times.is_empty() {
            return None;
        }
        let kept = if times.len() > warmup { &times[warmup..] } else { times };
        let mut ms: Vec<f64> = kept.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        let pct = |p: f64| ms[(((p / 100.0) * n as f64).ceil() as usize).clamp(1, n) - 1];
        Some(Self {
            n,
            mean_ms: ms.iter().sum::<f64>() / n as f64,
            median_ms: pct(50.0),
            p90_ms: pct(90.0),
            p99_ms: pct(99.0),
            max_ms: ms[n - 1],
        })
    }
}

/// One clean/noisy pair at the model rate.
#[derive(Debug, Clone)]
pub struct Pair {
    /// File name.
    pub name: String,
    /// Clean reference.
    pub clean: Vec<f32>,
    /// Noisy input.
    pub noisy: Vec<f32>,
}

impl Pair {
    /// Cuts both signals to at most `secs` seconds.
    pub fn truncated(mut self, secs: f64) -> Self {
        let n = (secs * MODEL_RATE as f64) as usize;
        self.clean.truncate(n);
        self.noisy.truncate(n);
        self
    }
}

/// Loads the pairs of `dir/clean/*` and `dir/noisy/*` matched by file name (downmixed to mono,
/// resampled to 16 kHz, cut to the shorter length), sorted by name.
pub fn load_pairs(dir: &Path) -> anyhow::Result<Vec<Pair>> {
    let (cdir, ndir) = (dir.join("clean"), dir.join("noisy"));
    let mut names: Vec<String> = std::fs::read_dir(&cdir)
        .with_context(|| format!("{}: cannot list (expected clean/ and noisy/ folders)", cdir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| ["wav", "flac", "mp3", "ogg"].iter().any(|x| n.to_ascii_lowercase().ends_with(x)))
        .filter(|n| ndir.join(n).is_file())
        .collect();
    names.sort();
    anyhow::ensure!(!names.is_empty(), "{}: no clean/noisy pairs with matching names", dir.display());
    let load = |p: PathBuf| -> anyhow::Result<Vec<f32>> {
        let a = crate::audio::read_audio(&p)?;
        Ok(crate::dsp::resample::resample(&a.to_mono(), a.sample_rate, MODEL_RATE))
    };
    names
        .into_iter()
        .map(|name| {
            let mut clean = load(cdir.join(&name))?;
            let mut noisy = load(ndir.join(&name))?;
            let n = clean.len().min(noisy.len());
            clean.truncate(n);
            noisy.truncate(n);
            Ok(Pair { name, clean, noisy })
        })
        .collect()
}

/// The committed fixture folder (`tests/fixtures`, with `clean/` and `noisy/`), looked up in the
/// current folder, then in the source tree this binary was built from.
pub fn default_audio_dir() -> Option<PathBuf> {
    let rel = Path::new("tests/fixtures");
    let mut c = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        c.push(cwd.join(rel));
    }
    c.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel));
    c.into_iter().find(|d| d.join("clean").is_dir() && d.join("noisy").is_dir())
}

/// Mean SI-SDR (dB) and ESTOI of aligned, equally long outputs against their clean references.
pub fn quality(pairs: &[Pair], outputs: &[Vec<f32>]) -> (f64, f64) {
    let n = pairs.len().max(1) as f64;
    let (mut s, mut e) = (0.0, 0.0);
    for (p, y) in pairs.iter().zip(outputs) {
        s += si_sdr(&p.clean, y);
        e += estoi(&p.clean, y, MODEL_RATE);
    }
    (s / n, e / n)
}

/// Runs `f` inside a rayon pool of `threads` threads, so burn's Flex backend uses that many.
pub fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> anyhow::Result<R> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("bench-rayon-{i}"))
        .build()
        .context("building the rayon pool")?;
    Ok(pool.install(f))
}

/// What [`measure_streamer`] found for one setting.
#[derive(Debug, Clone)]
pub struct StreamerMeasurement {
    /// Per-chunk denoiser time after warm-up.
    pub chunk_times: Option<ChunkTimes>,
    /// Wall time of the whole streaming path (STFT, denoiser, overlap-add) over every pair.
    pub busy: Duration,
    /// Audio processed, in seconds.
    pub audio_s: f64,
    /// Mean SI-SDR of the outputs, dB.
    pub si_sdr: f64,
    /// Mean ESTOI of the outputs.
    pub estoi: f64,
    /// The streamer's algorithmic latency in model-rate samples.
    pub latency_samples: usize,
}

impl StreamerMeasurement {
    /// Real-time factor: processing time over audio time (below 1: faster than real time).
    pub fn rtf(&self) -> f64 {
        self.busy.as_secs_f64() / self.audio_s.max(1e-9)
    }
}

/// Chunk calls skipped as warm-up when summarising per-chunk times.
pub const WARMUP_CHUNKS: usize = 8;

/// Streams `x` through a fresh 16 kHz [`Pipeline`] in `chunk`-sample blocks, as a device would;
/// returns the aligned output, the time it took and the pipeline's delay in samples.
fn stream_through(denoiser: &mut dyn ChunkDenoiser, cfg: &StreamerConfig, x: &[f32], chunk: usize) -> anyhow::Result<(Vec<f32>, Duration, usize)> {
    let mut pipeline = Pipeline::new(vec![Box::new(ByRef(denoiser))], *cfg, MODEL_RATE, chunk)?;
    let delay = pipeline.latency().total_out;
    let mut raw = Vec::with_capacity(x.len() + delay + 4 * chunk + pipeline.max_output_for(chunk) * 2);
    let t0 = Instant::now();
    for block in x.chunks(chunk) {
        pipeline.process(block, &mut raw);
    }
    // At the model rate the resamplers are identities, so the flush alone brings every input
    // sample out (no padding to time).
    pipeline.flush(&mut raw);
    let took = t0.elapsed();
    let mut out = Vec::with_capacity(x.len());
    Aligner::new(delay, 1).push(&raw, x.len() as u64, &mut out);
    out.resize(x.len(), 0.0);
    Ok((out, took, delay))
}

/// Streams every noisy signal of `pairs` through a 16 kHz [`Pipeline`] with `cfg` (fed in chunk-sized
/// blocks as a live input would be), timing each denoiser call, and scores the aligned output.
///
/// A warm-up pass over the first half second of the first pair runs first and is not counted;
/// the first [`WARMUP_CHUNKS`] timed calls are then also dropped from the percentiles. The
/// denoiser is reset before each pair. Call it inside [`with_threads`] to pin the thread count.
pub fn measure_streamer(
    denoiser: &mut dyn ChunkDenoiser,
    cfg: &StreamerConfig,
    pairs: &[Pair],
) -> anyhow::Result<StreamerMeasurement> {
    anyhow::ensure!(!pairs.is_empty(), "no audio to measure on");
    let chunk = cfg.chunk_frames * cfg.stft.hop;
    let total: usize = pairs.iter().map(|p| p.noisy.len()).sum();
    let mut timed = TimedDenoiser::new(denoiser, total / chunk + 64 * pairs.len() + 64);
    // Warm-up (caches, allocator, lazily built kernels).
    stream_through(&mut timed, cfg, &pairs[0].noisy[..pairs[0].noisy.len().min(MODEL_RATE as usize / 2)], chunk)?;
    timed.clear();
    let mut busy = Duration::ZERO;
    let mut outputs = Vec::with_capacity(pairs.len());
    let mut latency = 0;
    for p in pairs {
        let (out, took, delay) = stream_through(&mut timed, cfg, &p.noisy, chunk)?;
        (busy, latency) = (busy + took, delay);
        outputs.push(out);
    }
    let chunk_times = ChunkTimes::from_durations(timed.times(), WARMUP_CHUNKS);
    let (si_sdr, estoi) = quality(pairs, &outputs);
    Ok(StreamerMeasurement {
        chunk_times,
        busy,
        audio_s: total as f64 / MODEL_RATE as f64,
        si_sdr,
        estoi,
        latency_samples: latency,
    })
}

/// A probe signal for latency measurement at `rate` Hz: three logarithmic chirps
/// (150 Hz to 0.45·rate, capped at 7 kHz) of 0.4 s with 0.3 s of silence between and around
/// them, at a speech-like level.
pub fn chirp_probe(rate: u32) -> Vec<f32> {
    let fs = rate as f64;
    let (f0, f1) = (150.0f64, (0.45 * fs).min(7000.0));
    let len = (0.4 * fs) as usize;
    let gap = vec![0.0f32; (0.3 * fs) as usize];
    let k = (f1 / f0).ln();
    let chirp: Vec<f32> = (0..len)
        .map(|i| {
            let t = i as f64 / fs;
            let dur = len as f64 / fs;
            let phase = 2.0 * std::f64::consts::PI * f0 * dur / k * ((t / dur * k).exp() - 1.0);
            let fade = (i.min(len - 1 - i) as f64 / (0.01 * fs)).min(1.0);
            (0.3 * fade * phase.sin()) as f32
        })
        .collect();
    let mut x = gap.clone();
    for _ in 0..3 {
        x.extend_from_slice(&chirp);
        x.extend_from_slice(&gap);
    }
    x
}

/// The outcome of a latency probe.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct LatencyProbe {
    /// Algorithmic latency from the configuration, ms.
    pub algorithmic_ms: f64,
    /// Delay between probe and output found by cross-correlation, ms.
    pub measured_ms: f64,
    /// Extra worst-case block buffering of the resamplers, ms (0 at 16 kHz): not part of the
    /// stream delay that cross-correlation sees, but a live device waits for it.
    pub buffering_ms: f64,
    /// Normalised correlation at the found delay (near 1: the output is the probe, delayed;
    /// low values mean the denoiser changed the probe a lot and the delay is less certain).
    pub correlation: f64,
}

/// Normalised correlation of `x` with `y` delayed by `lag` samples.
pub fn correlation_at(x: &[f32], y: &[f32], lag: usize) -> f64 {
    let n = x.len().min(y.len().saturating_sub(lag));
    let (mut xy, mut xx, mut yy) = (0.0f64, 0.0f64, 0.0f64);
    for i in 0..n {
        let (a, b) = (x[i] as f64, y[i + lag] as f64);
        xy += a * b;
        xx += a * a;
        yy += b * b;
    }
    if xx <= 0.0 || yy <= 0.0 { 0.0 } else { xy / (xx * yy).sqrt() }
}

/// Pushes [`chirp_probe`] at `rate` Hz through the threaded [`Engine`] (started as for a device,
/// fed from memory as fast as its input ring accepts, degradation off), collects the raw output
/// stream with nothing trimmed, and finds the delay by cross-correlation (within 1 s).
pub fn measure_engine_latency(denoiser: Box<dyn ChunkDenoiser>, cfg: &StreamerConfig, rate: u32) -> anyhow::Result<LatencyProbe> {
    let probe = chirp_probe(rate);
    let mut ecfg = EngineConfig { streamer: *cfg, ..EngineConfig::default() };
    ecfg.degrade.enabled = false;
    let (mut engine, mut ends) = Engine::start(denoiser, ecfg, rate, rate)?;
    let lat: Latency = engine.latency();
    let want = probe.len() + lat.total_out + lat.buffering_out;
    let mut out = Vec::with_capacity(want + rate as usize);
    let mut buf = vec![0.0f32; 4096];
    let mut pos = 0;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if pos < probe.len() {
            pos += ends.input.push_slice(&probe[pos..(pos + 1024).min(probe.len())]);
            if pos == probe.len() {
                engine.counters().input_done.store(true, Ordering::SeqCst);
            }
        }
        let n = ends.output.pop_slice(&mut buf);
        out.extend_from_slice(&buf[..n]);
        if n == 0 {
            if engine.counters().worker_done.load(Ordering::SeqCst) && ends.output.is_empty() {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "the engine did not finish the latency probe");
            std::thread::sleep(Duration::from_micros(300));
        }
    }
    let _ = engine.join()?;
    let lag = align_delay(&probe, &out, rate as usize).max(0) as usize;
    Ok(LatencyProbe {
        algorithmic_ms: lat.total_ms(),
        measured_ms: lag as f64 * 1000.0 / rate as f64,
        buffering_ms: lat.buffering_ms(),
        correlation: correlation_at(&probe, &out, lag),
    })
}

/// Pushes [`chirp_probe`] through a streaming RNNoise at `rate` Hz and finds its delay the same
/// way as [`measure_engine_latency`].
pub fn measure_rnnoise_latency(rate: u32) -> anyhow::Result<LatencyProbe> {
    let probe = chirp_probe(rate);
    let mut s = rnnoise::RnnoiseStream::new(rate, probe.len() / 100)?;
    let algorithmic = s.latency_samples();
    let mut out = Vec::new();
    for b in probe.chunks(160) {
        s.feed(b, &mut out);
    }
    s.flush(&mut out);
    let lag = align_delay(&probe, &out, rate as usize).max(0) as usize;
    Ok(LatencyProbe {
        algorithmic_ms: algorithmic as f64 * 1000.0 / rate as f64,
        measured_ms: lag as f64 * 1000.0 / rate as f64,
        buffering_ms: s.buffering_ms(),
        correlation: correlation_at(&probe, &out, lag),
    })
}

/// Peak resident memory of this process (`VmHWM`), in bytes; `None` off Linux.
pub fn peak_rss_bytes() -> Option<u64> {
    proc_status_kib("VmHWM:").map(|k| k * 1024)
}

/// Current resident memory of this process (`VmRSS`), in bytes; `None` off Linux.
pub fn rss_bytes() -> Option<u64> {
    proc_status_kib("VmRSS:").map(|k| k * 1024)
}

fn proc_status_kib(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// Resets the peak-RSS counter to the current RSS (Linux `clear_refs`); returns whether it
/// worked.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The machine the numbers come from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model name (`/proc/cpuinfo`), or "unknown".
    pub cpu_model: String,
    /// Logical cores available to this process.
    pub logical_cores: usize,
    /// Physical cores, when `/proc/cpuinfo` says.
    pub physical_cores: Option<usize>,
    /// Operating system and architecture.
    pub os: String,
    /// 1-minute load average when the run started (`/proc/loadavg`): a value near or above
    /// the core count means other work competed for the CPU and timings are pessimistic.
    pub load_avg_1m: Option<f64>,
    /// Compute backends compiled into this binary.
    pub backends: Vec<String>,
}

impl Machine {
    /// Probes the current machine.
    pub fn probe() -> Self {
        let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |k: &str| {
            info.lines()
                .find(|l| l.split(':').next().is_some_and(|n| n.trim() == k))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        };
        let cpu_model = field("model name").or_else(|| field("Model")).unwrap_or_else(|| "unknown".into());
        let per_socket: Option<usize> = field("cpu cores").and_then(|v| v.parse().ok());
        let sockets = {
            let mut ids: Vec<&str> =
                info.lines().filter(|l| l.starts_with("physical id")).filter_map(|l| l.split(':').nth(1)).collect();
            ids.sort();
            ids.dedup();
            ids.len().max(1)
        };
        let load_avg_1m = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()));
        let mut backends = vec!["cpu (flex)".to_string()];
        if cfg!(feature = "cuda") {
            backends.push("cuda".into());
        }
        if cfg!(feature = "vulkan") {
            backends.push("vulkan".into());
        }
        Self {
            cpu_model,
            logical_cores: all_threads(),
            physical_cores: per_socket.map(|c| c * sockets),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            load_avg_1m,
            backends,
        }
    }

    /// One line: CPU model, cores, load.
    pub fn summary(&self) -> String {
        let mut s = format!("{} | {} logical cores", self.cpu_model, self.logical_cores);
        if let Some(p) = self.physical_cores {
            s += &format!(" ({p} physical)");
        }
        s += &format!(" | {}", self.os);
        if let Some(l) = self.load_avg_1m {
            s += &format!(" | load avg {l:.2} at start");
            if l > 0.5 {
                s += " (other work was running: timings are pessimistic)";
            }
        }
        s
    }
}

/// The number of threads "all" means: the available parallelism.
pub fn all_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::testing::IdentityDenoiser;

    #[test]
    fn percentiles_are_nearest_rank() {
        let d: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let t = ChunkTimes::from_durations(&d, 0).unwrap();
        assert_eq!((t.median_ms, t.p90_ms, t.p99_ms, t.max_ms), (50.0, 90.0, 99.0, 100.0));
        let t = ChunkTimes::from_durations(&d, 10).unwrap();
        assert_eq!(t.n, 90);
        assert_eq!(t.median_ms, 55.0);
        assert!(ChunkTimes::from_durations(&[], 3).is_none());
    }

    #[test]
    fn identity_streamer_is_transparent_and_timed() {
        let x: Vec<f32> = chirp_probe(16000);
        let pairs = vec![Pair { name: "c".into(), clean: x.clone(), noisy: x }];
        let mut d = IdentityDenoiser { n_bins: 257 };
        let m = measure_streamer(&mut d, &StreamerConfig::default(), &pairs).unwrap();
        assert!(m.si_sdr > 40.0, "si-sdr {}", m.si_sdr);
        let t = m.chunk_times.unwrap();
        assert!(t.n > 10 && t.max_ms >= t.median_ms);
        assert!(m.rtf() > 0.0);
    }

    #[test]
    fn engine_probe_finds_the_algorithmic_latency() {
        let cfg = StreamerConfig::default().with_chunk_frames(4);
        let p = measure_engine_latency(Box::new(IdentityDenoiser { n_bins: 257 }), &cfg, 16000).unwrap();
        assert!((p.measured_ms - p.algorithmic_ms).abs() < 0.2, "{p:?}");
        assert!((p.algorithmic_ms - 48.0).abs() < 1e-9);
        assert!(p.correlation > 0.99);
        let p = measure_engine_latency(Box::new(IdentityDenoiser { n_bins: 257 }), &cfg, 48000).unwrap();
        assert!((p.measured_ms - p.algorithmic_ms).abs() < 0.2, "{p:?}");
    }

    #[test]
    fn proc_memory_is_readable_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_bytes().unwrap() >= rss_bytes().unwrap() / 2);
        }
    }
}
