//! One file through the model (streaming or batched segments) or RNNoise, from a file or
//! stdin to an atomic file, a device or stdout.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Result};
use indicatif::ProgressBar;

use super::cleanup::{StdinCopy, TrackedWriter};
use super::plan::{Input, Job, Output};
use super::EnhanceArgs;
use crate::audio::{ensure_distinct, Audio, AudioReader, SampleFormat, WavStreamWriter, WriteReport};
use crate::engine::segments::{enhance_segments_16k, SegmentConfig};
use crate::engine::{stream_aligned, Pipeline, StreamerConfig};
use crate::model::{ChunkDenoiser, Enhancer, ModelConfig, RestoreGrad};
use crate::MODEL_RATE;

/// What enhances: the model or RNNoise. Cloned per `--jobs` worker.
#[derive(Clone)]
pub enum Engine {
    /// The model, its config and the compute device.
    Model(ModelConfig, RestoreGrad, burn::prelude::Device),
    /// RNNoise (`--rnnoise`).
    Rnnoise,
}

/// Enhances one job; returns the seconds of audio. Errors name the input or output; a stdin
/// input is called `-`, never by its temp file.
pub fn run_job(job: &Job, engine: &Engine, args: &EnhanceArgs, bar: &ProgressBar) -> Result<f64> {
    let stdin;
    let input = match &job.input {
        Input::File(p) => p.as_path(),
        Input::Stdin => {
            stdin = StdinCopy::read()?;
            stdin.path()
        }
    };
    let result = match (engine, &job.output) {
        (_, Output::Atomic(out) | Output::Device(out)) if job.input != Input::Stdin => ensure_distinct(input, out).map_err(Into::into),
        _ => Ok(()),
    };
    let result = result.and_then(|()| match engine {
        Engine::Model(cfg, model, device) if args.batch_segments > 0 => segments(input, &job.output, cfg, model, device, args),
        Engine::Model(cfg, model, device) => streaming(input, &job.output, cfg, model, device, args, bar),
        Engine::Rnnoise => rnnoise(input, &job.output, args),
    });
    match &job.input {
        Input::Stdin => result.map_err(|e| anyhow::anyhow!("{}", crate::cli::describe(&e, None).replace(&input.display().to_string(), "-"))),
        Input::File(_) => result,
    }
}

/// Decoded input, streamed from the file or (for an output that needs its length up front)
/// held whole.
enum Source {
    Stream(AudioReader),
    Whole(Audio, usize),
}

impl Source {
    fn open(input: &Path, whole: bool) -> Result<Self> {
        Ok(if whole { Source::Whole(crate::audio::read_audio(input)?, 0) } else { Source::Stream(AudioReader::open(input)?) })
    }

    fn rate_channels(&self) -> (u32, usize) {
        match self {
            Source::Stream(r) => (r.sample_rate(), r.channels()),
            Source::Whole(a, _) => (a.sample_rate, a.channels),
        }
    }

    /// Exact length when known (always for a whole input), for progress and stream headers.
    fn frames(&self) -> Option<u64> {
        match self {
            Source::Stream(r) => r.total_frames(),
            Source::Whole(a, _) => Some(a.frames() as u64),
        }
    }

    fn read_block(&mut self, out: &mut Vec<f32>, max_frames: usize) -> Result<usize> {
        match self {
            Source::Stream(r) => Ok(r.read_block(out, max_frames)?),
            Source::Whole(a, pos) => {
                out.clear();
                let end = (*pos + max_frames * a.channels).min(a.samples.len());
                out.extend_from_slice(&a.samples[*pos..end]);
                let n = (end - *pos) / a.channels;
                *pos = end;
                Ok(n)
            }
        }
    }
}

/// Where samples go: an atomic file, or a WAV stream of known length.
enum Sink {
    File(TrackedWriter),
    Stream(WavStreamWriter<Box<dyn Write>>),
}

impl Sink {
    /// `frames` must be known for a device or stdout (the WAV header comes first).
    fn open(output: &Output, rate: u32, channels: usize, format: SampleFormat, frames: Option<u64>) -> Result<Self> {
        let stream = |w: Box<dyn Write>, name: &Path| -> Result<Self> {
            let frames = frames.expect("a streamed output is given a whole input");
            Ok(Sink::Stream(WavStreamWriter::new(w, name, rate, channels, format, frames)?))
        };
        match output {
            Output::Atomic(p) => Ok(Sink::File(TrackedWriter::create(p, rate, channels, format)?)),
            Output::Device(p) => {
                let f = std::fs::OpenOptions::new().write(true).open(p).map_err(|e| anyhow::anyhow!("{}: cannot open for writing: {e}", p.display()))?;
                stream(Box::new(std::io::BufWriter::new(f)), p)
            }
            Output::Stdout => stream(Box::new(std::io::BufWriter::new(std::io::stdout())), Path::new("-")),
        }
    }

    fn write(&mut self, samples: &[f32]) -> Result<()> {
        match self {
            Sink::File(w) => Ok(w.write(samples)?),
            Sink::Stream(w) => Ok(w.write(samples)?),
        }
    }

    fn finish(self) -> Result<WriteReport> {
        let report = match self {
            Sink::File(w) => w.finish()?,
            Sink::Stream(w) => w.finish()?,
        };
        if report.clipped > 0 {
            tracing::warn!("{}: {} samples clipped", report.path.display(), report.clipped);
        }
        Ok(report)
    }
}

fn sample_format(args: &EnhanceArgs) -> SampleFormat {
    if args.float { SampleFormat::Float32 } else { SampleFormat::Pcm16 }
}

/// The streaming path: blocks through one [`Pipeline`], aligned, written as they come.
fn streaming(input: &Path, output: &Output, cfg: &ModelConfig, model: &RestoreGrad, device: &burn::prelude::Device, args: &EnhanceArgs, bar: &ProgressBar) -> Result<f64> {
    let mut src = Source::open(input, !matches!(output, Output::Atomic(_)))?;
    let (rate, channels) = src.rate_channels();
    bar.set_length(src.frames().unwrap_or(0));
    bar.set_position(0);
    let scfg = streamer_config(cfg, args);
    scfg.validate().map_err(anyhow::Error::msg)?;
    let block = crate::engine::file::FILE_BLOCK;
    let denoisers = (0..channels)
        .map(|_| Box::new(Enhancer::new(cfg.clone(), model.clone(), device.clone(), args.seed).with_samples(args.samples.samples)) as Box<dyn ChunkDenoiser>)
        .collect();
    let mut pipeline = Pipeline::new(denoisers, scfg, rate, block)?;
    let mut sink = Sink::open(output, rate, channels, sample_format(args), src.frames())?;
    let frames_in = stream_aligned(&mut pipeline, block, |buf, n| src.read_block(buf, n), |s| sink.write(s), |n| bar.set_position(n))?.check(input)?;
    sink.finish()?;
    Ok(frames_in as f64 / rate as f64)
}

/// The streamer settings the flags ask for.
fn streamer_config(cfg: &ModelConfig, args: &EnhanceArgs) -> StreamerConfig {
    StreamerConfig::default()
        .with_stft(cfg.stft())
        .with_chunk_frames(args.chunk_frames)
        .with_steps(args.steps)
        .with_atten_lim_db(args.atten_lim_db)
        .with_post_filter(args.post_filter as f32)
}

/// The batched segment path on one file (whole-file, per channel).
fn segments(input: &Path, output: &Output, cfg: &ModelConfig, model: &RestoreGrad, device: &burn::prelude::Device, args: &EnhanceArgs) -> Result<f64> {
    let audio = read_nonempty(input)?;
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
    write_whole(output, &Audio::from_channels(rate, &chans), args)?;
    Ok(audio.duration_secs())
}

/// RNNoise on one file (whole-file, per channel).
fn rnnoise(input: &Path, output: &Output, args: &EnhanceArgs) -> Result<f64> {
    let audio = read_nonempty(input)?;
    let chans = (0..audio.channels)
        .map(|c| crate::bench::rnnoise::rnnoise_enhance(&audio.channel(c), audio.sample_rate).map(|(y, _)| y))
        .collect::<Result<Vec<_>>>()?;
    write_whole(output, &Audio::from_channels(audio.sample_rate, &chans), args)?;
    Ok(audio.duration_secs())
}

fn read_nonempty(input: &Path) -> Result<Audio> {
    let audio = crate::audio::read_audio(input)?;
    if audio.frames() == 0 {
        bail!("{}: zero-length audio", input.display());
    }
    Ok(audio)
}

fn write_whole(output: &Output, audio: &Audio, args: &EnhanceArgs) -> Result<()> {
    let mut sink = Sink::open(output, audio.sample_rate, audio.channels, sample_format(args), Some(audio.frames() as u64))?;
    sink.write(&audio.samples)?;
    sink.finish().map(drop)
}
