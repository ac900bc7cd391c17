//! `restoregrad bench`: latency, speed, memory and quality over a grid of settings, with RNNoise
//! measured through the same harness on the same audio in the same run.
//!
//! For every (device, steps, C, threads) setting the fixture pairs are streamed through a
//! [`Streamer`](crate::engine::Streamer) inside a rayon pool of that many threads (see
//! [`crate::bench`]): per-call times (median, p90, p99, max after warm-up), the real-time factor
//! and its headroom, peak RSS, SI-SDR and ESTOI. For every (device, C) a chirp goes through the
//! threaded engine to measure the end-to-end delay by cross-correlation (`--stagger` adds a
//! staggered row, with its own probe, for every setting with 2 or more steps). Results are printed as
//! a Markdown table with the machine, and written to `OUT_DIR/bench.json`, `OUT_DIR/bench.md`
//! and, with `--plot`, `OUT_DIR/bench.png`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::Globals;
use crate::bench::report::{AudioSet, Report, Row, System};
use crate::bench::rnnoise::{rnnoise_enhance, RNNOISE_FRAME, RNNOISE_RATE};
use crate::bench::{
    all_threads, default_audio_dir, load_pairs, measure_engine_latency, measure_rnnoise_latency, measure_streamer,
    peak_rss_bytes, quality, reset_peak_rss, with_threads, ChunkTimes, LatencyProbe, Machine, SharedDenoiser,
    WARMUP_CHUNKS,
};
use crate::engine::StreamerConfig;
use crate::model::{load_enhancer, parse_device, Enhancer};
use crate::MODEL_RATE;

/// Arguments of `restoregrad bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// A short run (well under a minute): steps 1,2,3,6 at C=4 with all threads.
    #[arg(long)]
    pub quick: bool,
    /// Model folder (config.json + weights.bpk); the shipped model if unset.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Where bench.json, bench.md (and bench.png) are written.
    #[arg(long, default_value = "bench-results")]
    pub out_dir: PathBuf,
    /// Also draw bench.png: latency vs real-time factor vs quality.
    #[arg(long)]
    pub plot: bool,
    /// Reverse-step counts to measure, comma-separated (default 1,2,3,6).
    #[arg(long, value_delimiter = ',')]
    pub steps: Option<Vec<usize>>,
    /// Frames per model call (C; 8 ms each) to measure, comma-separated (default 2,4,16; quick 4).
    #[arg(long, value_delimiter = ',')]
    pub chunk_frames: Option<Vec<usize>>,
    /// Compute thread counts, comma-separated numbers or `all` (default 1,all; quick all).
    #[arg(long, value_delimiter = ',')]
    pub threads: Option<Vec<String>>,
    /// Devices: cpu, cuda (or cuda:N), vulkan (default cpu, plus cuda when built with it).
    #[arg(long, value_delimiter = ',')]
    pub device: Option<Vec<String>>,
    /// Folder with clean/ and noisy/ subfolders of matching files (default: the committed
    /// fixtures, tests/fixtures).
    #[arg(long)]
    pub audio: Option<PathBuf>,
    /// Use at most this many seconds of each file (default: all).
    #[arg(long)]
    pub max_audio_s: Option<f64>,
    /// Rate of the latency probe in Hz (16000: no resampling; 48000 adds the engine's resamplers
    /// and removes RNNoise's).
    #[arg(long, default_value_t = MODEL_RATE)]
    pub probe_rate: u32,
    /// Seed of the diffusion sampler.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sampler averaging.
    #[command(flatten)]
    pub samples: crate::cli::SamplesArg,
    /// Also measure every setting with 2 or more steps with staggered step batching (one batched
    /// model call per chunk; the rows say `stagger` and carry its extra latency).
    #[arg(long)]
    pub stagger: bool,
    /// Measure only the first N settings of the grid (for tests).
    #[arg(long, hide = true)]
    pub grid_limit: Option<usize>,
}

/// One grid point.
#[derive(Debug, Clone)]
struct Setting {
    device: usize,
    steps: usize,
    chunk_frames: usize,
    threads: usize,
    stagger: bool,
}

fn parse_threads(list: &[String]) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for t in list {
        let n = match t.trim() {
            "all" | "max" => all_threads(),
            v => v.parse::<usize>().with_context(|| format!("--threads: {v:?} is not a number or `all`"))?,
        };
        if n == 0 {
            bail!("--threads: 0 is not a thread count");
        }
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

fn dedup(v: Vec<usize>) -> Vec<usize> {
    let mut out = Vec::new();
    for x in v {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

fn mib(b: Option<u64>) -> Option<f64> {
    b.map(|b| b as f64 / (1024.0 * 1024.0))
}

/// One model per device, shared by the grid's rows and the latency probes.
type Devices = Vec<(String, Arc<Mutex<Enhancer>>)>;

/// What to measure: the settings grid and the latency probes it needs.
struct Plan {
    steps: Vec<usize>,
    threads: Vec<usize>,
    grid: Vec<Setting>,
    /// One probe per (device, C), plus one per staggered step count (its latency differs):
    /// keyed by (device, C, staggered steps or 0).
    probes: Vec<(usize, usize, usize)>,
}

/// Runs `restoregrad bench`.
pub fn run(args: BenchArgs, g: Globals) -> Result<()> {
    let started = Instant::now();
    let machine = Machine::probe();
    if !g.quiet {
        crate::diag!("machine: {}", machine.summary());
    }
    let (audio_dir, pairs) = load_audio(&args)?;
    let audio_s: f64 = pairs.iter().map(|p| p.noisy.len() as f64 / MODEL_RATE as f64).sum();
    let devices = load_models(&args)?;
    let plan = plan(&args, &devices)?;
    let bar = if g.quiet { ProgressBar::hidden() } else { ProgressBar::new((plan.grid.len() + plan.probes.len() + 2) as u64) };
    bar.set_style(ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}").expect("valid template"));
    let mut notes = machine_notes(&machine, &plan.threads);

    bar.set_message("rnnoise");
    let rnnoise = rnnoise_row(&pairs, audio_s, args.probe_rate)?;
    bar.inc(1);
    let probes = latency_probes(&plan, &devices, args.probe_rate, &bar, &mut notes)?;
    let mut rows = measure_grid(&plan.grid, &devices, &pairs, &probes, &bar)?;
    rows.push(rnnoise);
    rows.push(noisy_row(&pairs));
    bar.inc(1);
    bar.finish_and_clear();

    let model_name = match &args.model {
        Some(p) => p.display().to_string(),
        None => "the shipped model (models/default, compiled in)".to_string(),
    };
    let mut report = Report {
        version: env!("CARGO_PKG_VERSION").into(),
        unix_time: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        quick: args.quick,
        model: format!("{model_name}, {} sample(s) per chunk (--samples)", args.samples.samples),
        machine,
        audio: AudioSet { dir: audio_dir.display().to_string(), files: pairs.iter().map(|p| p.name.clone()).collect(), seconds: audio_s },
        probe_rate: args.probe_rate,
        rows,
        notes,
    };
    report.compute_ratios();
    let written = write_report(&report, &args, g)?;
    if !g.quiet {
        crate::diag!("wrote {} in {:.1} s", written.join(", "), started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// The grid of settings the flags ask for, checked.
fn plan(args: &BenchArgs, devices: &Devices) -> Result<Plan> {
    let quick = args.quick;
    let steps = dedup(args.steps.clone().unwrap_or_else(|| vec![1, 2, 3, 6]));
    let chunks = dedup(args.chunk_frames.clone().unwrap_or_else(|| if quick { vec![4] } else { vec![2, 4, 16] }));
    let threads = parse_threads(
        &args.threads.clone().unwrap_or_else(|| if quick { vec!["all".into()] } else { vec!["1".into(), "all".into()] }),
    )?;
    if let Some(s) = steps.iter().find(|&&s| !(1..=6).contains(&s)) {
        bail!("--steps: {s} is outside 1-6");
    }
    if chunks.contains(&0) {
        bail!("--chunk-frames: C must be at least 1");
    }
    anyhow::ensure!(args.probe_rate >= 8000, "--probe-rate must be at least 8000 Hz");
    // GPU devices ignore the CPU thread count: one thread setting there.
    let mut grid = Vec::new();
    for (di, (dname, _)) in devices.iter().enumerate() {
        let cpu = dname.starts_with("cpu") || dname.starts_with("flex");
        let ts: &[usize] = if cpu { &threads } else { &threads[..1] };
        for &c in &chunks {
            for &t in ts {
                for &s in &steps {
                    grid.push(Setting { device: di, steps: s, chunk_frames: c, threads: t, stagger: false });
                    if args.stagger && s > 1 {
                        grid.push(Setting { device: di, steps: s, chunk_frames: c, threads: t, stagger: true });
                    }
                }
            }
        }
    }
    if let Some(n) = args.grid_limit {
        grid.truncate(n.max(1));
    }
    let mut probes: Vec<(usize, usize, usize)> = Vec::new();
    for s in &grid {
        let key = probe_key(s);
        if !probes.contains(&key) {
            probes.push(key);
        }
    }
    Ok(Plan { steps, threads, grid, probes })
}

/// The latency probe a setting's row cites.
fn probe_key(s: &Setting) -> (usize, usize, usize) {
    (s.device, s.chunk_frames, if s.stagger { s.steps } else { 0 })
}

/// The clean/noisy pairs to measure on (the committed fixtures by default).
fn load_audio(args: &BenchArgs) -> Result<(PathBuf, Vec<crate::bench::Pair>)> {
    let audio_dir = match &args.audio {
        Some(d) => d.clone(),
        None => default_audio_dir().context(
            "the committed fixtures (tests/fixtures/{clean,noisy}) were not found: run from the source tree or pass --audio DIR",
        )?,
    };
    let mut pairs = load_pairs(&audio_dir)?;
    if let Some(s) = args.max_audio_s {
        anyhow::ensure!(s > 0.5, "--max-audio-s must be above 0.5 s");
        pairs = pairs.into_iter().map(|p| p.truncated(s)).collect();
    }
    Ok((audio_dir, pairs))
}

/// One model per device (`--device`, plus CUDA when built with it).
fn load_models(args: &BenchArgs) -> Result<Devices> {
    let mut names = args.device.clone().unwrap_or_else(|| vec!["cpu".into()]);
    if args.device.is_none() && cfg!(feature = "cuda") {
        names.push("cuda".into());
    }
    let mut devices = Vec::new();
    for name in names {
        let dev = parse_device(&name).map_err(anyhow::Error::msg)?;
        let enh = load_enhancer(args.model.as_deref(), &dev, args.seed)?.with_samples(args.samples.samples);
        devices.push((name, Arc::new(Mutex::new(enh))));
    }
    Ok(devices)
}

/// Notes on what may have skewed the figures (load, thread counts, RSS resets).
fn machine_notes(machine: &Machine, threads: &[usize]) -> Vec<String> {
    let mut notes = vec!["lookahead is 0 ms for every row: the denoiser is causal and recurrent, so there is no lookahead setting (see engine::streamer)".to_string()];
    if let Some(l) = machine.load_avg_1m {
        if l > 0.5 * machine.logical_cores as f64 {
            notes.push(format!(
                "load average {l:.2} on {} cores at start: other processes competed for the CPU, timings are pessimistic",
                machine.logical_cores
            ));
        }
    }
    if threads.iter().any(|&t| t > machine.logical_cores) {
        notes.push("some thread counts exceed the logical cores".into());
    }
    if !reset_peak_rss() {
        notes.push("peak RSS could not be reset between settings: it is the process's running peak".into());
    }
    notes
}

/// A row with only what every system has: the rest is filled in by the caller.
fn bare_row(system: System, setting: String, si_sdr_db: f64, estoi: f64) -> Row {
    Row {
        system,
        setting,
        steps: None,
        chunk_frames: None,
        threads: None,
        device: None,
        lookahead_ms: 0.0,
        chunk_audio_ms: None,
        algorithmic_latency_ms: None,
        measured_latency_ms: None,
        buffering_ms: None,
        latency_correlation: None,
        chunk_times: None,
        rtf: None,
        headroom: None,
        peak_rss_mib: None,
        si_sdr_db,
        estoi,
        rtf_vs_rnnoise: None,
        latency_vs_rnnoise: None,
        si_sdr_vs_rnnoise_db: None,
    }
}

/// RNNoise through the same harness on the same audio: the reference for every ratio.
fn rnnoise_row(pairs: &[crate::bench::Pair], audio_s: f64, probe_rate: u32) -> Result<Row> {
    reset_peak_rss();
    let (mut times, mut outputs, mut busy) = (Vec::new(), Vec::new(), 0.0);
    // Warm-up, not counted.
    rnnoise_enhance(&pairs[0].noisy[..pairs[0].noisy.len().min(MODEL_RATE as usize / 2)], MODEL_RATE)?;
    for p in pairs {
        let t0 = Instant::now();
        let (y, t) = rnnoise_enhance(&p.noisy, MODEL_RATE)?;
        busy += t0.elapsed().as_secs_f64();
        times.extend(t.into_iter().skip(WARMUP_CHUNKS));
        outputs.push(y);
    }
    let (si_sdr, estoi) = quality(pairs, &outputs);
    let lat = measure_rnnoise_latency(probe_rate)?;
    let rtf = busy / audio_s;
    Ok(Row {
        threads: Some(1),
        device: Some("cpu".into()),
        chunk_audio_ms: Some(RNNOISE_FRAME as f64 * 1000.0 / RNNOISE_RATE as f64),
        algorithmic_latency_ms: Some(lat.algorithmic_ms),
        measured_latency_ms: Some(lat.measured_ms),
        buffering_ms: Some(lat.buffering_ms),
        latency_correlation: Some(lat.correlation),
        chunk_times: ChunkTimes::from_durations(&times, 0),
        rtf: Some(rtf),
        headroom: Some(1.0 / rtf.max(1e-12)),
        peak_rss_mib: mib(peak_rss_bytes()),
        ..bare_row(System::Rnnoise, format!("nnnoiseless 0.5.2, 1 thread, {} Hz", RNNOISE_RATE), si_sdr, estoi)
    })
}

/// The unprocessed input, so quality figures have their baseline.
fn noisy_row(pairs: &[crate::bench::Pair]) -> Row {
    let noisy: Vec<Vec<f32>> = pairs.iter().map(|p| p.noisy.clone()).collect();
    let (si_sdr, estoi) = quality(pairs, &noisy);
    bare_row(System::Noisy, "unprocessed".into(), si_sdr, estoi)
}

/// End-to-end latency probes through the threaded engine, one per key of the plan.
fn latency_probes(plan: &Plan, devices: &Devices, probe_rate: u32, bar: &ProgressBar, notes: &mut Vec<String>) -> Result<Vec<((usize, usize, usize), LatencyProbe)>> {
    let mut probes = Vec::new();
    for &(di, c, staggered) in &plan.probes {
        let (dname, enh) = &devices[di];
        bar.set_message(format!("latency probe C={c} {dname}"));
        let cfg = match staggered {
            0 => streamer_cfg(&enh.lock().expect("model"), c, plan.steps[0]),
            s => streamer_cfg(&enh.lock().expect("model"), c, s).with_stagger(true),
        };
        let p = measure_engine_latency(Box::new(SharedDenoiser(enh.clone())), &cfg, probe_rate)
            .with_context(|| format!("latency probe C={c} on {dname}"))?;
        if p.correlation < 0.3 {
            notes.push(format!(
                "latency probe C={c} {dname}: low correlation {:.2} (the model changed the chirp a lot): the measured delay is uncertain",
                p.correlation
            ));
        }
        probes.push(((di, c, staggered), p));
        bar.inc(1);
    }
    Ok(probes)
}

/// Streams the pairs through every setting of the grid: per-call times, RTF, memory, quality.
fn measure_grid(
    grid: &[Setting],
    devices: &Devices,
    pairs: &[crate::bench::Pair],
    probes: &[((usize, usize, usize), LatencyProbe)],
    bar: &ProgressBar,
) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for s in grid {
        let (dname, enh) = &devices[s.device];
        let stagger = if s.stagger { " stagger" } else { "" };
        let setting = format!("steps={} C={} thr={} {dname}{stagger}", s.steps, s.chunk_frames, s.threads);
        bar.set_message(setting.clone());
        reset_peak_rss();
        let hop = enh.lock().expect("model").config().hop;
        let enh = enh.clone();
        let m = with_threads(s.threads, move || {
            let mut guard = enh.lock().expect("model");
            let cfg = streamer_cfg(&guard, s.chunk_frames, s.steps).with_stagger(s.stagger);
            measure_streamer(&mut *guard, &cfg, pairs)
        })??;
        let probe = probes.iter().find(|(k, _)| *k == probe_key(s)).map(|(_, p)| *p);
        let rtf = m.rtf();
        rows.push(Row {
            steps: Some(s.steps),
            chunk_frames: Some(s.chunk_frames),
            threads: Some(s.threads),
            device: Some(dname.clone()),
            chunk_audio_ms: Some((s.chunk_frames * hop) as f64 * 1000.0 / MODEL_RATE as f64),
            algorithmic_latency_ms: Some(probe.map_or(m.latency_samples as f64 * 1000.0 / MODEL_RATE as f64, |p| p.algorithmic_ms)),
            measured_latency_ms: probe.map(|p| p.measured_ms),
            buffering_ms: probe.map(|p| p.buffering_ms),
            latency_correlation: probe.map(|p| p.correlation),
            chunk_times: m.chunk_times,
            rtf: Some(rtf),
            headroom: Some(1.0 / rtf.max(1e-12)),
            peak_rss_mib: mib(peak_rss_bytes()),
            ..bare_row(System::Restoregrad, setting, m.si_sdr, m.estoi)
        });
        bar.inc(1);
    }
    Ok(rows)
}

/// Writes bench.json, bench.md (and bench.png) and prints the table; returns the paths.
fn write_report(report: &Report, args: &BenchArgs, g: Globals) -> Result<Vec<String>> {
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("{}: cannot create", args.out_dir.display()))?;
    let json = args.out_dir.join("bench.json");
    let md = args.out_dir.join("bench.md");
    report.write_json(&json)?;
    report.write_markdown(&md)?;
    println!("{}", report.markdown());
    let mut written = vec![json.display().to_string(), md.display().to_string()];
    if args.plot {
        let png = args.out_dir.join("bench.png");
        let labelled = report.plot_png(&png)?;
        if !labelled && !g.quiet {
            crate::diag!("note: no TrueType font found (set RESTOREGRAD_FONT): the plot has no text labels");
        }
        written.push(png.display().to_string());
    }
    Ok(written)
}

fn streamer_cfg(enh: &Enhancer, chunk_frames: usize, steps: usize) -> StreamerConfig {
    StreamerConfig::default().with_stft(enh.config().stft()).with_chunk_frames(chunk_frames).with_steps(steps)
}
