//! Conversions between STFT frames and the network's compressed real/imaginary planes.
//!
//! X̃ = β|X|^α e^{j∠X}: compression evens out the dynamic range so one network handles loud and
//! quiet bins alike (as in SGMSE+). The Nyquist bin is dropped for the network (power-of-two
//! frequency axis) and set to zero on the way back.

use crate::dsp::Complex32;

/// Compresses `frames` (`n_frames * n_bins`) into channel planes `re` and `im`
/// (`n_frames * n_freq` each, frame-major), keeping the first `n_freq` bins.
pub fn compress(frames: &[Complex32], n_bins: usize, n_freq: usize, alpha: f32, beta: f32, re: &mut [f32], im: &mut [f32]) {
    let n_frames = frames.len() / n_bins;
    for t in 0..n_frames {
        for f in 0..n_freq {
            let x = frames[t * n_bins + f];
            let mag = x.norm();
            let g = if mag > 0.0 { beta * mag.powf(alpha - 1.0) } else { 0.0 };
            re[t * n_freq + f] = g * x.re;
            im[t * n_freq + f] = g * x.im;
        }
    }
}

/// Inverse of [`compress`]: writes `n_bins` per frame, the bins past `n_freq` set to zero.
pub fn decompress(re: &[f32], im: &[f32], n_freq: usize, n_bins: usize, alpha: f32, beta: f32, frames: &mut [Complex32]) {
    let n_frames = re.len() / n_freq;
    for t in 0..n_frames {
        for f in 0..n_bins {
            frames[t * n_bins + f] = if f < n_freq {
                let (r, i) = (re[t * n_freq + f], im[t * n_freq + f]);
                let c = (r * r + i * i).sqrt();
                let g = if c > 0.0 { (c / beta).powf(1.0 / alpha) / c } else { 0.0 };
                Complex32::new(g * r, g * i)
            } else {
                Complex32::new(0.0, 0.0)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compress_round_trip() {
        let n_bins = 5;
        let frames: Vec<Complex32> = (0..10).map(|i| Complex32::new(i as f32 - 3.0, 0.5 * i as f32)).collect();
        let (mut re, mut im) = (vec![0.0; 8], vec![0.0; 8]);
        compress(&frames, n_bins, 4, 0.5, 0.15, &mut re, &mut im);
        let mut back = vec![Complex32::new(9.0, 9.0); 10];
        decompress(&re, &im, 4, n_bins, 0.5, 0.15, &mut back);
        for (k, (a, b)) in frames.iter().zip(&back).enumerate() {
            if k % n_bins == 4 {
                assert_eq!(*b, Complex32::new(0.0, 0.0));
            } else {
                assert!((a - b).norm() < 1e-4 * (1.0 + a.norm()), "{a} vs {b}");
            }
        }
        // |X̃| = β |X|^α
        assert!((re[1].hypot(im[1]) - 0.15 * frames[1].norm().sqrt()).abs() < 1e-6);
    }
}
