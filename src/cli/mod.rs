//! The `restoregrad` command line: one file per subcommand.

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::process::ExitCode;

/// Like `eprintln!`, but a failed write (a closed or full stderr, as in `cmd 2>&1 | head -1`)
/// is ignored instead of panicking: losing a diagnostic must not lose the work.
#[macro_export]
macro_rules! diag {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr().lock(), $($arg)*);
    }};
}

pub mod bench;
pub mod devices;
pub mod enhance;
pub mod eval;
pub mod export;
pub mod live;
pub mod plot_ablation;
pub mod score;
pub mod train;

/// restoregrad: speech enhancement with a learned-prior diffusion denoiser.
#[derive(Parser, Debug)]
#[command(name = "restoregrad", version, about, long_about = None)]
pub struct Cli {
    /// Print only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Enhance audio files with the shipped (or a given) model.
    Enhance(enhance::EnhanceArgs),
    /// Score enhanced audio against clean references (PESQ, STOI, ESTOI, SI-SDR, SNR, segSNR).
    Score(score::ScoreArgs),
    /// Train a model on the shared data.
    Train(train::TrainArgs),
    /// Export the EMA weights of a training checkpoint as a model folder.
    Export(export::ExportArgs),
    /// List audio input and output devices.
    Devices(devices::DevicesArgs),
    /// Live denoising from a microphone (or a file through the same threaded engine).
    Live(live::LiveArgs),
    /// Measure latency, speed and quality over a grid of settings.
    Bench(bench::BenchArgs),
    /// Quality of a model against the number of sampling steps (validation sets or files) as CSV.
    Eval(eval::EvalArgs),
    /// Plots and tables of a prior ablation from its runs' logs and eval CSVs.
    PlotAblation(plot_ablation::PlotAblationArgs),
}

/// Global output options passed to every subcommand.
#[derive(Debug, Clone, Copy)]
pub struct Globals {
    /// Print only errors.
    pub quiet: bool,
    /// Verbosity level.
    pub verbose: u8,
}

/// The log filter for the global flags: `-q` errors only, default warnings, `-v` info, `-vv`
/// debug. The decoder library (symphonia) is silent below `-vv`: its lines ("probe reach EOF",
/// "estimating duration from bitrate ...") are noise to a user, and every decoding failure
/// reaches the user as the reader's own error naming the file. `RUST_LOG` overrides all of it.
fn log_filter(quiet: bool, verbose: u8) -> String {
    match (quiet, verbose) {
        (true, _) => "error,symphonia=off".into(),
        (false, 0) => "warn,symphonia=off".into(),
        (false, 1) => "info,symphonia=off".into(),
        _ => "debug,symphonia=warn".into(),
    }
}

/// Parses the command line, runs the subcommand and maps errors to a non-zero exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = log_filter(cli.quiet, cli.verbose);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        // Colour codes only for a terminal: in a pipe or a log file they are garbage.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
    let g = Globals { quiet: cli.quiet, verbose: cli.verbose };
    let result = run_guarded(move || run_command(cli.command, g));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<crate::error::Interrupted>().is_some() => {
            diag!("{}", describe(&e, None));
            ExitCode::from(130)
        }
        Err(e) => {
            diag!("error: {}", describe(&e, None));
            ExitCode::FAILURE
        }
    }
}

/// One line for an error and its causes, each said once: a cause whose text its parent already
/// quotes (an I/O error inside "X: cannot open: <it>") is skipped, and with `subject` (the file
/// a job was about) the line starts with it unless the message already does.
pub fn describe(e: &anyhow::Error, subject: Option<&str>) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    match subject {
        Some(s) if !line.starts_with(s) => format!("{s}: {line}"),
        _ => line,
    }
}

/// Runs `f`; a panic from a failed `eprintln!`/`println!` (the reader of a `2>&1 | head -1`
/// pipe has gone) ends the process with exit 1 instead of a crash report nobody can read
/// (exit 101, or an abort when the panic unwinds out of a lock such as indicatif's `suspend`,
/// whose guard it poisons for the destructors that follow). Other panics are bugs and unwind
/// as usual. Code should print through [`diag!`](crate::diag), which never panics.
fn run_guarded(f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if is_stderr_failure(info.payload()) {
            // Exit before unwinding: a destructor meeting a poisoned lock would abort.
            std::process::exit(1);
        }
        default_hook(info);
    }));
    f()
}

/// Whether a panic payload is std's "failed printing to stderr" (or stdout).
fn is_stderr_failure(payload: &(dyn std::any::Any + Send)) -> bool {
    let msg = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied());
    msg.is_some_and(|m| m.starts_with("failed printing to std"))
}

fn run_command(command: Command, g: Globals) -> anyhow::Result<()> {
    match command {
        Command::Enhance(a) => enhance::run(a, g),
        Command::Score(a) => score::run(a, g),
        Command::Train(a) => train::run(a, g),
        Command::Export(a) => export::run(a, g),
        Command::Devices(a) => devices::run(a, g),
        Command::Live(a) => live::run(a, g),
        Command::Bench(a) => bench::run(a, g),
        Command::Eval(a) => eval::run(a, g),
        Command::PlotAblation(a) => plot_ablation::run(a, g),
    }
}

/// The sampler's averaging option, shared by the commands that run the model.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct SamplesArg {
    /// Sampler runs averaged per chunk: 2 runs the prior noise z and −z as one batch and averages
    /// the two estimates (+0.001-0.002 ESTOI and +0.01 PESQ on validation, twice the network
    /// compute); 1 runs the sampler once.
    #[arg(long, default_value_t = crate::model::Enhancer::DEFAULT_SAMPLES, value_parser = parse_samples)]
    pub samples: usize,
}

fn parse_samples(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=crate::model::Enhancer::MAX_SAMPLES).contains(&n) => Ok(n),
        _ => Err(format!("expected 1 or {}, got {s:?}", crate::model::Enhancer::MAX_SAMPLES)),
    }
}

/// The most STFT frames per model call a size flag may ask for (`enhance --chunk-frames`, and
/// `live --chunk-ms` in hops): 512 frames are 4 s at 16 kHz, well past where a larger chunk
/// stops paying off, and far below sizes whose buffers cannot be allocated.
pub const MAX_CHUNK_FRAMES: u64 = 512;

/// The most reverse diffusion steps a command accepts (the shipped fast schedule has 6).
pub const MAX_STEPS: u64 = 6;

/// Clap's parser for a chunk size in frames: 1..=[`MAX_CHUNK_FRAMES`].
pub fn chunk_frames_range() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_CHUNK_FRAMES)
}

/// Clap's parser for a step count: 1..=[`MAX_STEPS`].
pub fn steps_range() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_STEPS)
}

/// Clap's parser for a post-filter exponent: a finite number in
/// 0..=[`crate::engine::StreamerConfig::MAX_POST_FILTER`] (`enhance` and `live` share it).
pub fn post_filter_range() -> impl Fn(&str) -> Result<f64, String> + Clone {
    bounded_f64(0.0, crate::engine::StreamerConfig::MAX_POST_FILTER as f64, "(exponent)")
}

/// A parser for a finite number of milliseconds or seconds in `lo..=hi` (a float flag that
/// sizes buffers: `1e9` or `inf` must be refused before anything is allocated).
pub fn bounded_f64(lo: f64, hi: f64, unit: &'static str) -> impl Fn(&str) -> Result<f64, String> + Clone {
    move |s: &str| match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (lo..=hi).contains(&v) => Ok(v),
        Ok(_) => Err(format!("{s} is out of range: expected {lo} to {hi} {unit}")),
        Err(_) => Err(format!("{s:?} is not a number")),
    }
}
