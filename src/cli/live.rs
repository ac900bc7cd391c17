//! `restoregrad live`: real-time denoising from a microphone to a speaker (feature `live`), or
//! from a file to a file through the very same threaded engine (always available).
//!
//! Prints the algorithmic latency at start, then about every 2 s the real-time factor, xruns,
//! degraded/bypassed chunks and clipping; Ctrl-C stops cleanly and prints the totals.

use super::Globals;
use crate::engine::{EngineConfig, Latency, EngineStats, FileRunOptions, StreamerConfig};
use crate::model::ChunkDenoiser;
use anyhow::{bail, Context};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Arguments of `restoregrad live`.
#[derive(clap::Args, Debug)]
pub struct LiveArgs {
    /// Input device, by name (exact, or a unique part of it) or by index from `restoregrad devices`.
    /// Default: the system's default input.
    #[arg(long, value_name = "NAME|INDEX", conflicts_with = "input_file")]
    pub input: Option<String>,
    /// Output device, by name or index. Default: the system's default output.
    #[arg(long, value_name = "NAME|INDEX", conflicts_with = "input_file")]
    pub output: Option<String>,
    /// Read this file instead of a microphone (file mode; works without the `live` feature).
    #[arg(long, value_name = "IN", requires = "output_file")]
    pub input_file: Option<PathBuf>,
    /// Write the enhanced audio here (mono WAV at the input's rate, aligned with the input).
    #[arg(long, value_name = "OUT", requires = "input_file")]
    pub output_file: Option<PathBuf>,
    /// File mode: feed the file at real-time pace, as a device would (degradation can kick in).
    #[arg(long, requires = "input_file")]
    pub realtime: bool,
    /// File mode: write 32-bit float WAV instead of 16-bit PCM.
    #[arg(long, requires = "output_file")]
    pub float: bool,
    /// Reverse diffusion steps per chunk (1-6).
    #[arg(long, default_value_t = StreamerConfig::DEFAULT_STEPS, value_parser = crate::cli::steps_range())]
    pub steps: usize,
    /// Staggered step batching: one batched model call per chunk runs the --steps steps of that
    /// many consecutive chunks (fewer calls, for GPUs), adding (steps-1) chunks of latency.
    #[arg(long)]
    pub stagger: bool,
    /// Chunk length in milliseconds, rounded to whole 8 ms hops (C = chunk / hop). Latency is
    /// 24 ms + (C-1) x 8 ms at the model rate. At most 4096 ms (512 hops).
    #[arg(long, default_value_t = 16.0, value_parser = crate::cli::bounded_f64(1.0, MAX_CHUNK_MS, "ms"), allow_negative_numbers = true)]
    pub chunk_ms: f64,
    /// STFT frames per model call, as `enhance --chunk-frames` and `bench --chunk-frames` name it
    /// (instead of `--chunk-ms`).
    #[arg(long, conflicts_with = "chunk_ms", value_parser = crate::cli::chunk_frames_range())]
    pub chunk_frames: Option<usize>,
    /// Remove at most this many dB of the noisy signal (mixes the noisy signal back in).
    #[arg(long, value_name = "DB", value_parser = crate::cli::bounded_f64(0.0, 1000.0, "dB"), allow_negative_numbers = true)]
    pub atten_lim_db: Option<f64>,
    /// Post-filter exponent, as `enhance --post-filter` (0: off; 0-4).
    #[arg(long, value_name = "P", default_value_t = StreamerConfig::DEFAULT_POST_FILTER as f64, value_parser = crate::cli::post_filter_range())]
    pub post_filter: f64,
    /// Start in bypass (dry signal out).
    #[arg(long)]
    pub bypass: bool,
    /// Compute device for the model: cpu, cuda[:N] or vulkan.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Model folder (default: the shipped model).
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Seed of the sampler's noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sampler averaging.
    #[command(flatten)]
    pub samples: crate::cli::SamplesArg,
    /// Live mode: stop after this many seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECONDS", value_parser = crate::cli::bounded_f64(0.0, 1e7, "seconds"), allow_negative_numbers = true)]
    pub duration: Option<f64>,
    /// Use a built-in stand-in instead of the model (`gain`: a stateful per-bin gain; `identity`),
    /// for tests and engine benchmarks.
    #[arg(long, hide = true, value_name = "KIND")]
    pub stand_in: Option<String>,
}

/// The longest `--chunk-ms`: [`MAX_CHUNK_FRAMES`](crate::cli::MAX_CHUNK_FRAMES) hops of 8 ms.
const MAX_CHUNK_MS: f64 = crate::cli::MAX_CHUNK_FRAMES as f64 * 8.0;

/// Builds the denoiser and the STFT geometry it wants.
fn load_denoiser(args: &LiveArgs) -> anyhow::Result<(Box<dyn ChunkDenoiser>, crate::dsp::stft::StftConfig)> {
    let stft = crate::dsp::stft::StftConfig::default();
    match args.stand_in.as_deref() {
        Some("gain") => return Ok((Box::new(crate::engine::testing::GainDenoiser::new(stft.n_bins())), stft)),
        Some("identity") => {
            return Ok((Box::new(crate::engine::testing::IdentityDenoiser { n_bins: stft.n_bins() }), stft))
        }
        Some(other) => bail!("unknown stand-in {other:?} (gain or identity)"),
        None => {}
    }
    let device = crate::model::parse_device(&args.device).map_err(anyhow::Error::msg)?;
    let enh =
        crate::model::load_enhancer(args.model.as_deref(), &device, args.seed).with_context(|| match &args.model {
            Some(p) => format!("cannot load the model from {}", p.display()),
            None => "cannot load the default model (pass --model PATH or set RESTOREGRAD_MODEL)".to_string(),
        })?;
    let enh = enh.with_samples(args.samples.samples);
    let stft = enh.config().stft();
    Ok((Box::new(enh), stft))
}

fn engine_config(args: &LiveArgs, stft: crate::dsp::stft::StftConfig) -> anyhow::Result<EngineConfig> {
    // Clap bounded the milliseconds; a model with a hop shorter than 8 ms could still ask for
    // more frames than the bound.
    let frames = args.chunk_frames.unwrap_or_else(|| StreamerConfig::chunk_frames_for_ms(&stft, args.chunk_ms as f32));
    anyhow::ensure!(
        frames as u64 <= crate::cli::MAX_CHUNK_FRAMES,
        "--chunk-ms {} is {frames} frames for this model, more than {}",
        args.chunk_ms,
        crate::cli::MAX_CHUNK_FRAMES
    );
    let streamer = StreamerConfig::default()
        .with_stft(stft)
        .with_chunk_frames(frames)
        .with_steps(args.steps)
        .with_atten_lim_db(args.atten_lim_db.map(|db| db as f32))
        .with_post_filter(args.post_filter as f32)
        .with_bypass(args.bypass)
        .with_stagger(args.stagger);
    streamer.validate().map_err(anyhow::Error::msg)?;
    Ok(EngineConfig { streamer, ..Default::default() })
}

fn print_latency(lat: &Latency, cfg: &StreamerConfig) {
    crate::diag!(
        "algorithmic latency: {:.1} ms ({} samples at {} Hz): STFT {}/{} + chunk of {} frames = {:.1} ms, resampling {:.1} ms; \
         plus up to {:.1} ms resampler block buffering and the device buffers",
        lat.total_ms(),
        lat.total_out,
        lat.out_rate,
        cfg.stft.n_fft,
        cfg.stft.hop,
        cfg.chunk_frames,
        lat.streamer_ms(),
        lat.total_ms() - lat.streamer_ms(),
        lat.buffering_ms()
    );
}

fn print_stats(s: &EngineStats, host_xruns: u64) {
    let st = &s.streamer;
    let mut line = format!(
        "{:7.1} s | RTF {:.3} (recent {:.3}) | backlog {:5.1} ms | xruns {} (underruns {}, overrun samples {}{}) | \
         chunks {} degraded {} bypassed {}",
        s.audio_s,
        s.rtf,
        s.rtf_recent,
        s.backlog_ms,
        s.xruns() + host_xruns,
        s.output_underruns,
        s.input_overrun_samples,
        if host_xruns > 0 { format!(", host {host_xruns}") } else { String::new() },
        st.chunks,
        st.degraded_chunks,
        st.bypassed_chunks,
    );
    if st.clipped_samples > 0 {
        line +=
            &format!(" | WARNING: {} clipped samples (lower the input gain or use --atten-lim-db)", st.clipped_samples);
    }
    crate::diag!("{line}");
}

fn print_totals(s: &EngineStats, host_xruns: u64, wall: Duration) {
    let st = &s.streamer;
    crate::diag!(
        "done: {:.2} s of audio in {:.2} s; RTF {:.3}; longest denoiser call {:.1} ms; chunks {} (degraded {}, bypassed {}, \
         user-bypassed {}); xruns {} (output underruns {} / {} samples, input overrun samples {}, output overflow \
         samples {}, host {}); clipped samples {}",
        s.audio_s,
        wall.as_secs_f64(),
        s.rtf,
        st.max_chunk_time.as_secs_f64() * 1000.0,
        st.chunks,
        st.degraded_chunks,
        st.bypassed_chunks,
        st.user_bypassed_chunks,
        s.xruns() + host_xruns,
        s.output_underruns,
        s.output_underrun_samples,
        s.input_overrun_samples,
        s.output_overflow_samples,
        host_xruns,
        st.clipped_samples
    );
}

/// How many times faster than real time the devices are moving audio, when that is clearly
/// not a sound card's pace (over 2x after 2 s of wall time); `None` otherwise. Captured audio is
/// what the worker took plus what waits or was dropped; played audio adds what underruns filled.
#[cfg(any(feature = "live", test))]
fn unpaced(s: &EngineStats, wall_s: f64, (in_rate, out_rate): (u32, u32)) -> Option<f64> {
    if wall_s < 2.0 {
        return None;
    }
    let captured = s.audio_s + s.backlog_ms / 1000.0 + s.input_overrun_samples as f64 / f64::from(in_rate);
    let played = s.audio_s + s.output_underrun_samples as f64 / f64::from(out_rate);
    let pace = captured.max(played) / wall_s;
    (pace > 2.0).then_some(pace)
}

fn ctrlc_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    if let Err(e) = ctrlc::set_handler(move || f.store(true, Ordering::SeqCst)) {
        tracing::warn!("cannot install the Ctrl-C handler: {e}");
    }
    flag
}

/// Runs `restoregrad live`.
pub fn run(args: LiveArgs, g: Globals) -> anyhow::Result<()> {
    match (&args.input_file, &args.output_file) {
        (Some(i), Some(o)) => run_file_mode(&args, i.clone(), o.clone(), g),
        (None, None) => run_live(&args, g),
        _ => bail!("--input-file and --output-file go together"),
    }
}

fn run_file_mode(args: &LiveArgs, input: PathBuf, output: PathBuf, g: Globals) -> anyhow::Result<()> {
    crate::audio::ensure_distinct(&input, &output)?;
    let audio = crate::audio::read_audio(&input)?;
    let rate = audio.sample_rate;
    let mono = Arc::new(audio.to_mono());
    let (den, stft) = load_denoiser(args)?;
    let cfg = engine_config(args, stft)?;
    let lat = Latency::new(rate, rate, &cfg.streamer)?;
    if !g.quiet {
        crate::diag!(
            "file mode: {} ({} Hz, {} ch, {:.2} s) -> {} (mono), {}",
            input.display(),
            rate,
            audio.channels,
            audio.duration_secs(),
            output.display(),
            if args.realtime { "real-time pace" } else { "as fast as possible" }
        );
        print_latency(&lat, &cfg.streamer);
    }
    drop(audio);
    let format = if args.float { crate::audio::SampleFormat::Float32 } else { crate::audio::SampleFormat::Pcm16 };
    let mut writer = crate::audio::AudioWriter::create(&output, rate, 1, format)?;
    let stop = ctrlc_flag();
    let opts = FileRunOptions { realtime: args.realtime, stop: Some(stop.clone()), ..Default::default() };
    let mut last_print = Instant::now();
    let quiet = g.quiet;
    let rep = crate::engine::run_file(
        den,
        cfg,
        rate,
        mono,
        opts,
        |b| writer.write(b).map_err(anyhow::Error::from),
        |s| {
            if !quiet && last_print.elapsed() >= Duration::from_secs(2) {
                print_stats(s, 0);
                last_print = Instant::now();
            }
        },
    )?;
    if stop.load(Ordering::SeqCst) {
        crate::diag!("interrupted: the rest of the output is silence");
    }
    let wr = writer.finish()?;
    if !g.quiet {
        print_totals(&rep.stats, 0, rep.wall);
        crate::diag!(
            "wrote {} ({} samples, latency {} samples trimmed)",
            output.display(),
            rep.samples_out,
            rep.latency.total_out
        );
        if wr.clipped > 0 {
            crate::diag!("warning: {} samples clipped when writing 16-bit PCM", wr.clipped);
        }
    }
    Ok(())
}

#[cfg(not(feature = "live"))]
fn run_live(_args: &LiveArgs, _g: Globals) -> anyhow::Result<()> {
    bail!(
        "this binary was built without the `live` feature, so it cannot open audio devices; rebuild with \
         `cargo build --release --features live` (needs ALSA headers on Linux: apt-get install libasound2-dev), \
         or use file mode: restoregrad live --input-file IN --output-file OUT [--realtime]"
    )
}

#[cfg(feature = "live")]
fn run_live(args: &LiveArgs, g: Globals) -> anyhow::Result<()> {
    use crate::engine::device::{LiveOptions, LiveSession};
    let (den, stft) = load_denoiser(args)?;
    let cfg = engine_config(args, stft)?;
    let stop = ctrlc_flag();
    let opts =
        LiveOptions { input: args.input.clone(), output: args.output.clone(), engine: cfg, max_extra_latency_ms: None };
    // Without a sound card the cause is a raw ALSA/cpal message: say where to go from there.
    let session = LiveSession::start(den, &opts).context(
        "cannot start live audio; list the devices with `restoregrad devices`, or run on files with \
         `restoregrad live --input-file IN --output-file OUT`",
    )?;
    let t0 = Instant::now();
    if !g.quiet {
        let (i, o) = (&session.input_config, &session.output_config);
        crate::diag!(
            "input: {} ({} Hz, {} ch, {}) -> output: {} ({} Hz, {} ch, {})",
            session.input_name,
            i.sample_rate,
            i.channels,
            i.sample_format,
            session.output_name,
            o.sample_rate,
            o.channels,
            o.sample_format
        );
        print_latency(&session.engine().latency(), &cfg.streamer);
        crate::diag!(
            "jitter buffer: {:.1} ms; press Ctrl-C to stop",
            session.prefill as f64 * 1000.0 / o.sample_rate as f64
        );
    }
    let mut last_print = Instant::now();
    let mut reason = None;
    let mut pace_warned = false;
    let rates = (session.input_config.sample_rate, session.output_config.sample_rate);
    loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if let Some(e) = session.poll_error() {
            reason = Some(e);
            break;
        }
        if args.duration.is_some_and(|d| t0.elapsed().as_secs_f64() >= d) {
            break;
        }
        if session.engine().is_finished() {
            reason = Some("the worker stopped".to_string());
            break;
        }
        if let Ok(s) = session.engine().stats().recv_timeout(Duration::from_millis(100)) {
            if !pace_warned {
                if let Some(pace) = unpaced(&s, t0.elapsed().as_secs_f64(), rates) {
                    tracing::warn!(
                        "the devices move audio {pace:.0}x faster than real time: {} / {} is not a real-time sound \
                         device (ALSA's `null` plays and records instantly), so latency, RTF and xrun figures mean \
                         nothing here; pick a sound card (`restoregrad devices`) or run on files with --input-file",
                        session.input_name,
                        session.output_name
                    );
                    pace_warned = true;
                }
            }
            if !g.quiet && last_print.elapsed() >= Duration::from_secs(2) {
                print_stats(&s, session.host_xruns());
                last_print = Instant::now();
            }
        }
    }
    let host_xruns = session.host_xruns();
    let totals = session.stop()?;
    if !g.quiet {
        print_totals(&totals, host_xruns, t0.elapsed());
    }
    match reason {
        Some(r) => bail!("stopped: {r}"),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_faster_than_real_time_is_noticed_and_a_sound_card_is_not() {
        let card = EngineStats { audio_s: 2.9, backlog_ms: 20.0, ..Default::default() };
        assert_eq!(unpaced(&card, 3.0, (48_000, 48_000)), None);
        // ALSA's null device: the output callback asks for audio as fast as it can be made.
        let null_out = EngineStats { audio_s: 3.0, output_underrun_samples: 48_000 * 600, ..Default::default() };
        assert!(unpaced(&null_out, 3.0, (48_000, 48_000)).is_some_and(|p| p > 100.0));
        let null_in = EngineStats { audio_s: 30.0, input_overrun_samples: 16_000 * 100, ..Default::default() };
        assert!(unpaced(&null_in, 3.0, (16_000, 48_000)).is_some());
        // Too early to tell.
        assert_eq!(unpaced(&null_out, 1.0, (48_000, 48_000)), None);
    }
}
