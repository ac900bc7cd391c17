//! Waveform-domain metrics: SI-SDR, SNR and segmental SNR.
//!
//! All sums run in `f64`. The inputs must be time-aligned and equally long; the functions use the
//! common prefix when the lengths differ.

/// Guards the logarithms against a zero numerator or denominator. Far below the energy of any real
/// signal, so it never moves a reported value; a perfect estimate scores a finite, huge number.
const TINY: f64 = 1e-20;

/// Scale-invariant signal-to-distortion ratio in dB (Le Roux et al., "SDR: half-baked or well
/// done?", ICASSP 2019), zero-mean variant.
///
/// Both signals have their mean removed; the reference is scaled by the least-squares gain
/// `alpha = <est, ref> / <ref, ref>` and `SI-SDR = 10 log10(|alpha ref|^2 / |est - alpha ref|^2)`.
/// Invariant to the estimate's gain. A silent reference gives a very negative number.
pub fn si_sdr(reference: &[f32], estimate: &[f32]) -> f64 {
    let n = reference.len().min(estimate.len());
    if n == 0 {
        return f64::NAN;
    }
    let (r, e) = (&reference[..n], &estimate[..n]);
    let mr = r.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
    let me = e.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
    let (mut rr, mut re) = (0.0f64, 0.0f64);
    for (&a, &b) in r.iter().zip(e) {
        let (a, b) = (a as f64 - mr, b as f64 - me);
        rr += a * a;
        re += a * b;
    }
    let alpha = re / (rr + TINY);
    let (mut target, mut noise) = (0.0f64, 0.0f64);
    for (&a, &b) in r.iter().zip(e) {
        let (a, b) = (a as f64 - mr, b as f64 - me);
        let t = alpha * a;
        target += t * t;
        noise += (b - t) * (b - t);
    }
    10.0 * ((target + TINY) / (noise + TINY)).log10()
}

/// Signal-to-noise ratio in dB over the whole signal: `10 log10(|ref|^2 / |ref - est|^2)`.
///
/// Not scale-invariant: a gain error counts as noise.
pub fn snr(reference: &[f32], estimate: &[f32]) -> f64 {
    let n = reference.len().min(estimate.len());
    if n == 0 {
        return f64::NAN;
    }
    let (mut s, mut d) = (0.0f64, 0.0f64);
    for (&a, &b) in reference[..n].iter().zip(&estimate[..n]) {
        let (a, b) = (a as f64, b as f64);
        s += a * a;
        d += (a - b) * (a - b);
    }
    10.0 * ((s + TINY) / (d + TINY)).log10()
}

/// Lower clamp of a frame's SNR in [`seg_snr`], dB.
pub const SEG_SNR_MIN_DB: f64 = -10.0;
/// Upper clamp of a frame's SNR in [`seg_snr`], dB.
pub const SEG_SNR_MAX_DB: f64 = 35.0;

/// Segmental SNR in dB, Loizou's `snrseg` (the "SSNR" of the VoiceBank-DEMAND literature).
///
/// 30 ms Hann frames (`0.5 (1 - cos(2 pi n / (L + 1)))`, `n = 1..=L`) with a hop of a quarter
/// frame; each frame's SNR `10 log10(E_s / (E_d + eps) + eps)` is clamped to
/// [`SEG_SNR_MIN_DB`]..=[`SEG_SNR_MAX_DB`] and the frames are averaged (silent frames included,
/// as in the reference). Returns NaN when the signals are shorter than one frame.
pub fn seg_snr(reference: &[f32], estimate: &[f32], fs: u32) -> f64 {
    let n = reference.len().min(estimate.len());
    let win = (30.0 * fs as f64 / 1000.0).round() as usize;
    let skip = win / 4;
    if win == 0 || skip == 0 {
        return f64::NAN;
    }
    // Matlab: num_frames = len/skip - win/skip, looped as 1:num_frames.
    let n_frames = (n as f64 / skip as f64 - win as f64 / skip as f64).floor();
    if n_frames < 1.0 {
        return f64::NAN;
    }
    let n_frames = n_frames as usize;
    let window: Vec<f64> = (1..=win)
        .map(|i| 0.5 * (1.0 - (2.0 * std::f64::consts::PI * i as f64 / (win as f64 + 1.0)).cos()))
        .collect();
    let mut total = 0.0f64;
    for k in 0..n_frames {
        let start = k * skip;
        let (mut s, mut d) = (0.0f64, 0.0f64);
        for (i, w) in window.iter().enumerate() {
            let a = reference[start + i] as f64 * w;
            let b = estimate[start + i] as f64 * w;
            s += a * a;
            d += (a - b) * (a - b);
        }
        let v = 10.0 * (s / (d + f64::EPSILON) + f64::EPSILON).log10();
        total += v.clamp(SEG_SNR_MIN_DB, SEG_SNR_MAX_DB);
    }
    total / n_frames as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn si_sdr_of_scaled_self_is_huge() {
        let x: Vec<f32> = (0..16000).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
        let y: Vec<f32> = x.iter().map(|v| v * 0.25).collect();
        assert!(si_sdr(&x, &y) > 100.0, "{}", si_sdr(&x, &y));
        assert!(snr(&x, &x) > 100.0);
    }

    #[test]
    fn si_sdr_and_snr_with_noise_at_10_db() {
        let x = noise(64000, 1);
        let mut n = noise(64000, 2);
        // Make the noise exactly orthogonal to x and zero-mean, then scale it to 10 dB below x.
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(p, q)| *p as f64 * *q as f64).sum::<f64>();
        let mx = x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
        let xc: Vec<f32> = x.iter().map(|&v| (v as f64 - mx) as f32).collect();
        let k = dot(&n, &xc) / dot(&xc, &xc);
        n.iter_mut().zip(&xc).for_each(|(v, c)| *v -= (k * *c as f64) as f32);
        let g = (dot(&xc, &xc) / dot(&n, &n) / 10.0).sqrt();
        let y: Vec<f32> = xc.iter().zip(&n).map(|(a, b)| a + (g * *b as f64) as f32).collect();
        let s = si_sdr(&xc, &y);
        assert!((s - 10.0).abs() < 0.05, "si-sdr {s}");
        let s = snr(&xc, &y);
        assert!((s - 10.0).abs() < 0.05, "snr {s}");
        let ss = seg_snr(&xc, &y, 16000);
        assert!((ss - 10.0).abs() < 0.5, "segsnr {ss}");
    }

    #[test]
    fn seg_snr_is_clamped() {
        let x = noise(16000, 3);
        assert!((seg_snr(&x, &x, 16000) - SEG_SNR_MAX_DB).abs() < 1e-9);
        let z = vec![0.0f32; 16000];
        assert!((seg_snr(&x, &z, 16000) - 0.0).abs() < 1e-6);
        let y: Vec<f32> = x.iter().map(|v| -v * 20.0).collect();
        assert!((seg_snr(&x, &y, 16000) - SEG_SNR_MIN_DB).abs() < 1e-9);
    }
}
