//! The one audio pipeline: audio at any rate and channel count, in blocks of any size, through
//! resampling to the model rate, a [`Streamer`] per channel and resampling back.
//!
//! Everything that enhances audio goes through it: `enhance` (files), the threaded engine's
//! worker (live, `live --input-file`), `bench`, and the plugin. The pipeline's delay is derived in
//! one place ([`Latency::of`]) and reported once, in samples at the caller's rate; [`Aligner`]
//! turns the delayed stream back into output aligned with the input, sample for sample.

use anyhow::Context;

use crate::dsp::resample::StreamResampler;
use crate::engine::streamer::{ByRef, Degrade, Streamer, StreamerConfig, StreamerStats};
use crate::model::{ChunkDenoiser, Enhancer, Model};
use crate::{Error, MODEL_RATE};

/// Delays through a pipeline, derived from its resamplers and streamer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Input sample rate.
    pub in_rate: u32,
    /// Output sample rate; `total_out` and `buffering_out` count at this rate.
    pub out_rate: u32,
    /// The streamer's delay in model-rate samples.
    pub streamer_samples: usize,
    /// Input resampler delay (model-rate samples).
    pub resample_in_samples: usize,
    /// Output resampler delay (output-rate samples).
    pub resample_out_samples: usize,
    /// Total algorithmic delay in output-rate samples (rounded): output sample `n` is aligned
    /// with input time `(n - total_out) / out_rate` seconds.
    pub total_out: usize,
    /// Extra worst-case block buffering in output-rate samples: the resamplers wait for whole
    /// internal blocks before producing anything (0 at 16 kHz).
    pub buffering_out: usize,
}

impl Latency {
    /// The delays of a streamer between two resamplers: the latency formula.
    pub fn of(streamer_samples: usize, rin: &StreamResampler, rout: &StreamResampler) -> Self {
        let (in_rate, out_rate) = (rin.from_rate(), rout.to_rate());
        let r = out_rate as f64 / MODEL_RATE as f64;
        let d1 = rin.delay_out();
        let d2 = rout.delay_out();
        let total = d2 as f64 + (streamer_samples + d1) as f64 * r;
        let buffering =
            if rin.is_identity() { 0.0 } else { (rin.block_in() - 1) as f64 * out_rate as f64 / in_rate as f64 }
                + if rout.is_identity() { 0.0 } else { (rout.block_in() - 1) as f64 * r };
        Self {
            in_rate,
            out_rate,
            streamer_samples,
            resample_in_samples: d1,
            resample_out_samples: d2,
            total_out: total.round() as usize,
            buffering_out: buffering.round() as usize,
        }
    }

    /// The delays for given rates and streamer settings (building throwaway resamplers).
    pub fn new(in_rate: u32, out_rate: u32, streamer: &StreamerConfig) -> anyhow::Result<Self> {
        let rin = StreamResampler::new(in_rate, MODEL_RATE, 1)?;
        let rout = StreamResampler::new(MODEL_RATE, out_rate, 1)?;
        Ok(Self::of(streamer.latency_samples(), &rin, &rout))
    }

    /// [`Latency::total_out`] in milliseconds.
    pub fn total_ms(&self) -> f64 {
        self.total_out as f64 * 1000.0 / self.out_rate as f64
    }

    /// The streamer's part in milliseconds.
    pub fn streamer_ms(&self) -> f64 {
        self.streamer_samples as f64 * 1000.0 / MODEL_RATE as f64
    }

    /// [`Latency::buffering_out`] in milliseconds.
    pub fn buffering_ms(&self) -> f64 {
        self.buffering_out as f64 * 1000.0 / self.out_rate as f64
    }
}

/// One channel: down to the model rate, the streamer, back up; with its scratch buffers.
struct Channel<'a> {
    down: StreamResampler,
    streamer: Streamer<'a>,
    up: StreamResampler,
    input: Vec<f32>,
    mid: Vec<f32>,
    enhanced: Vec<f32>,
    out: Vec<f32>,
}

impl Channel<'_> {
    /// Runs `self.input` through the three stages into `self.out` (flushing them at the end).
    fn run(&mut self, end: bool) {
        self.down.process(&self.input, &mut self.mid);
        if end {
            self.down.flush(&mut self.mid);
        }
        self.streamer.feed(&self.mid, &mut self.enhanced);
        if end {
            self.streamer.flush(&mut self.enhanced);
        }
        self.mid.clear();
        self.up.process(&self.enhanced, &mut self.out);
        if end {
            self.up.flush(&mut self.out);
        }
        self.enhanced.clear();
    }
}

/// Enhances interleaved audio at any rate and channel count, in blocks of any size.
///
/// Output is delayed by [`Pipeline::latency`]; each channel is enhanced independently by its own
/// denoiser. Scratch is allocated for blocks of up to `max_block` frames; larger blocks are
/// split internally, so any size works.
pub struct Pipeline<'a> {
    channels: Vec<Channel<'a>>,
    latency: Latency,
    max_block: usize,
}

impl<'a> Pipeline<'a> {
    /// A pipeline at `rate` Hz with one denoiser per channel (`denoisers.len()` channels),
    /// taking blocks of up to `max_block` frames without allocating.
    pub fn new(denoisers: Vec<Box<dyn ChunkDenoiser + 'a>>, streamer: StreamerConfig, rate: u32, max_block: usize) -> anyhow::Result<Self> {
        Self::with_rates(denoisers, streamer, rate, rate, max_block)
    }

    /// [`Pipeline::new`] with different input and output rates (e.g. two audio devices).
    pub fn with_rates(
        denoisers: Vec<Box<dyn ChunkDenoiser + 'a>>,
        streamer: StreamerConfig,
        in_rate: u32,
        out_rate: u32,
        max_block: usize,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(!denoisers.is_empty(), "a pipeline needs at least one channel");
        anyhow::ensure!(in_rate > 0 && out_rate > 0, "sample rates must be positive");
        let max_block = max_block.max(1);
        let channels = denoisers
            .into_iter()
            .map(|d| Self::channel(d, streamer, in_rate, out_rate, max_block))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let c = &channels[0];
        let latency = Latency::of(c.streamer.latency_samples(), &c.down, &c.up);
        Ok(Self { channels, latency, max_block })
    }

    fn channel(denoiser: Box<dyn ChunkDenoiser + 'a>, cfg: StreamerConfig, in_rate: u32, out_rate: u32, max_block: usize) -> anyhow::Result<Channel<'a>> {
        let down = StreamResampler::new(in_rate, MODEL_RATE, max_block).context("input resampler")?;
        let streamer = Streamer::new(denoiser, cfg)?;
        let mid_cap = down.output_capacity() + down.max_flush_len() + 16;
        let enh_cap = streamer.max_output_for(mid_cap) + streamer.max_output_for(0) + 2 * streamer.chunk_samples();
        let up = StreamResampler::new(MODEL_RATE, out_rate, enh_cap).context("output resampler")?;
        let out_cap = 2 * (up.output_capacity() + up.max_flush_len() + 16);
        Ok(Channel {
            down,
            streamer,
            up,
            input: Vec::with_capacity(max_block),
            mid: Vec::with_capacity(mid_cap),
            enhanced: Vec::with_capacity(enh_cap),
            out: Vec::with_capacity(out_cap),
        })
    }

    /// Model-rate samples per denoiser call.
    pub fn chunk_samples(&self) -> usize {
        self.channels[0].streamer.chunk_samples()
    }

    /// The most output samples (interleaved) one [`Pipeline::process`] call of `frames` frames
    /// can append: reserve this much to keep it allocation-free.
    pub fn max_output_for(&self, frames: usize) -> usize {
        let c = &self.channels[0];
        let mid = c.down.max_output_len(frames) + c.down.max_flush_len();
        let enh = c.streamer.max_output_for(mid) + c.streamer.max_output_for(0);
        (c.up.max_output_len(enh) + c.up.max_flush_len() + c.out.capacity()) * self.channels.len()
    }

    /// Channels.
    pub fn channels(&self) -> usize {
        self.channels.len()
    }

    /// The delay from input to output, once for the whole pipeline.
    pub fn latency(&self) -> Latency {
        self.latency
    }

    /// The streamer settings (of the first channel; all channels share them).
    pub fn config(&self) -> &StreamerConfig {
        self.channels[0].streamer.config()
    }

    /// Feeds interleaved frames and appends the enhanced interleaved frames that are ready.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        let n = self.channels.len();
        for block in input.chunks(self.max_block * n) {
            self.run(block, false, out);
        }
    }

    /// End of stream: pushes every stage's remaining samples out (the last `latency` frames of
    /// output are the pipeline's tail; feed silence first to get them all aligned, as
    /// [`Aligner`] users do). The pipeline is then ready for a new stream only after
    /// [`Pipeline::reset`].
    pub fn flush(&mut self, out: &mut Vec<f32>) {
        self.run(&[], true, out);
    }

    fn run(&mut self, block: &[f32], end: bool, out: &mut Vec<f32>) {
        let n = self.channels.len();
        for (c, ch) in self.channels.iter_mut().enumerate() {
            ch.input.clear();
            ch.input.extend(block.iter().skip(c).step_by(n));
            ch.run(end);
        }
        let ready = self.channels.iter().map(|c| c.out.len()).min().unwrap_or(0);
        out.reserve(ready * n);
        for i in 0..ready {
            out.extend(self.channels.iter().map(|c| c.out[i]));
        }
        for ch in &mut self.channels {
            ch.out.drain(..ready);
        }
    }

    /// Forgets all state: the next block starts a new stream.
    pub fn reset(&mut self) {
        for ch in &mut self.channels {
            ch.down.reset();
            ch.streamer.reset();
            ch.up.reset();
            ch.out.clear();
        }
    }

    /// Sets the reverse steps of every channel.
    pub fn set_steps(&mut self, steps: usize) {
        self.channels.iter_mut().for_each(|c| c.streamer.set_steps(steps));
    }

    /// Sets the attenuation limit of every channel.
    pub fn set_atten_lim_db(&mut self, db: Option<f32>) {
        self.channels.iter_mut().for_each(|c| c.streamer.set_atten_lim_db(db));
    }

    /// Bypasses the model on every channel (the dry signal, delay-aligned).
    pub fn set_bypass(&mut self, bypass: bool) {
        self.channels.iter_mut().for_each(|c| c.streamer.set_bypass(bypass));
    }

    /// Sets the degradation level of every channel.
    pub fn set_degrade(&mut self, degrade: Degrade) {
        self.channels.iter_mut().for_each(|c| c.streamer.set_degrade(degrade));
    }

    /// The current degradation level.
    pub fn degrade(&self) -> Degrade {
        self.channels[0].streamer.degrade()
    }

    /// The first channel's streamer counters.
    pub fn stats(&self) -> &StreamerStats {
        self.channels[0].streamer.stats()
    }

    /// One-shot: enhances a whole interleaved buffer and returns output of the same length,
    /// aligned with it sample for sample (the delay trimmed, the tail flushed).
    pub fn enhance(&mut self, input: &[f32]) -> Vec<f32> {
        let n = self.channels.len();
        let frames = input.len() / n;
        let mut aligner = Aligner::new(self.latency.total_out, n);
        let mut raw = Vec::with_capacity(input.len() + (self.latency.total_out + 1) * n);
        self.process(input, &mut raw);
        self.finish(&mut raw);
        let mut out = Vec::with_capacity(input.len());
        aligner.push(&raw, frames as u64, &mut out);
        self.reset();
        out
    }

    /// End of a stream: feeds enough silence that every input frame comes out, then flushes.
    pub fn finish(&mut self, out: &mut Vec<f32>) {
        let n = self.channels.len();
        // A tenth of a second more than the delay, so that every stage's block is pushed out.
        let frames = self.latency.total_out + self.latency.buffering_out + self.latency.out_rate as usize / 10;
        let pad = vec![0.0f32; frames * n];
        self.process(&pad, out);
        self.flush(out);
    }
}

/// Enhances a whole mono model-rate signal with the streaming path and trims the latency, so the
/// result is aligned with `x` and has its length. The denoiser is reset before use.
///
/// Fails only on an invalid config or a bin-count mismatch.
pub fn enhance_mono_16k(denoiser: &mut dyn ChunkDenoiser, cfg: &StreamerConfig, x: &[f32]) -> anyhow::Result<Vec<f32>> {
    let mut pipeline = Pipeline::new(vec![Box::new(ByRef(denoiser))], *cfg, crate::MODEL_RATE, x.len())?;
    Ok(pipeline.enhance(x))
}

/// Runtime settings of a [`Pipeline`] over a [`Model`], as a builder.
///
/// Defaults: the live defaults of the engine (1 reverse step, 2 STFT frames per model call,
/// 2 samples averaged per chunk, no attenuation limit, seed 0).
#[derive(Debug, Clone, Copy)]
pub struct PipelineBuilder {
    rate: u32,
    channels: usize,
    streamer: StreamerConfig,
    samples: usize,
    seed: u64,
    max_block: usize,
}

impl PipelineBuilder {
    /// The largest sample rate a pipeline takes (Hz).
    pub const MAX_RATE: u32 = 384_000;
    /// The most channels a pipeline takes.
    pub const MAX_CHANNELS: usize = 64;
    /// The block size scratch is allocated for when not set (frames).
    pub const DEFAULT_MAX_BLOCK: usize = 8192;

    /// A pipeline for interleaved audio at `rate` Hz with `channels` channels.
    pub fn new(rate: u32, channels: usize) -> Self {
        Self { rate, channels, streamer: StreamerConfig::default(), samples: Enhancer::MAX_SAMPLES, seed: 0, max_block: Self::DEFAULT_MAX_BLOCK }
    }

    /// The same settings for audio at `rate` Hz with `channels` channels (e.g. a file's, known
    /// only once it is opened).
    pub fn audio(mut self, rate: u32, channels: usize) -> Self {
        self.rate = rate;
        self.channels = channels;
        self
    }

    /// Reverse diffusion steps per chunk (1-6).
    pub fn steps(mut self, steps: usize) -> Self {
        self.streamer.steps = steps;
        self
    }

    /// Sampler runs averaged per chunk (1, or 2 for the antithetic pair).
    pub fn samples(mut self, samples: usize) -> Self {
        self.samples = samples;
        self
    }

    /// Remove at most this many dB (`None`: unlimited).
    pub fn atten_lim_db(mut self, db: Option<f32>) -> Self {
        self.streamer.atten_lim_db = db;
        self
    }

    /// Post-filter exponent (0: off; see [`StreamerConfig::post_filter`]).
    pub fn post_filter(mut self, p: f32) -> Self {
        self.streamer.post_filter = p;
        self
    }

    /// STFT frames per model call (latency grows by one hop per frame).
    pub fn chunk_frames(mut self, frames: usize) -> Self {
        self.streamer.chunk_frames = frames;
        self
    }

    /// Seed of the sampler noise (same seed, same output).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The largest block (frames) [`Pipeline::process`] handles without allocating.
    pub fn max_block(mut self, frames: usize) -> Self {
        self.max_block = frames;
        self
    }

    /// Checks every setting against its range.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |m: String| Err(Error::Setting(m));
        if !(1..=Self::MAX_RATE).contains(&self.rate) {
            return bad(format!("sample rate {} Hz is outside 1..={} Hz", self.rate, Self::MAX_RATE));
        }
        if !(1..=Self::MAX_CHANNELS).contains(&self.channels) {
            return bad(format!("{} channels is outside 1..={}", self.channels, Self::MAX_CHANNELS));
        }
        if !(1..=Enhancer::MAX_SAMPLES).contains(&self.samples) {
            return bad(format!("samples must be 1..={}, got {}", Enhancer::MAX_SAMPLES, self.samples));
        }
        if !(1..=1 << 20).contains(&self.max_block) {
            return bad(format!("max block {} frames is outside 1..=1048576", self.max_block));
        }
        self.streamer.validate().map_err(Error::Setting)
    }

    /// Builds the pipeline: one denoiser per channel over `model`.
    pub fn build(self, model: &Model) -> Result<Pipeline<'static>, Error> {
        self.validate()?;
        let streamer = self.streamer.with_stft(model.config.stft());
        let denoisers = (0..self.channels)
            .map(|_| Box::new(model.enhancer(self.seed).with_samples(self.samples)) as Box<dyn ChunkDenoiser>)
            .collect();
        Pipeline::new(denoisers, streamer, self.rate, self.max_block).map_err(|e| Error::Setting(format!("{e:#}")))
    }
}

/// Trims a pipeline's delay from its output stream and stops at the input's length, so that
/// output frame `i` is aligned with input frame `i`.
#[derive(Debug, Clone)]
pub struct Aligner {
    delay: usize,
    channels: usize,
    skipped: usize,
    written: u64,
}

impl Aligner {
    /// An aligner for a delay of `delay` frames of `channels` interleaved samples.
    pub fn new(delay: usize, channels: usize) -> Self {
        Self { delay, channels: channels.max(1), skipped: 0, written: 0 }
    }

    /// Appends to `out` the aligned part of the pipeline output `raw` (interleaved), given that
    /// `frames_in` frames have been fed so far; returns the frames appended.
    pub fn push(&mut self, raw: &[f32], frames_in: u64, out: &mut Vec<f32>) -> usize {
        let frames = raw.len() / self.channels;
        let skip = (self.delay - self.skipped).min(frames);
        self.skipped += skip;
        let take = ((frames - skip) as u64).min(frames_in.saturating_sub(self.written)) as usize;
        out.extend_from_slice(&raw[skip * self.channels..(skip + take) * self.channels]);
        self.written += take as u64;
        take
    }

    /// Frames delivered so far.
    pub fn written(&self) -> u64 {
        self.written
    }
}
