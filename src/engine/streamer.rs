//! The device-free streaming core: samples in, enhanced samples out, at the model rate.
//!
//! A [`Streamer`] owns a streaming STFT analyser and synthesiser ([`crate::dsp::stft`]), gathers
//! `chunk_frames` (C) new frames, hands them to the stateful [`ChunkDenoiser`] with `steps` reverse
//! steps, mixes the noisy frames back in up to the attenuation limit, and overlap-adds the result.
//! Every buffer is allocated at construction; [`Streamer::feed`] never allocates as long as the
//! caller's output `Vec` has capacity for what it appends.
//!
//! # Latency
//!
//! Frame `k` of the analyser is complete once input sample `k*hop + hop - 1` has arrived and the
//! synthesiser's output lags its input by `n_fft - hop` samples (see [`crate::dsp::stft`]). The
//! frames of one chunk wait for the chunk's last frame, so the first frame of a chunk waits
//! `(C-1)*hop` extra samples. The streamer therefore emits `(C-1)*hop` zeros at the start of a
//! stream: its output is then a *constant-delay* stream in which input sample `i` appears at output
//! index `i + latency_samples()`, with
//!
//! `latency_samples() = (n_fft - hop) + (C - 1) * hop`
//!
//! (384 + 384 = 768 samples = 48 ms for the default 512/128 STFT and C = 4). A real-time consumer
//! that pulls one output sample per input sample then never waits for more than the `hop`-sample
//! granularity that any block processor has. An impulse test checks this number.
//!
//! # Staggered batching
//!
//! With [`StreamerConfig::stagger`] the denoiser batches the S reverse steps of S consecutive
//! chunks into one call ([`crate::model::staggered`]), so a chunk's output comes back
//! `S - 1` calls after the chunk went in ([`ChunkDenoiser::delay_chunks`]). The streamer keeps
//! the noisy frames of those chunks (for the attenuation limit and bypass, which must use the
//! frames that belong to the output) and reports the extra delay:
//!
//! `latency_samples() = (n_fft - hop) + (C - 1) * hop + (S - 1) * C * hop`
//!
//! where S is the step count at construction (later step changes are clamped to it, so the
//! delay never changes within a stream). [`Streamer::flush`] pushes silence until the delayed
//! tail is out, so a file keeps its length and alignment. A bypassed chunk still advances the
//! chunks in flight ([`ChunkDenoiser::skip`]).
//!
//! # Lookahead
//!
//! There is no lookahead setting: the denoiser is causal and recurrent (it keeps its state per
//! reverse step between calls), so future frames could not change its output for the current
//! frames; holding frames back would only add delay. The left context of the design notes is
//! likewise unnecessary: the model's recurrent state carries it.
//!
//! # Attenuation limit and bypass
//!
//! With `atten_lim_db = Some(x)`, each output frame is `(1 - g) * enhanced + g * noisy` with
//! `g = 10^(-x/20)` (DeepFilterNet's `--atten-lim-db`): at most `x` dB of the noisy signal is
//! removed. The noisy frames are the very frames the denoiser received, so they are aligned with
//! the enhanced ones. Bypass (user-requested or as a degradation) outputs the noisy frames
//! unchanged; since switching happens per frame in the STFT domain, the synthesis overlap-add
//! cross-fades every transition over a window.
//!
//! # Post-filter
//!
//! With `post_filter = p > 0`, every bin the denoiser made quieter than the noisy bin, by the
//! gain `G = |enhanced| / |noisy| < 1`, is scaled by a further `G^p` (bins it left louder are
//! untouched). Bins the model judged mostly noise (small G) go down much further, speech bins
//! (G near 1) hardly move: residual background noise drops at a small cost in speech. It is
//! DeepFilterNet's post-filter idea (mask sharpening) in its simplest form; the exponent was
//! chosen on held-out validation (docs/eval/post_filter.md). It runs before the attenuation
//! limit, which therefore still bounds the total removal.
//!
//! A bypassed chunk is not shown to the denoiser (that is what saves the time), so its recurrent
//! state simply continues from the last processed chunk when quality returns.

use crate::dsp::stft::{StftAnalyzer, StftConfig, StftSynthesizer};
use crate::dsp::Complex32;
use crate::model::ChunkDenoiser;
use std::time::{Duration, Instant};

/// Settings of a [`Streamer`], built with chainable `with_*` methods.
///
/// ```
/// use restoregrad::engine::StreamerConfig;
/// let cfg = StreamerConfig::default().with_chunk_frames(2).with_steps(3).with_atten_lim_db(Some(12.0));
/// assert!(cfg.validate().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamerConfig {
    /// STFT geometry (default 512 / 128). The denoiser must expect `stft.n_bins()` bins.
    pub stft: StftConfig,
    /// C: new frames per denoiser call (default 2: 32 ms latency, chosen from the README latency table). Fixed for the life of a streamer.
    pub chunk_frames: usize,
    /// Reverse diffusion steps per call (default 1: the shipped model scores best with one step); runtime-adjustable with [`Streamer::set_steps`].
    pub steps: usize,
    /// Attenuation limit in dB (`None`: unlimited). Runtime-adjustable.
    pub atten_lim_db: Option<f32>,
    /// Post-filter exponent p (0: off; default [`StreamerConfig::DEFAULT_POST_FILTER`]): every
    /// bin the denoiser made quieter than the noisy bin is scaled by a further `G^p`, where
    /// `G = |enhanced| / |noisy|`, so that what the model only partly removed goes further
    /// down (see the module docs).
    pub post_filter: f32,
    /// Start in bypass (dry frames out). Runtime-adjustable.
    pub bypass: bool,
    /// Output samples whose magnitude exceeds this count as clipped (default 1.0). Nothing is
    /// altered; the count is reported in [`StreamerStats::clipped_samples`].
    pub clip_level: f32,
    /// Staggered step batching (default off): one batched denoiser call per chunk runs the
    /// `steps` reverse steps of `steps` consecutive chunks, for `steps - 1` chunks of extra
    /// latency (see the module docs). Fixed for the life of a streamer; needs a denoiser that
    /// supports it ([`ChunkDenoiser::set_stagger`]).
    pub stagger: bool,
}

impl Default for StreamerConfig {
    fn default() -> Self {
        Self {
            stft: StftConfig::default(),
            chunk_frames: Self::DEFAULT_CHUNK_FRAMES,
            steps: Self::DEFAULT_STEPS,
            atten_lim_db: None,
            post_filter: Self::DEFAULT_POST_FILTER,
            bypass: false,
            clip_level: 1.0,
            stagger: false,
        }
    }
}

impl StreamerConfig {
    /// Default C.
    pub const DEFAULT_CHUNK_FRAMES: usize = 2;
    /// Default number of reverse steps: the shipped model's best on its held-out validation
    /// sets (1 step beat 2, 3 and 6 on SI-SDR, ESTOI and PESQ of the mixtures; see the model card).
    pub const DEFAULT_STEPS: usize = 1;
    /// Default post-filter exponent, chosen with the shipped model on held-out validation
    /// mixtures (docs/eval/post_filter.md).
    pub const DEFAULT_POST_FILTER: f32 = 0.2;
    /// The largest post-filter exponent accepted.
    pub const MAX_POST_FILTER: f32 = 4.0;
    /// The most reverse steps: the length of the fast sampling schedule.
    pub const MAX_STEPS: usize = crate::model::diffusion::FAST_BETAS.len();
    /// The most STFT frames per model call (4.1 s at 16 kHz): past that a chunk only costs
    /// memory and latency.
    pub const MAX_CHUNK_FRAMES: usize = 512;

    /// Sets the STFT geometry.
    pub fn with_stft(mut self, stft: StftConfig) -> Self {
        self.stft = stft;
        self
    }
    /// Sets C, the new frames per denoiser call.
    pub fn with_chunk_frames(mut self, c: usize) -> Self {
        self.chunk_frames = c;
        self
    }
    /// Sets the number of reverse steps.
    pub fn with_steps(mut self, steps: usize) -> Self {
        self.steps = steps;
        self
    }
    /// Sets the attenuation limit in dB (`None`: unlimited).
    pub fn with_atten_lim_db(mut self, db: Option<f32>) -> Self {
        self.atten_lim_db = db;
        self
    }
    /// Sets the post-filter exponent (0: off).
    pub fn with_post_filter(mut self, p: f32) -> Self {
        self.post_filter = p;
        self
    }
    /// Sets the initial bypass state.
    pub fn with_bypass(mut self, bypass: bool) -> Self {
        self.bypass = bypass;
        self
    }
    /// Sets the clip-detection level.
    pub fn with_clip_level(mut self, level: f32) -> Self {
        self.clip_level = level;
        self
    }
    /// Turns staggered step batching on or off.
    pub fn with_stagger(mut self, stagger: bool) -> Self {
        self.stagger = stagger;
        self
    }

    /// C that gives a chunk of about `ms` milliseconds at the model rate (at least 1).
    pub fn chunk_frames_for_ms(stft: &StftConfig, ms: f32) -> usize {
        let hop_ms = stft.hop as f32 * 1000.0 / crate::MODEL_RATE as f32;
        ((ms / hop_ms).round() as usize).max(1)
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<(), String> {
        self.stft.validate()?;
        if !(1..=Self::MAX_CHUNK_FRAMES).contains(&self.chunk_frames) {
            return Err(format!("chunk frames must be 1..={}, got {}", Self::MAX_CHUNK_FRAMES, self.chunk_frames));
        }
        if !(1..=Self::MAX_STEPS).contains(&self.steps) {
            return Err(format!("steps must be 1..={}, got {}", Self::MAX_STEPS, self.steps));
        }
        if let Some(db) = self.atten_lim_db {
            if !db.is_finite() || db < 0.0 {
                return Err(format!("atten_lim_db must be a finite value >= 0, got {db}"));
            }
        }
        if !(0.0..=Self::MAX_POST_FILTER).contains(&self.post_filter) {
            return Err(format!("post_filter must be 0..={}, got {}", Self::MAX_POST_FILTER, self.post_filter));
        }
        Ok(())
    }

    /// Whole chunks of delay that staggering adds: `steps - 1` when [`StreamerConfig::stagger`]
    /// is on, else 0.
    pub fn stagger_delay_chunks(&self) -> usize {
        if self.stagger {
            self.steps.saturating_sub(1)
        } else {
            0
        }
    }

    /// The delay in model-rate samples of a streamer built with these settings:
    /// `(n_fft - hop) + (chunk_frames - 1) * hop`, plus `(steps - 1) * chunk_frames * hop` with
    /// staggering.
    pub fn latency_samples(&self) -> usize {
        self.stft.latency() + (self.chunk_frames - 1) * self.stft.hop + self.stagger_delay_chunks() * self.chunk_frames * self.stft.hop
    }
}

/// A denoised frame as it is output: the post-filter with exponent `post_filter`, then the
/// attenuation limit's mix with dry gain `dry_gain` ([`atten_lim_gain`]), both against the
/// noisy frame the denoiser received. The streamer and the offline segment path both finish
/// their frames here.
pub(crate) fn finish_frame(enhanced: &mut [Complex32], noisy: &[Complex32], post_filter: f32, dry_gain: f32) {
    if post_filter > 0.0 {
        for (e, y) in enhanced.iter_mut().zip(noisy) {
            let (pe, py) = (e.norm_sqr(), y.norm_sqr());
            // G^p with G = sqrt(pe / py) < 1; bins the model made louder are left alone.
            if pe < py {
                *e *= (pe / py).powf(0.5 * post_filter);
            }
        }
    }
    if dry_gain > 0.0 {
        for (e, y) in enhanced.iter_mut().zip(noisy) {
            *e = *e * (1.0 - dry_gain) + *y * dry_gain;
        }
    }
}

/// The linear dry gain `g = 10^(-db/20)` of an attenuation limit (`None` and `Some(inf)`: 0).
pub fn atten_lim_gain(db: Option<f32>) -> f32 {
    match db {
        Some(db) if db.is_finite() => 10f32.powf(-db.abs() / 20.0),
        _ => 0.0,
    }
}

/// A per-chunk quality decision, set by the threaded engine when it falls behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Degrade {
    /// Full quality: the configured steps.
    #[default]
    None,
    /// At most this many steps (at least 1) for the coming chunks.
    Steps(usize),
    /// Skip the denoiser and output the dry frames for the coming chunks.
    Bypass,
}

/// Cumulative counters of a [`Streamer`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StreamerStats {
    /// Chunks completed.
    pub chunks: u64,
    /// Chunks run with fewer steps than configured because of [`Degrade::Steps`].
    pub degraded_chunks: u64,
    /// Chunks passed through dry because of [`Degrade::Bypass`].
    pub bypassed_chunks: u64,
    /// Chunks passed through dry because the user asked for bypass.
    pub user_bypassed_chunks: u64,
    /// Output samples with magnitude above the clip level.
    pub clipped_samples: u64,
    /// Model-rate samples fed (not counting flush padding).
    pub samples_in: u64,
    /// Wall time spent in the denoiser.
    pub denoiser_time: Duration,
    /// Longest single denoiser call.
    pub max_chunk_time: Duration,
}

/// What became of a chunk, as far as its output is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkKind {
    /// Before the stream's first chunk (a delayed denoiser's start-up): silence.
    Absent,
    /// Bypassed: the noisy frames.
    Dry,
    /// Denoised: the denoiser's output (mixed with the noisy frames by the attenuation limit).
    Denoised,
}

/// Everything behind the analyser, split off so the analyser's frame callback can borrow it.
struct Back<'a> {
    cfg: StreamerConfig,
    n_bins: usize,
    synth: StftSynthesizer,
    denoiser: Box<dyn ChunkDenoiser + 'a>,
    /// The denoiser's delay D in chunks (0 unless staggered), fixed at construction.
    delay: usize,
    /// The most steps a chunk may run (the construction-time steps when staggered).
    max_steps: usize,
    /// Noisy frames of the last D + 1 chunks, one slot of `chunk_frames * n_bins` each, used
    /// round-robin: the chunk being gathered fills slot `slot`, and the chunk whose output is due
    /// with it (D chunks older) is in the next slot.
    history: Vec<Complex32>,
    /// What became of the chunk in each slot.
    kinds: Vec<ChunkKind>,
    /// The slot of the chunk being gathered.
    slot: usize,
    chunk_out: Vec<Complex32>,
    frames_in: usize,
    hop_buf: Vec<f32>,
    dry_gain: f32,
    degrade: Degrade,
    /// Samples emitted since the last reset, prefix included.
    samples_out: u64,
    stats: StreamerStats,
}

impl Back<'_> {
    fn on_frame(&mut self, frame: &[Complex32], out: &mut Vec<f32>) {
        let nb = self.n_bins;
        let k = self.slot * self.cfg.chunk_frames + self.frames_in;
        self.history[k * nb..(k + 1) * nb].copy_from_slice(frame);
        self.frames_in += 1;
        if self.frames_in == self.cfg.chunk_frames {
            self.frames_in = 0;
            self.process_chunk(out);
        }
    }

    fn process_chunk(&mut self, out: &mut Vec<f32>) {
        self.stats.chunks += 1;
        let steps = if self.cfg.bypass {
            self.stats.user_bypassed_chunks += 1;
            None
        } else {
            match self.degrade {
                Degrade::None => Some(self.cfg.steps),
                Degrade::Steps(s) if s.max(1) < self.cfg.steps => {
                    self.stats.degraded_chunks += 1;
                    Some(s.max(1))
                }
                Degrade::Steps(_) => Some(self.cfg.steps),
                Degrade::Bypass => {
                    self.stats.bypassed_chunks += 1;
                    None
                }
            }
        };
        let nb = self.n_bins;
        let len = self.cfg.chunk_frames * nb;
        let (cur, due) = (self.slot, (self.slot + 1) % (self.delay + 1));
        let noisy = &self.history[cur * len..(cur + 1) * len];
        // A bypassed chunk is not shown to an undelayed denoiser (that is what saves the time); a
        // delayed one still has to move its chunks in flight along.
        let t0 = Instant::now();
        let called = match steps {
            None => {
                self.kinds[cur] = ChunkKind::Dry;
                if self.delay > 0 {
                    self.denoiser.skip(&mut self.chunk_out);
                }
                self.delay > 0
            }
            Some(steps) => {
                self.kinds[cur] = ChunkKind::Denoised;
                self.denoiser.process(noisy, steps.min(self.max_steps), &mut self.chunk_out);
                true
            }
        };
        if called {
            let dt = t0.elapsed();
            self.stats.denoiser_time += dt;
            self.stats.max_chunk_time = self.stats.max_chunk_time.max(dt);
        }
        // The output is that of the chunk D calls older (the current one when D = 0), built from
        // that chunk's own noisy frames.
        let noisy = &self.history[due * len..(due + 1) * len];
        match self.kinds[due] {
            ChunkKind::Absent => self.chunk_out.fill(Complex32::new(0.0, 0.0)),
            ChunkKind::Dry => self.chunk_out.copy_from_slice(noisy),
            ChunkKind::Denoised => finish_frame(&mut self.chunk_out, noisy, self.cfg.post_filter, self.dry_gain),
        }
        self.slot = due;
        for k in 0..self.cfg.chunk_frames {
            self.synth.push_frame(&self.chunk_out[k * nb..(k + 1) * nb], &mut self.hop_buf);
            let lvl = self.cfg.clip_level;
            self.stats.clipped_samples += self.hop_buf.iter().filter(|x| x.abs() > lvl).count() as u64;
            out.extend_from_slice(&self.hop_buf);
        }
        self.samples_out += (self.cfg.chunk_frames * self.cfg.stft.hop) as u64;
    }
}

/// The streaming enhancer: mono model-rate samples in, enhanced samples out (see the module docs).
pub struct Streamer<'a> {
    analyzer: StftAnalyzer,
    back: Back<'a>,
    /// Whether the `(C-1)*hop` zero prefix is still to be emitted.
    prefix_pending: bool,
    /// Model-rate samples fed since the last reset.
    fed: u64,
    zeros: Vec<f32>,
}

/// Lends a borrowed denoiser to a [`Streamer`].
pub(crate) struct ByRef<'a>(pub(crate) &'a mut (dyn ChunkDenoiser + 'a));

impl ChunkDenoiser for ByRef<'_> {
    fn n_bins(&self) -> usize {
        self.0.n_bins()
    }
    fn process(&mut self, noisy: &[Complex32], steps: usize, out: &mut [Complex32]) {
        self.0.process(noisy, steps, out)
    }
    fn reset(&mut self) {
        self.0.reset()
    }
    fn set_stagger(&mut self, max_steps: Option<usize>) -> bool {
        self.0.set_stagger(max_steps)
    }
    fn delay_chunks(&self) -> usize {
        self.0.delay_chunks()
    }
    fn skip(&mut self, out: &mut [Complex32]) {
        self.0.skip(out)
    }
}

impl<'a> Streamer<'a> {
    /// Builds a streamer that owns `denoiser`. The denoiser's staggering is set from
    /// [`StreamerConfig::stagger`] (on with `steps` steps, or off) and it is reset.
    ///
    /// Fails on an invalid config, when the denoiser expects a different number of bins, or
    /// when staggering is asked of a denoiser that does not support it.
    pub fn new(mut denoiser: Box<dyn ChunkDenoiser + 'a>, cfg: StreamerConfig) -> anyhow::Result<Self> {
        cfg.validate().map_err(anyhow::Error::msg)?;
        let n_bins = cfg.stft.n_bins();
        anyhow::ensure!(
            denoiser.n_bins() == n_bins,
            "the denoiser expects {} bins but the STFT ({}/{}) gives {}",
            denoiser.n_bins(),
            cfg.stft.n_fft,
            cfg.stft.hop,
            n_bins
        );
        anyhow::ensure!(
            denoiser.set_stagger(cfg.stagger.then_some(cfg.steps)) || !cfg.stagger,
            "this denoiser does not support staggered batching (--stagger)"
        );
        // The reported latency comes from the config, so the denoiser must delay exactly that.
        let delay = denoiser.delay_chunks();
        anyhow::ensure!(
            delay == cfg.stagger_delay_chunks(),
            "the denoiser delays its output by {delay} chunks, the settings expect {}",
            cfg.stagger_delay_chunks()
        );
        let c = cfg.chunk_frames;
        let mut back = Back {
            cfg,
            n_bins,
            synth: StftSynthesizer::new(cfg.stft),
            denoiser,
            delay,
            max_steps: if cfg.stagger { cfg.steps } else { usize::MAX },
            history: vec![Complex32::new(0.0, 0.0); (delay + 1) * c * n_bins],
            kinds: vec![ChunkKind::Absent; delay + 1],
            slot: 0,
            chunk_out: vec![Complex32::new(0.0, 0.0); c * n_bins],
            frames_in: 0,
            hop_buf: vec![0.0; cfg.stft.hop],
            dry_gain: atten_lim_gain(cfg.atten_lim_db),
            degrade: Degrade::None,
            samples_out: 0,
            stats: StreamerStats::default(),
        };
        back.denoiser.reset();
        Ok(Self {
            analyzer: StftAnalyzer::new(cfg.stft),
            back,
            prefix_pending: true,
            fed: 0,
            zeros: vec![0.0; c * cfg.stft.hop],
        })
    }

    /// Builds a streamer around a borrowed denoiser (reset first), e.g. to reuse one model for
    /// many files.
    pub fn with_borrowed(denoiser: &'a mut (dyn ChunkDenoiser + 'a), cfg: StreamerConfig) -> anyhow::Result<Self> {
        Self::new(Box::new(ByRef(denoiser)), cfg)
    }

    /// The settings in force (steps, attenuation and bypass reflect the latest setters).
    pub fn config(&self) -> &StreamerConfig {
        &self.back.cfg
    }

    /// The delay in model-rate samples from an input sample to the same sample in the output
    /// stream: `(n_fft - hop) + (chunk_frames - 1) * hop`, plus `(S - 1) * chunk_frames * hop`
    /// when staggered with S steps. Fixed at construction.
    pub fn latency_samples(&self) -> usize {
        let cfg = &self.back.cfg;
        cfg.stft.latency() + (cfg.chunk_frames - 1) * cfg.stft.hop + self.back.delay * cfg.chunk_frames * cfg.stft.hop
    }

    /// Most samples one call to [`Streamer::feed`] with `input_len` samples can append; reserve
    /// this much in the output `Vec` to keep `feed` allocation-free.
    pub fn max_output_for(&self, input_len: usize) -> usize {
        let cfg = &self.back.cfg;
        let chunk = cfg.chunk_frames * cfg.stft.hop;
        (input_len / chunk + 2) * chunk
    }

    /// Feeds mono model-rate samples (any block size) and appends the finished output to `out`.
    pub fn feed(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.fed += input.len() as u64;
        self.back.stats.samples_in += input.len() as u64;
        self.push(input, out);
    }

    fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        if self.prefix_pending {
            self.prefix_pending = false;
            let n = (self.back.cfg.chunk_frames - 1) * self.back.cfg.stft.hop;
            out.extend_from_slice(&self.zeros[..n]);
            self.back.samples_out += n as u64;
        }
        let back = &mut self.back;
        self.analyzer.push(input, |frame| back.on_frame(frame, out));
    }

    /// Ends the stream: pushes zeros until every fed sample has come out (the total output since
    /// the last reset is then exactly `fed + latency_samples()`), appends that tail to `out`, and
    /// resets the streamer (denoiser included) for a new stream. Settings are kept.
    pub fn flush(&mut self, out: &mut Vec<f32>) {
        let target = self.fed + self.latency_samples() as u64;
        let start_len = out.len();
        let hop = self.back.cfg.stft.hop;
        while self.back.samples_out < target || self.prefix_pending {
            let zeros = std::mem::take(&mut self.zeros);
            self.push(&zeros[..hop], out);
            self.zeros = zeros;
        }
        let excess = (self.back.samples_out - target) as usize;
        debug_assert!(excess <= out.len() - start_len);
        out.truncate(out.len() - excess);
        self.reset();
    }

    /// Forgets the stream (analyser, synthesiser, partial chunk, denoiser state); the next
    /// [`Streamer::feed`] starts a new stream with its zero prefix. Settings and stats are kept.
    pub fn reset(&mut self) {
        self.analyzer.reset();
        self.back.synth.reset();
        self.back.denoiser.reset();
        self.back.frames_in = 0;
        self.back.kinds.fill(ChunkKind::Absent);
        self.back.slot = 0;
        self.back.samples_out = 0;
        self.prefix_pending = true;
        self.fed = 0;
    }

    /// Sets the number of reverse steps (clamped to at least 1, and when staggered to at most the
    /// steps the streamer was built with, which fix its delay) for the following chunks.
    pub fn set_steps(&mut self, steps: usize) {
        self.back.cfg.steps = steps.clamp(1, self.back.max_steps);
    }

    /// Sets the attenuation limit in dB (`None`: unlimited) for the following chunks.
    pub fn set_atten_lim_db(&mut self, db: Option<f32>) {
        self.back.cfg.atten_lim_db = db.map(f32::abs);
        self.back.dry_gain = atten_lim_gain(db);
    }

    /// Turns user bypass on or off for the following chunks.
    pub fn set_bypass(&mut self, bypass: bool) {
        self.back.cfg.bypass = bypass;
    }

    /// Sets the degradation for the following chunks (the threaded engine's lever).
    pub fn set_degrade(&mut self, degrade: Degrade) {
        self.back.degrade = degrade;
    }

    /// The degradation in force.
    pub fn degrade(&self) -> Degrade {
        self.back.degrade
    }

    /// Cumulative counters.
    pub fn stats(&self) -> &StreamerStats {
        &self.back.stats
    }

    /// Model-rate samples per chunk (`chunk_frames * hop`).
    pub fn chunk_samples(&self) -> usize {
        self.back.cfg.chunk_frames * self.back.cfg.stft.hop
    }
}

