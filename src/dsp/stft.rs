//! Streaming STFT analysis and synthesis with a sqrt-Hann window pair (perfect reconstruction).
//!
//! One plain state struct per direction, with every buffer allocated at construction: pushing
//! samples or frames never allocates. The offline functions [`stft`] and [`istft`] are thin loops
//! over the streaming structs, so streaming and offline outputs are identical by construction.
//!
//! Alignment: the analyser starts with `n_fft - hop` zeros in its buffer, so frame `k` covers input
//! samples `[k*hop - (n_fft-hop), k*hop + hop)` and every input sample is covered by full window
//! overlap. The synthesiser emits `hop` samples per frame; its output lags the analyser's input by
//! [`StftConfig::latency`] = `n_fft - hop` samples. [`istft`] trims that lag.

use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// STFT geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StftConfig {
    /// Window (and FFT) length in samples.
    pub n_fft: usize,
    /// Hop between frames in samples; must divide `n_fft` and be at most `n_fft / 2`.
    pub hop: usize,
}

impl Default for StftConfig {
    fn default() -> Self {
        Self { n_fft: Self::DEFAULT_N_FFT, hop: Self::DEFAULT_HOP }
    }
}

impl StftConfig {
    /// Default window: 512 samples (32 ms at 16 kHz).
    pub const DEFAULT_N_FFT: usize = 512;
    /// Default hop: 128 samples (8 ms at 16 kHz).
    pub const DEFAULT_HOP: usize = 128;

    /// Number of frequency bins, `n_fft / 2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Delay in samples from analyser input to synthesiser output.
    pub fn latency(&self) -> usize {
        self.n_fft - self.hop
    }

    /// Checks that the geometry gives perfect reconstruction with the sqrt-Hann pair.
    pub fn validate(&self) -> Result<(), String> {
        if self.n_fft < 4 || self.n_fft % 2 != 0 {
            return Err(format!("n_fft must be even and >= 4, got {}", self.n_fft));
        }
        if self.hop == 0 || self.n_fft % self.hop != 0 || self.hop > self.n_fft / 2 {
            return Err(format!("hop {} must divide n_fft {} and be <= n_fft/2", self.hop, self.n_fft));
        }
        Ok(())
    }

    /// Periodic sqrt-Hann window, used for both analysis and synthesis.
    pub fn window(&self) -> Vec<f32> {
        let n = self.n_fft as f64;
        (0..self.n_fft)
            .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n).cos()).sqrt() as f32)
            .collect()
    }

    /// Overlap-add gain of the window pair (sum of Hann over the overlapping shifts).
    fn ola_gain(&self) -> f32 {
        // Periodic Hann sums to n_fft / (2 * hop) at every sample when hop divides n_fft / 2 ... n_fft.
        self.n_fft as f32 / (2.0 * self.hop as f32)
    }
}

/// Streaming STFT analyser: push samples, receive complete frames.
pub struct StftAnalyzer {
    cfg: StftConfig,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// Sliding input buffer of `n_fft` samples; the newest `filled - (n_fft-hop)` are new.
    buf: Vec<f32>,
    /// Number of valid samples in `buf` (starts at `n_fft - hop`: the zero pre-roll).
    filled: usize,
    frame_in: Vec<f32>,
    spectrum: Vec<Complex32>,
    scratch: Vec<Complex32>,
}

impl StftAnalyzer {
    /// Creates an analyser; panics only on an invalid config (check with [`StftConfig::validate`]).
    pub fn new(cfg: StftConfig) -> Self {
        cfg.validate().expect("invalid STFT config");
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(cfg.n_fft);
        let scratch = fft.make_scratch_vec();
        Self {
            window: cfg.window(),
            buf: vec![0.0; cfg.n_fft],
            filled: cfg.n_fft - cfg.hop,
            frame_in: vec![0.0; cfg.n_fft],
            spectrum: vec![Complex32::new(0.0, 0.0); cfg.n_bins()],
            scratch,
            fft,
            cfg,
        }
    }

    /// The geometry.
    pub fn config(&self) -> StftConfig {
        self.cfg
    }

    /// Clears the state back to the zero pre-roll.
    pub fn reset(&mut self) {
        self.buf.iter_mut().for_each(|x| *x = 0.0);
        self.filled = self.cfg.n_fft - self.cfg.hop;
    }

    /// Pushes samples; calls `on_frame` with each completed frame's `n_bins` spectrum.
    pub fn push(&mut self, mut samples: &[f32], mut on_frame: impl FnMut(&[Complex32])) {
        let n = self.cfg.n_fft;
        while !samples.is_empty() {
            let take = (n - self.filled).min(samples.len());
            self.buf[self.filled..self.filled + take].copy_from_slice(&samples[..take]);
            self.filled += take;
            samples = &samples[take..];
            if self.filled == n {
                for ((d, s), w) in self.frame_in.iter_mut().zip(&self.buf).zip(&self.window) {
                    *d = s * w;
                }
                self.fft
                    .process_with_scratch(&mut self.frame_in, &mut self.spectrum, &mut self.scratch)
                    .expect("buffer sizes fixed at construction");
                on_frame(&self.spectrum);
                self.buf.copy_within(self.cfg.hop.., 0);
                self.filled = n - self.cfg.hop;
            }
        }
    }
}

/// Streaming STFT synthesiser: push frames, receive `hop` samples per frame.
pub struct StftSynthesizer {
    cfg: StftConfig,
    ifft: Arc<dyn ComplexToReal<f32>>,
    window: Vec<f32>,
    ola: Vec<f32>,
    spectrum: Vec<Complex32>,
    frame_out: Vec<f32>,
    scratch: Vec<Complex32>,
}

impl StftSynthesizer {
    /// Creates a synthesiser for the given geometry.
    pub fn new(cfg: StftConfig) -> Self {
        cfg.validate().expect("invalid STFT config");
        let ifft = RealFftPlanner::<f32>::new().plan_fft_inverse(cfg.n_fft);
        let scratch = ifft.make_scratch_vec();
        let norm = 1.0 / (cfg.n_fft as f32 * cfg.ola_gain());
        Self {
            window: cfg.window().into_iter().map(|w| w * norm).collect(),
            ola: vec![0.0; cfg.n_fft],
            spectrum: vec![Complex32::new(0.0, 0.0); cfg.n_bins()],
            frame_out: vec![0.0; cfg.n_fft],
            scratch,
            ifft,
            cfg,
        }
    }

    /// Clears the overlap-add state.
    pub fn reset(&mut self) {
        self.ola.iter_mut().for_each(|x| *x = 0.0);
    }

    /// Adds one frame (`n_bins` values) and writes the `hop` finished samples into `out`.
    pub fn push_frame(&mut self, frame: &[Complex32], out: &mut [f32]) {
        let (n, hop) = (self.cfg.n_fft, self.cfg.hop);
        self.spectrum.copy_from_slice(frame);
        // A real signal's DC and Nyquist bins are real; realfft refuses anything else.
        self.spectrum[0].im = 0.0;
        let last = self.spectrum.len() - 1;
        self.spectrum[last].im = 0.0;
        self.ifft
            .process_with_scratch(&mut self.spectrum, &mut self.frame_out, &mut self.scratch)
            .expect("buffer sizes fixed at construction");
        for ((o, s), w) in self.ola.iter_mut().zip(&self.frame_out).zip(&self.window) {
            *o += s * w;
        }
        out[..hop].copy_from_slice(&self.ola[..hop]);
        self.ola.copy_within(hop.., 0);
        self.ola[n - hop..].iter_mut().for_each(|x| *x = 0.0);
    }
}

/// A spectrogram: `n_frames` rows of `n_bins` complex values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrogram {
    /// Number of frames.
    pub n_frames: usize,
    /// Bins per frame.
    pub n_bins: usize,
    /// `n_frames * n_bins` values.
    pub data: Vec<Complex32>,
}

impl Spectrogram {
    /// Frame `k` as a slice.
    pub fn frame(&self, k: usize) -> &[Complex32] {
        &self.data[k * self.n_bins..(k + 1) * self.n_bins]
    }
}

/// Number of frames [`stft`] produces for `len` samples: enough to reconstruct all of them.
pub fn n_frames_for(cfg: &StftConfig, len: usize) -> usize {
    len.div_ceil(cfg.hop) + cfg.latency() / cfg.hop
}

/// Offline STFT of a whole signal (the streaming analyser followed by a zero tail).
pub fn stft(cfg: &StftConfig, signal: &[f32]) -> Spectrogram {
    let mut an = StftAnalyzer::new(*cfg);
    let n_frames = n_frames_for(cfg, signal.len());
    let mut data = Vec::with_capacity(n_frames * cfg.n_bins());
    an.push(signal, |f| data.extend_from_slice(f));
    let tail = vec![0.0; n_frames * cfg.hop - signal.len()];
    an.push(&tail, |f| data.extend_from_slice(f));
    debug_assert_eq!(data.len(), n_frames * cfg.n_bins());
    Spectrogram { n_frames, n_bins: cfg.n_bins(), data }
}

/// Offline inverse of [`stft`]: returns `len` samples aligned with the original signal.
pub fn istft(cfg: &StftConfig, spec: &Spectrogram, len: usize) -> Vec<f32> {
    let mut syn = StftSynthesizer::new(*cfg);
    let mut out = vec![0.0; spec.n_frames * cfg.hop];
    for (k, chunk) in out.chunks_mut(cfg.hop).enumerate() {
        syn.push_frame(spec.frame(k), chunk);
    }
    let start = cfg.latency();
    let mut y: Vec<f32> = out.into_iter().skip(start).take(len).collect();
    y.resize(len, 0.0);
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(len: usize) -> Vec<f32> {
        let mut s = 12345u32;
        (0..len)
            .map(|i| {
                s = s.wrapping_mul(1664525).wrapping_add(1013904223);
                0.3 * (i as f32 * 0.01).sin() + 0.2 * ((s >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
            })
            .collect()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
    }

    #[test]
    fn round_trip_is_perfect() {
        for cfg in [StftConfig::default(), StftConfig { n_fft: 256, hop: 64 }, StftConfig { n_fft: 512, hop: 256 }] {
            let x = signal(16000 + 77);
            let y = istft(&cfg, &stft(&cfg, &x), x.len());
            let err: Vec<f32> = x.iter().zip(&y).map(|(a, b)| a - b).collect();
            assert!(rms(&err) < 1e-5 * rms(&x), "{cfg:?}: err rms {}", rms(&err));
        }
    }

    #[test]
    fn streaming_equals_offline_for_any_block_sizes() {
        let cfg = StftConfig::default();
        let x = signal(5000);
        let offline = stft(&cfg, &x);
        let mut an = StftAnalyzer::new(cfg);
        let mut frames = Vec::new();
        let mut pos = 0;
        let mut block = 1;
        while pos < x.len() {
            let end = (pos + block).min(x.len());
            an.push(&x[pos..end], |f| frames.extend_from_slice(f));
            pos = end;
            block = (block * 7 + 3) % 301 + 1;
        }
        let n = frames.len() / cfg.n_bins();
        assert!(n >= x.len() / cfg.hop);
        assert_eq!(&frames[..], &offline.data[..frames.len()]);
    }

    #[test]
    fn synthesis_latency_is_n_fft_minus_hop() {
        let cfg = StftConfig::default();
        let mut x = vec![0.0; 2048];
        x[700] = 1.0;
        let spec = stft(&cfg, &x);
        let mut syn = StftSynthesizer::new(cfg);
        let mut out = vec![0.0; spec.n_frames * cfg.hop];
        for (k, c) in out.chunks_mut(cfg.hop).enumerate() {
            syn.push_frame(spec.frame(k), c);
        }
        let peak = out.iter().enumerate().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs())).unwrap().0;
        assert_eq!(peak, 700 + cfg.latency());
    }
}
