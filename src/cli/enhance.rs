//! `restoregrad enhance`: enhance audio files with the shipped (or a given) model.
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

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::Globals;
use crate::audio::{ensure_distinct, AudioReader, SampleFormat, WavWriter};
use crate::engine::segments::{enhance_segments_16k, SegmentConfig};
use crate::engine::{Aligner, Pipeline, StreamerConfig};
use crate::model::{load_model_or_default, parse_device, ChunkDenoiser, Enhancer, ModelConfig, RestoreGrad};
use crate::MODEL_RATE;

/// Arguments of `restoregrad enhance`.
#[derive(clap::Args, Debug)]
pub struct EnhanceArgs {
    /// Input audio files (WAV, FLAC, MP3, OGG/Vorbis; any rate 8-192 kHz; any channel count).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output file (one input only).
    #[arg(short = 'o', long, conflicts_with = "out_dir")]
    pub output: Option<PathBuf>,
    /// Output folder: each input is written there as STEM.wav.
    #[arg(long, required_unless_present = "output")]
    pub out_dir: Option<PathBuf>,
    /// Reverse diffusion steps (1-6); the default is the shipped model's best on validation.
    #[arg(long, default_value_t = crate::engine::StreamerConfig::DEFAULT_STEPS)]
    pub steps: usize,
    /// Remove at most this many dB of noise (mixes the noisy input back in); unlimited if unset.
    #[arg(long)]
    pub atten_lim_db: Option<f32>,
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
    #[arg(long, default_value_t = 32)]
    pub chunk_frames: usize,
    /// Write 32-bit float WAV instead of 16-bit PCM.
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
    /// log-variance map (one input only).
    #[arg(long, value_name = "PNG", conflicts_with = "rnnoise")]
    pub plot: Option<PathBuf>,
}

/// Enhances one file into `output`; returns (audio seconds, processing seconds).
fn enhance_file(
    input: &Path,
    output: &Path,
    cfg: &ModelConfig,
    model: &RestoreGrad,
    args: &EnhanceArgs,
    device: &burn::prelude::Device,
    bar: &ProgressBar,
) -> Result<(f64, f64)> {
    ensure_distinct(input, output)?;
    let started = Instant::now();
    let mut reader = AudioReader::open(input)?;
    let (rate, channels) = (reader.sample_rate(), reader.channels());
    bar.set_length(reader.total_frames().unwrap_or(0));
    bar.set_position(0);
    let scfg = streamer_config(cfg, args);
    scfg.validate().map_err(anyhow::Error::msg)?;
    let block = 1 << 14;
    let denoisers = (0..channels)
        .map(|_| Box::new(Enhancer::new(cfg.clone(), model.clone(), device.clone(), args.seed).with_samples(args.samples.samples)) as Box<dyn ChunkDenoiser>)
        .collect();
    let mut pipeline = Pipeline::new(denoisers, scfg, rate, block)?;
    let mut aligner = Aligner::new(pipeline.latency().total_out, channels);
    let fmt = if args.float { SampleFormat::Float32 } else { SampleFormat::Pcm16 };
    let mut writer = WavWriter::create(output, rate, channels, fmt)?;
    let (mut interleaved, mut raw, mut aligned) = (Vec::with_capacity(block * channels), Vec::new(), Vec::new());
    let mut frames_in = 0u64;
    loop {
        let n = reader.read_block(&mut interleaved, block)?;
        if n == 0 {
            break;
        }
        frames_in += n as u64;
        pipeline.process(&interleaved, &mut raw);
        aligner.push(&raw, frames_in, &mut aligned);
        writer.write(&aligned)?;
        raw.clear();
        aligned.clear();
        bar.set_position(frames_in);
    }
    if frames_in == 0 {
        bail!("{}: zero-length audio", input.display());
    }
    pipeline.finish(&mut raw);
    aligner.push(&raw, frames_in, &mut aligned);
    writer.write(&aligned)?;
    if aligner.written() != frames_in {
        bail!("{}: internal error: wrote {} of {frames_in} frames", input.display(), aligner.written());
    }
    let report = writer.finish()?;
    if report.clipped > 0 {
        tracing::warn!("{}: {} samples clipped", output.display(), report.clipped);
    }
    Ok((frames_in as f64 / rate as f64, started.elapsed().as_secs_f64()))
}

/// The streamer settings the flags ask for.
fn streamer_config(cfg: &ModelConfig, args: &EnhanceArgs) -> StreamerConfig {
    StreamerConfig::default()
        .with_stft(cfg.stft())
        .with_chunk_frames(args.chunk_frames)
        .with_steps(args.steps)
        .with_atten_lim_db(args.atten_lim_db)
}

/// The batched segment path on one file (whole-file, per channel), written the same way.
fn enhance_file_segments(
    input: &Path,
    output: &Path,
    cfg: &ModelConfig,
    model: &RestoreGrad,
    args: &EnhanceArgs,
    device: &burn::prelude::Device,
) -> Result<(f64, f64)> {
    ensure_distinct(input, output)?;
    let started = Instant::now();
    let audio = crate::audio::read_audio(input)?;
    if audio.frames() == 0 {
        bail!("{}: zero-length audio", input.display());
    }
    let scfg = streamer_config(cfg, args);
    let seg = SegmentConfig::new(args.batch_segments).with_burn_in_frames(args.burn_in_frames);
    let mut enh = Enhancer::new(cfg.clone(), model.clone(), device.clone(), args.seed).with_samples(args.samples.samples);
    let rate = audio.sample_rate;
    let chans = (0..audio.channels)
        .map(|c| {
            // Offline resampling is delay-compensated both ways, so the result stays aligned.
            let x16 = crate::dsp::resample::resample(&audio.channel(c), rate, MODEL_RATE);
            let y16 = enhance_segments_16k(&mut enh, &scfg, &seg, &x16)?;
            let mut y = crate::dsp::resample::resample(&y16, MODEL_RATE, rate);
            y.resize(audio.frames(), 0.0);
            Ok(y)
        })
        .collect::<Result<Vec<_>>>()?;
    let out = crate::audio::Audio::from_channels(rate, &chans);
    let fmt = if args.float { SampleFormat::Float32 } else { SampleFormat::Pcm16 };
    let report = crate::audio::write_wav(output, &out, fmt)?;
    if report.clipped > 0 {
        tracing::warn!("{}: {} samples clipped", output.display(), report.clipped);
    }
    Ok((audio.duration_secs(), started.elapsed().as_secs_f64()))
}

/// RNNoise on one file (whole-file, per channel), written the same way.
fn rnnoise_file(input: &Path, output: &Path, args: &EnhanceArgs) -> Result<(f64, f64)> {
    ensure_distinct(input, output)?;
    let started = Instant::now();
    let audio = crate::audio::read_audio(input)?;
    let chans = (0..audio.channels)
        .map(|c| crate::bench::rnnoise::rnnoise_enhance(&audio.channel(c), audio.sample_rate).map(|(y, _)| y))
        .collect::<Result<Vec<_>>>()?;
    let out = crate::audio::Audio::from_channels(audio.sample_rate, &chans);
    let fmt = if args.float { SampleFormat::Float32 } else { SampleFormat::Pcm16 };
    crate::audio::write_wav(output, &out, fmt)?;
    Ok((audio.duration_secs(), started.elapsed().as_secs_f64()))
}

fn output_for(input: &Path, args: &EnhanceArgs) -> PathBuf {
    match (&args.output, &args.out_dir) {
        (Some(o), _) => o.clone(),
        (None, Some(dir)) => dir.join(format!("{}.wav", input.file_stem().unwrap_or_default().to_string_lossy())),
        (None, None) => unreachable!("clap requires -o or --out-dir"),
    }
}

/// Runs `restoregrad enhance`.
pub fn run(args: EnhanceArgs, g: Globals) -> Result<()> {
    if let Some(png) = &args.plot {
        crate::report::spectrogram::check_plot_target(&args.inputs, &output_for(&args.inputs[0], &args), png)?;
    }
    if args.output.is_some() && args.inputs.len() > 1 {
        bail!("-o takes one input; use --out-dir for {} inputs", args.inputs.len());
    }
    if !(1..=6).contains(&args.steps) {
        bail!("--steps must be 1..=6, got {}", args.steps);
    }
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create output folder", dir.display()))?;
    }
    let device = parse_device(&args.device).map_err(anyhow::Error::msg)?;
    let loaded = if args.rnnoise { None } else { Some(load_model_or_default(args.model.as_deref(), &device)?) };
    let multi = MultiProgress::new();
    if g.quiet {
        multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let batch = multi.add(ProgressBar::new(args.inputs.len() as u64));
    batch.set_style(ProgressStyle::with_template("files {bar:30} {pos}/{len} {msg}").expect("template"));
    let file_bar = multi.add(ProgressBar::new(0));
    file_bar.set_style(ProgressStyle::with_template("      {bar:30} {percent:>3}% {wide_msg}").expect("template"));
    let mut failed = 0;
    for input in &args.inputs {
        let output = output_for(input, &args);
        file_bar.set_message(input.display().to_string());
        let result = match &loaded {
            Some((cfg, model)) if args.batch_segments > 0 => enhance_file_segments(input, &output, cfg, model, &args, &device),
            Some((cfg, model)) => enhance_file(input, &output, cfg, model, &args, &device, &file_bar),
            None => rnnoise_file(input, &output, &args),
        };
        let result = match (&args.plot, &loaded) {
            (Some(png), Some((cfg, model))) => result.and_then(|r| crate::report::spectrogram::plot_enhancement(input, &output, cfg, model, &device, png).map(|()| r)),
            _ => result,
        };
        match result {
            Ok((secs, took)) => {
                if g.verbose > 0 {
                    multi.suspend(|| eprintln!("{}: {secs:.2} s of audio in {took:.2} s (RTF {:.3})", output.display(), took / secs.max(1e-9)));
                }
            }
            Err(e) => {
                failed += 1;
                multi.suspend(|| eprintln!("error: {}: {e:#}", input.display()));
            }
        }
        batch.inc(1);
    }
    file_bar.finish_and_clear();
    batch.finish_and_clear();
    if failed > 0 {
        bail!("{failed} of {} files failed", args.inputs.len());
    }
    Ok(())
}
