//! STOI and ESTOI, a faithful port of `pystoi` 0.4 (Taal et al. 2011; Jensen and Taal 2016).
//!
//! Pipeline: resample to 10 kHz with pystoi's Octave-compatible polyphase filter
//! ([`resample_oct`]), drop frames more than 40 dB below the loudest clean frame (256-sample
//! Hann frames, hop 128, overlap-added back), STFT (256-sample Hann frames, hop 128, 512-point
//! FFT), 15 one-third-octave bands from 150 Hz, then correlations over segments of N = 30 frames:
//! per band with -15 dB clipping for STOI, row- and column-normalised for ESTOI. Everything runs
//! in `f64`, like numpy.

use realfft::RealFftPlanner;

/// The internal rate of STOI.
const FS: u32 = 10_000;
/// Frame (window) length in samples.
const N_FRAME: usize = 256;
/// FFT size.
const NFFT: usize = 512;
/// Number of one-third-octave bands.
const NUMBAND: usize = 15;
/// Centre frequency of the lowest band, Hz.
const MINFREQ: f64 = 150.0;
/// Frames per intermediate-intelligibility segment.
const N: usize = 30;
/// Lower signal-to-distortion bound of the STOI clipping, dB.
const BETA: f64 = -15.0;
/// Dynamic range kept by silent-frame removal, dB.
const DYN_RANGE: f64 = 40.0;
/// numpy's `finfo(float).eps`, as in pystoi.
const EPS: f64 = f64::EPSILON;
/// What pystoi returns when fewer than 30 frames survive silent-frame removal.
pub const TOO_SHORT: f64 = 1e-5;

/// Short-time objective intelligibility (STOI) of `processed` against `clean`, about 0..1.
///
/// `fs` is the rate of both signals (any rate; they are resampled to 10 kHz as pystoi does). The
/// signals must be time-aligned; the common prefix is used when the lengths differ. Returns
/// [`TOO_SHORT`] (1e-5), like pystoi, when fewer than 30 non-silent frames remain.
pub fn stoi(clean: &[f32], processed: &[f32], fs: u32) -> f64 {
    match prepare(clean, processed, fs) {
        Some((x, y)) => stoi_bands(&x, &y),
        None => TOO_SHORT,
    }
}

/// Extended STOI (ESTOI, Jensen and Taal 2016) of `processed` against `clean`, about 0..1.
///
/// Same front end as [`stoi`]; each 15 x 30 segment is mean/variance-normalised along time
/// (rows) then along frequency (columns) and the normalised segments are correlated. Suited to
/// modulated maskers. Returns [`TOO_SHORT`] when fewer than 30 non-silent frames remain.
pub fn estoi(clean: &[f32], processed: &[f32], fs: u32) -> f64 {
    match prepare(clean, processed, fs) {
        Some((x, y)) => estoi_bands(&x, &y),
        None => TOO_SHORT,
    }
}

/// One-third-octave band envelopes, `[frame][band]`.
type Tob = Vec<[f64; NUMBAND]>;

/// Resampling, silent-frame removal, STFT and band grouping; `None` when too few frames remain.
fn prepare(clean: &[f32], processed: &[f32], fs: u32) -> Option<(Tob, Tob)> {
    let n = clean.len().min(processed.len());
    let mut x: Vec<f64> = clean[..n].iter().map(|&v| v as f64).collect();
    let mut y: Vec<f64> = processed[..n].iter().map(|&v| v as f64).collect();
    if fs != FS {
        x = resample_oct(&x, FS, fs);
        y = resample_oct(&y, FS, fs);
    }
    let (x, y) = remove_silent_frames(&x, &y, DYN_RANGE, N_FRAME, N_FRAME / 2);
    let obm = third_octave_bands();
    let xt = band_envelopes(&x, &obm);
    let yt = band_envelopes(&y, &obm);
    if xt.len() < N {
        return None;
    }
    Some((xt, yt))
}

/// `np.hanning(len + 2)[1:-1]` (Matlab's `hanning(len)`).
fn hanning_inner(len: usize) -> Vec<f64> {
    let m = len + 2;
    (1..=len)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (m - 1) as f64).cos())
        .collect()
}

/// Starts of pystoi's frames: `range(0, len - framelen, hop)`.
fn frame_starts(len: usize, framelen: usize, hop: usize) -> impl Iterator<Item = usize> {
    (0..len.saturating_sub(framelen)).step_by(hop)
}

/// pystoi's `remove_silent_frames`: windowed frames of `x` more than `dyn_range` dB below the
/// loudest are dropped from both signals; the rest are overlap-added back.
fn remove_silent_frames(x: &[f64], y: &[f64], dyn_range: f64, framelen: usize, hop: usize) -> (Vec<f64>, Vec<f64>) {
    let w = hanning_inner(framelen);
    let starts: Vec<usize> = frame_starts(x.len(), framelen, hop).collect();
    let energies: Vec<f64> = starts
        .iter()
        .map(|&s| {
            let e: f64 = x[s..s + framelen].iter().zip(&w).map(|(v, w)| (v * w) * (v * w)).sum();
            20.0 * (e.sqrt() + EPS).log10()
        })
        .collect();
    let max = energies.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let kept: Vec<usize> = starts
        .iter()
        .zip(&energies)
        .filter(|(_, &e)| (max - dyn_range - e) < 0.0)
        .map(|(&s, _)| s)
        .collect();
    if kept.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let out_len = (kept.len() - 1) * hop + framelen;
    let (mut xo, mut yo) = (vec![0.0; out_len], vec![0.0; out_len]);
    for (j, &s) in kept.iter().enumerate() {
        for i in 0..framelen {
            xo[j * hop + i] += w[i] * x[s + i];
            yo[j * hop + i] += w[i] * y[s + i];
        }
    }
    (xo, yo)
}

/// pystoi's `thirdoct`: for each band, the half-open bin range `[lo, hi)`.
fn third_octave_bands() -> [(usize, usize); NUMBAND] {
    let mut bands = [(0, 0); NUMBAND];
    bands.copy_from_slice(&third_octave_bins(NFFT, FS));
    bands
}

/// STOI's 15 third-octave bands (centres 150 Hz · 2^(k/3)) as half-open bin ranges `[lo, hi)`
/// of an `n_fft`-point spectrum at `fs` Hz, with pystoi's nearest-bin edges.
pub fn third_octave_bins(n_fft: usize, fs: u32) -> Vec<(usize, usize)> {
    let f: Vec<f64> = (0..=n_fft / 2).map(|k| k as f64 * fs as f64 / n_fft as f64).collect();
    let nearest = |target: f64| {
        let mut best = 0;
        for (i, &fi) in f.iter().enumerate() {
            if (fi - target).powi(2) < (f[best] - target).powi(2) {
                best = i;
            }
        }
        best
    };
    (0..NUMBAND)
        .map(|k| {
            let k = k as f64;
            let lo = MINFREQ * 2f64.powf((2.0 * k - 1.0) / 6.0);
            let hi = MINFREQ * 2f64.powf((2.0 * k + 1.0) / 6.0);
            (nearest(lo), nearest(hi))
        })
        .collect()
}

/// STFT (256 Hann, hop 128, 512 FFT) and `sqrt(OBM |X|^2)` per frame.
fn band_envelopes(x: &[f64], obm: &[(usize, usize); NUMBAND]) -> Tob {
    let w = hanning_inner(N_FRAME);
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(NFFT);
    let mut input = fft.make_input_vec();
    let mut spec = fft.make_output_vec();
    let mut power = vec![0.0f64; NFFT / 2 + 1];
    frame_starts(x.len(), N_FRAME, N_FRAME / 2)
        .map(|s| {
            input.iter_mut().for_each(|v| *v = 0.0);
            for i in 0..N_FRAME {
                input[i] = w[i] * x[s + i];
            }
            fft.process(&mut input, &mut spec).expect("fixed sizes");
            for (p, c) in power.iter_mut().zip(&spec) {
                *p = c.norm_sqr();
            }
            let mut row = [0.0; NUMBAND];
            for (r, &(lo, hi)) in row.iter_mut().zip(obm) {
                *r = power[lo..hi].iter().sum::<f64>().sqrt();
            }
            row
        })
        .collect()
}

/// Classic STOI on band envelopes.
fn stoi_bands(x: &Tob, y: &Tob) -> f64 {
    let clip = 10f64.powf(-BETA / 20.0);
    let n_seg = x.len() - N + 1;
    let mut total = 0.0;
    let (mut xs, mut ys) = ([0.0f64; N], [0.0f64; N]);
    for m in N..=x.len() {
        for band in 0..NUMBAND {
            for t in 0..N {
                xs[t] = x[m - N + t][band];
                ys[t] = y[m - N + t][band];
            }
            let alpha = norm(&xs) / (norm(&ys) + EPS);
            for t in 0..N {
                ys[t] = (ys[t] * alpha).min(xs[t] * (1.0 + clip));
            }
            center(&mut xs);
            center(&mut ys);
            let (nx, ny) = (norm(&xs) + EPS, norm(&ys) + EPS);
            total += xs.iter().zip(&ys).map(|(a, b)| (a / nx) * (b / ny)).sum::<f64>();
        }
    }
    total / (n_seg * NUMBAND) as f64
}

/// ESTOI on band envelopes.
fn estoi_bands(x: &Tob, y: &Tob) -> f64 {
    let n_seg = x.len() - N + 1;
    let mut total = 0.0;
    let mut xs = [[0.0f64; N]; NUMBAND];
    let mut ys = [[0.0f64; N]; NUMBAND];
    for m in N..=x.len() {
        for band in 0..NUMBAND {
            for t in 0..N {
                xs[band][t] = x[m - N + t][band];
                ys[band][t] = y[m - N + t][band];
            }
        }
        row_col_normalize(&mut xs);
        row_col_normalize(&mut ys);
        let mut s = 0.0;
        for band in 0..NUMBAND {
            for t in 0..N {
                s += xs[band][t] * ys[band][t];
            }
        }
        total += s / N as f64;
    }
    total / n_seg as f64
}

/// Mean/variance normalisation of each row (band, over time), then of each column (frame, over
/// bands). pystoi dithers with EPS-sized noise to avoid dividing by zero; a zero norm is guarded
/// here instead.
fn row_col_normalize(s: &mut [[f64; N]; NUMBAND]) {
    for row in s.iter_mut() {
        center(row);
        let n = norm(row).max(EPS);
        row.iter_mut().for_each(|v| *v /= n);
    }
    for t in 0..N {
        let mean = s.iter().map(|r| r[t]).sum::<f64>() / NUMBAND as f64;
        s.iter_mut().for_each(|r| r[t] -= mean);
        let n = s.iter().map(|r| r[t] * r[t]).sum::<f64>().sqrt().max(EPS);
        s.iter_mut().for_each(|r| r[t] /= n);
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

fn center(v: &mut [f64]) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    v.iter_mut().for_each(|a| *a -= m);
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Modified Bessel function of the first kind, order 0 (power series).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, q) = (1.0f64, 1.0f64, x * x / 4.0);
    for k in 1..500 {
        term *= q / (k as f64 * k as f64);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// pystoi's `resample_oct(x, p, q)`: rate change by `p / q` (output rate `p`, input rate `q`)
/// with Octave's Kaiser-windowed sinc filter (60 dB rejection) applied like scipy's
/// `resample_poly` with zero padding. Output length `ceil(len * p / q)`.
pub fn resample_oct(x: &[f64], p: u32, q: u32) -> Vec<f64> {
    let g = gcd(p as u64, q as u64).max(1);
    let (up, down) = ((p as u64 / g) as usize, (q as u64 / g) as usize);
    if up == down {
        return x.to_vec();
    }
    // Octave filter design (pystoi `_resample_window_oct`).
    let stopband = 1.0 / (2.0 * up.max(down) as f64);
    let roll_off = stopband / 10.0;
    let rejection_db = 60.0f64;
    let l = ((rejection_db - 8.0) / (28.714 * roll_off)).ceil() as i64;
    let beta = 0.1102 * (rejection_db - 8.7);
    let m = (2 * l + 1) as usize;
    let i0b = bessel_i0(beta);
    let mut h: Vec<f64> = (0..m)
        .map(|i| {
            let t = i as f64 - l as f64;
            let arg = 2.0 * stopband * t;
            let sinc = if arg == 0.0 { 1.0 } else { (std::f64::consts::PI * arg).sin() / (std::f64::consts::PI * arg) };
            let r = 2.0 * i as f64 / (m - 1) as f64 - 1.0;
            let kaiser = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / i0b;
            kaiser * 2.0 * up as f64 * stopband * sinc
        })
        .collect();
    let sum: f64 = h.iter().sum();
    h.iter_mut().for_each(|v| *v = *v / sum * up as f64);
    // scipy resample_poly: y[m] = sum_i x[i] h[half + m*down - i*up].
    let half = (m - 1) / 2;
    let n_in = x.len();
    let n_out = (n_in * up).div_ceil(down);
    (0..n_out)
        .map(|o| {
            let c = half + o * down; // filter index of i = 0
            let i_hi = (c / up).min(n_in.saturating_sub(1));
            let i_lo = if c >= m - 1 { (c - (m - 1)).div_ceil(up) } else { 0 };
            let mut acc = 0.0;
            let mut i = i_lo;
            while i <= i_hi && i < n_in {
                acc += x[i] * h[c - i * up];
                i += 1;
            }
            acc
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speechy(n: usize, fs: u32, seed: u64) -> Vec<f32> {
        // Amplitude-modulated harmonics with pauses: enough structure for STOI.
        let mut s = seed;
        (0..n)
            .map(|i| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let t = i as f32 / fs as f32;
                let env = ((t * 3.0 * std::f32::consts::TAU).sin()).max(0.0);
                let tone: f32 = (1..8).map(|k| (t * 140.0 * k as f32 * std::f32::consts::TAU).sin() / k as f32).sum();
                env * tone * 0.2 + 1e-3 * (((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5)
            })
            .collect()
    }

    #[test]
    fn identical_signals_score_one() {
        let x = speechy(48000, 16000, 1);
        assert!((stoi(&x, &x, 16000) - 1.0).abs() < 1e-6);
        assert!((estoi(&x, &x, 16000) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn noise_lowers_scores() {
        let x = speechy(48000, 16000, 1);
        let mut s = 7u64;
        let y: Vec<f32> = x
            .iter()
            .map(|v| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                v + 0.3 * (((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5)
            })
            .collect();
        let (a, b) = (stoi(&x, &y, 16000), estoi(&x, &y, 16000));
        assert!(a < 0.95 && a > 0.0, "stoi {a}");
        assert!(b < 0.9 && b > -0.5, "estoi {b}");
    }

    #[test]
    fn too_short_returns_floor() {
        let x = speechy(3000, 16000, 1);
        assert_eq!(stoi(&x, &x, 16000), TOO_SHORT);
    }

    #[test]
    fn resampler_keeps_a_low_tone_and_length() {
        let x: Vec<f64> = (0..16000).map(|i| (i as f64 * 2.0 * std::f64::consts::PI * 440.0 / 16000.0).sin()).collect();
        let y = resample_oct(&x, 10000, 16000);
        assert_eq!(y.len(), 10000);
        for (i, v) in y.iter().enumerate().skip(200).take(9000) {
            let e = (i as f64 * 2.0 * std::f64::consts::PI * 440.0 / 10000.0).sin();
            assert!((v - e).abs() < 2e-3, "sample {i}: {v} vs {e}");
        }
    }
}
