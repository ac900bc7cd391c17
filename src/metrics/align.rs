//! Constant-delay alignment by FFT cross-correlation.

use realfft::num_complex::Complex64;
use realfft::RealFftPlanner;

/// The lag in samples, within `±max_lag`, that maximises the cross-correlation
/// `c[l] = sum_n reference[n] * estimate[n + l]`.
///
/// Positive means the estimate lags (is late): `estimate[n + lag]` lines up with `reference[n]`.
/// Computed with one real FFT of size `next_pow2(len_ref + len_est)`, so any `max_lag` costs the
/// same. Returns 0 for empty or silent input; ties go to the lag closest to zero.
pub fn align_delay(reference: &[f32], estimate: &[f32], max_lag: usize) -> isize {
    if reference.is_empty() || estimate.is_empty() {
        return 0;
    }
    let n = (reference.len() + estimate.len()).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let spectrum = |x: &[f32]| -> Vec<Complex64> {
        let mut buf = fwd.make_input_vec();
        for (b, &v) in buf.iter_mut().zip(x) {
            *b = v as f64;
        }
        let mut out = fwd.make_output_vec();
        fwd.process(&mut buf, &mut out).expect("fixed sizes");
        out
    };
    let r = spectrum(reference);
    let e = spectrum(estimate);
    let mut prod: Vec<Complex64> = r.iter().zip(&e).map(|(a, b)| a.conj() * b).collect();
    // A real signal's DC and Nyquist bins are real; clear rounding residue for realfft.
    prod[0].im = 0.0;
    let last = prod.len() - 1;
    prod[last].im = 0.0;
    let mut corr = inv.make_output_vec();
    inv.process(&mut prod, &mut corr).expect("fixed sizes");
    // corr[l] for l >= 0, corr[n + l] for l < 0 (circular, no wrap since n >= len_r + len_e).
    let max_pos = max_lag.min(estimate.len().saturating_sub(1));
    let max_neg = max_lag.min(reference.len().saturating_sub(1));
    let mut best = (0isize, corr[0]);
    for k in 1..=max_pos.max(max_neg) {
        if k <= max_pos && corr[k] > best.1 {
            best = (k as isize, corr[k]);
        }
        if k <= max_neg && corr[n - k] > best.1 {
            best = (-(k as isize), corr[n - k]);
        }
    }
    if best.1 <= 0.0 { 0 } else { best.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect()
    }

    #[test]
    fn finds_known_shifts() {
        let x = noise(20000, 1);
        for shift in [0isize, 1, 37, 800, 1600, -1, -250, -1600] {
            let y: Vec<f32> = if shift >= 0 {
                let mut y = vec![0.0; shift as usize];
                y.extend_from_slice(&x);
                y
            } else {
                x[(-shift) as usize..].to_vec()
            };
            let d = noise(y.len(), 9);
            let y: Vec<f32> = y.iter().zip(&d).map(|(a, b)| 0.7 * a + 0.3 * b).collect();
            assert_eq!(align_delay(&x, &y, 1600), shift, "shift {shift}");
        }
    }

    #[test]
    fn respects_the_lag_limit() {
        let x = noise(8000, 2);
        let mut y = vec![0.0; 500];
        y.extend_from_slice(&x);
        assert_eq!(align_delay(&x, &y, 600), 500);
        assert!(align_delay(&x, &y, 100).abs() <= 100);
        assert_eq!(align_delay(&[], &y, 100), 0);
        assert_eq!(align_delay(&vec![0.0; 100], &y, 100), 0);
    }
}
