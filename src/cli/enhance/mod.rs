//! `restoregrad enhance`: enhance audio files with the shipped (or a given) model.
//!
//! The run is planned first ([`plan`]): folders expanded, outputs classified, collisions
//! refused, all before any folder is created or audio read. Files then run on `--jobs` workers
//! ([`file`]), temp files and created folders are removed on SIGINT/SIGTERM or failure
//! ([`cleanup`]), and a summary is printed ([`summary`]).
//!
//! Each file is decoded in blocks, each channel is resampled to 16 kHz, streamed through its own
//! [`Streamer`] (the same core as the live engine) and resampled back, and the output is written
//! through an atomic WAV writer. Memory stays bounded whatever the file length; the resampling
//! and chunking delays are trimmed, so the output has the input's length, rate and channels and
//! is aligned with it.
//!
//! With `--batch-segments N` a file is instead read whole, and each channel goes through the
//! batched segment path ([`crate::engine::segments`]): N segments of the file, each with a
//! burn-in, run side by side as one batch per model call, then stitched. Same length and
//! alignment; the output is close to the streaming one (a test measures how close).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::Globals;
use crate::engine::segments::SegmentConfig;
use crate::model::{load_model_or_default, parse_device};
use file::Engine;
use plan::{Input, Job, Output};
use summary::Outcome;

pub mod cleanup;
pub mod file;
pub mod plan;
pub mod summary;

/// Arguments of `restoregrad enhance`.
#[derive(clap::Args, Debug)]
pub struct EnhanceArgs {
    /// Input audio files (WAV, FLAC, MP3, OGG/Vorbis; any rate 8-192 kHz; any channel count),
    /// folders (searched recursively for .wav/.flac/.mp3/.ogg), or `-` for a WAV on stdin.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output file (one input only): a new or existing .wav or .flac (16-bit; the format follows
    /// the extension; replaced atomically), `-` for a WAV stream on stdout, or an existing character device or pipe (written in place).
    #[arg(short = 'o', long, conflicts_with = "out_dir")]
    pub output: Option<PathBuf>,
    /// Output folder: each input file is written there as STEM.wav, a folder's files under the
    /// same relative paths. Inputs that would share an output are refused before any work.
    #[arg(long, required_unless_present = "output")]
    pub out_dir: Option<PathBuf>,
    /// Files enhanced in parallel (default: one per core; each gets cores/N compute threads).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024))]
    pub jobs: Option<usize>,
    /// Print a machine-readable summary (per file: input, output, seconds, status, error) on
    /// stdout instead of the summary line on stderr.
    #[arg(long)]
    pub json: bool,
    /// Reverse diffusion steps (1-6); the default is the shipped model's best on validation.
    #[arg(long, default_value_t = crate::engine::StreamerConfig::DEFAULT_STEPS)]
    pub steps: usize,
    /// Remove at most this many dB of noise (mixes the noisy input back in); unlimited if unset.
    #[arg(long)]
    pub atten_lim_db: Option<f32>,
    /// Post-filter exponent: bins the model made quieter by a gain G are scaled by a further
    /// G^P, pushing residual noise down (0: off; 0-4).
    #[arg(long, value_name = "P", default_value_t = crate::engine::StreamerConfig::DEFAULT_POST_FILTER as f64, value_parser = crate::cli::post_filter_range())]
    pub post_filter: f64,
    /// Model folder (config.json + weights.bpk); the shipped model if unset.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Seed of the diffusion sampler (same seed, same output).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sampler averaging.
    #[command(flatten)]
    pub samples: crate::cli::SamplesArg,
    /// Compute device: cpu, cuda[:N] or vulkan (GPU backends need their cargo feature; tch also works but is slower than cpu here).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// STFT frames per model call (larger is faster offline; 2 matches the live default).
    #[arg(long, default_value_t = 32, value_parser = crate::cli::chunk_frames_range())]
    pub chunk_frames: usize,
    /// Write 32-bit float WAV instead of 16-bit PCM (WAV outputs only).
    #[arg(long)]
    pub float: bool,
    /// Offline batching: cut each file into N segments run as one batch per model call (the
    /// whole file is read into memory). 0 (default): the streaming path.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub batch_segments: usize,
    /// With --batch-segments: frames each segment but the first starts early so the model's
    /// recurrent state settles; their output is dropped (rounded up to whole --chunk-frames).
    #[arg(long, default_value_t = SegmentConfig::DEFAULT_BURN_IN_FRAMES, value_name = "W", requires = "batch_segments")]
    pub burn_in_frames: usize,
    /// Run RNNoise (the nnnoiseless crate) instead of the model, for side-by-side comparisons.
    #[arg(long, conflicts_with_all = ["model", "steps", "seed", "samples"])]
    pub rnnoise: bool,
    /// Also draw PNG: the noisy and enhanced spectrograms, the per-bin gain and the model's prior
    /// log-variance map (one input file and one output file only).
    #[arg(long, value_name = "PNG", conflicts_with = "rnnoise")]
    pub plot: Option<PathBuf>,
}

/// Runs `restoregrad enhance`.
pub fn run(args: EnhanceArgs, g: Globals) -> Result<()> {
    if args.json && args.output.as_deref() == Some(Path::new("-")) {
        bail!("--json and -o - both write to stdout; choose one");
    }
    if !(1..=6).contains(&args.steps) {
        bail!("--steps must be 1..=6, got {}", args.steps);
    }
    // Everything that can be refused is refused before a folder is created or a file read.
    let jobs = plan::plan(&args.inputs, args.output.as_deref(), args.out_dir.as_deref())?;
    if let Some(flac) = jobs.iter().find(|j| args.float && crate::audio::Container::of(Path::new(&j.shown_out)) == Some(crate::audio::Container::Flac)) {
        bail!("{}: FLAC holds integer samples only; --float needs a .wav output", flac.shown_out);
    }
    let plot = args.plot.as_deref().map(|png| plot_target(&jobs, png)).transpose()?;
    let engine = if args.rnnoise {
        Engine::Rnnoise
    } else {
        let device = parse_device(&args.device).map_err(anyhow::Error::msg)?;
        let (cfg, model) = load_model_or_default(args.model.as_deref(), &device)?;
        Engine::Model(cfg, model, device)
    };
    cleanup::install_signal_handler();
    for dir in output_folders(&jobs) {
        if let Err(e) = cleanup::create_dir_all(&dir) {
            cleanup::remove_created_dirs();
            return Err(e);
        }
    }
    let started = Instant::now();
    let outcomes = run_jobs(&jobs, &engine, &args, g);
    let wall = started.elapsed().as_secs_f64();
    let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
    if failed > 0 {
        cleanup::remove_created_dirs();
    }
    if args.json {
        let _ = writeln!(std::io::stdout().lock(), "{}", summary::json(&outcomes, wall));
    } else if !g.quiet {
        crate::diag!("{}", summary::line(&outcomes, wall));
    }
    if failed > 0 {
        bail!("{failed} of {} files failed", outcomes.len());
    }
    if let (Some((input, output, png)), Engine::Model(cfg, model, device)) = (plot, &engine) {
        crate::report::spectrogram::plot_enhancement(&input, &output, cfg, model, device, &png)?;
    }
    Ok(())
}

/// `--plot`: the one input file, its output file and the PNG, checked before any work.
fn plot_target(jobs: &[Job], png: &Path) -> Result<(PathBuf, PathBuf, PathBuf)> {
    let (Input::File(input), Output::Atomic(output)) = (&jobs[0].input, &jobs[0].output) else {
        bail!("--plot {} needs an input file and an output file (not - or a device)", png.display());
    };
    let inputs: Vec<PathBuf> = jobs.iter().map(|j| PathBuf::from(&j.shown_in)).collect();
    crate::report::spectrogram::check_plot_target(&inputs, output, png)?;
    Ok((input.clone(), output.clone(), png.to_path_buf()))
}

/// The folders the atomic outputs go into.
fn output_folders(jobs: &[Job]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = jobs
        .iter()
        .filter_map(|j| match &j.output {
            Output::Atomic(p) => p.parent().map(Path::to_path_buf),
            _ => None,
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// `--jobs` workers (at most one per file) and rayon threads per worker, so that together they
/// use the cores without oversubscribing them.
fn workers_and_threads(args: &EnhanceArgs, files: usize) -> (usize, usize) {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let workers = args.jobs.unwrap_or(cores).clamp(1, files.max(1));
    (workers, (cores / workers).max(1))
}

/// Runs every job on the workers; outcomes in job order. Errors are printed as they happen.
fn run_jobs(jobs: &[Job], engine: &Engine, args: &EnhanceArgs, g: Globals) -> Vec<Outcome> {
    let (workers, threads) = workers_and_threads(args, jobs.len());
    let multi = MultiProgress::new();
    if g.quiet {
        multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let batch = multi.add(ProgressBar::new(jobs.len() as u64));
    batch.set_style(ProgressStyle::with_template("files {bar:30} {pos}/{len} [{elapsed}<{eta}] {msg}").expect("template"));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; jobs.len()]);
    std::thread::scope(|s| {
        for _ in 0..workers {
            let (engine, bar) = (engine.clone(), multi.add(ProgressBar::new(0)));
            bar.set_style(ProgressStyle::with_template("      {bar:30} {percent:>3}% {wide_msg}").expect("template"));
            let (next, results, multi, batch) = (&next, &results, &multi, &batch);
            s.spawn(move || {
                let work = || {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(job) = jobs.get(i) else { break };
                        bar.set_message(job.shown_in.clone());
                        let outcome = run_one(job, &engine, args, &bar, multi);
                        results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(outcome);
                        batch.inc(1);
                    }
                    bar.finish_and_clear();
                };
                // burn's Flex backend runs on the current rayon pool: one pool per worker.
                if crate::bench::with_threads(threads, work).is_err() {
                    tracing::warn!("cannot build a thread pool; running on the global one");
                }
            });
        }
    });
    batch.finish_and_clear();
    results.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().map(|o| o.expect("every job ran")).collect()
}

/// One job, timed, its error printed.
fn run_one(job: &Job, engine: &Engine, args: &EnhanceArgs, bar: &ProgressBar, multi: &MultiProgress) -> Outcome {
    let started = Instant::now();
    let result = file::run_job(job, engine, args, bar);
    let wall_seconds = started.elapsed().as_secs_f64();
    let (seconds, error) = match result {
        Ok(secs) => (secs, None),
        Err(e) => {
            let msg = crate::cli::describe(&e, Some(&job.shown_in));
            multi.suspend(|| crate::diag!("error: {msg}"));
            (0.0, Some(msg))
        }
    };
    Outcome { input: job.shown_in.clone(), output: job.shown_out.clone(), seconds, wall_seconds, status: if error.is_some() { "error" } else { "ok" }, error }
}
