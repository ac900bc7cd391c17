//! The RestoreGrad loss terms (design.md §1), as per-element means over tensors.
//!
//! Variances are diagonal, one per time-frequency bin, passed as log-variances `[B, 1, T, F]`
//! and broadcast over the real and imaginary planes `[B, 2, T, F]`.

use burn::prelude::*;

/// L_DM = ‖ε − ε̂‖²_{Σ⁻¹}: the Σ-weighted (Mahalanobis) noise loss, per-element mean.
pub fn noise_loss(target: Tensor<4>, estimate: Tensor<4>, logvar: Tensor<4>) -> Tensor<1> {
    ((target - estimate).square() * (-logvar).exp()).mean() // scalar
}

/// L_LR = ᾱ_T ‖x0‖²_{Σ_post⁻¹} + log|Σ_post|: keeps Σ_post from growing without bound.
/// `logvar_post` is broadcast over both planes of `x0`, so log|Σ| counts each plane.
pub fn latent_regulariser(x0: Tensor<4>, logvar_post: Tensor<4>, alpha_bar_last: f64) -> Tensor<1> {
    let planes = x0.dims()[1];
    let lv = logvar_post.repeat_dim(1, planes); // [B, 2, T, F]
    (x0.square() * (-lv.clone()).exp() * alpha_bar_last + lv).mean() // scalar
}

/// L_PM = log(|Σ_prior|/|Σ_post|) + tr(Σ_prior⁻¹ Σ_post) − d, per element: 2·KL(q_φ ‖ p_ψ).
/// The constant −1 per element makes it exactly zero when the two covariances agree.
pub fn prior_matching(logvar_prior: Tensor<4>, logvar_post: Tensor<4>) -> Tensor<1> {
    (logvar_prior.clone() - logvar_post.clone() + (logvar_post - logvar_prior).exp() - 1.0).mean() // scalar
}

/// An auxiliary clean-estimate loss (weighted by γ; γ = 0 gives the paper's loss):
/// ‖x̂0 − x0‖² with each bin weighted by `1 + k·|x0|²/mean|x0|²` (mean per item).
///
/// Why the speech weight k: on compressed spectra, plain MSE is dominated by the many quiet,
/// noise-dominated bins, and a small model lowers it most by turning everything down — speech
/// included (measured: 5-14 dB of speech attenuation and SI-SDR below the noisy input). A
/// compressed error δc costs about c²·δc² in the linear domain that SI-SDR sees, so weighting by
/// the clean power restores the loud speech bins' share; the 1 keeps the perceptual term.
pub fn clean_loss(x0: Tensor<4>, x0_hat: Tensor<4>, speech_weight: f64) -> Tensor<1> {
    let err = (x0.clone() - x0_hat).square(); // [B,2,T,F]
    if speech_weight == 0.0 {
        return err.mean(); // scalar
    }
    let power = x0.square().sum_dim(1); // [B,1,T,F]
    let mean = power.clone().mean_dim(3).mean_dim(2); // [B,1,1,1]
    let w = power / (mean + 1e-8) * speech_weight + 1.0; // [B,1,T,F]
    (err * w).mean() // scalar
}

/// ‖|x̂0| − |x0|‖² on the compressed magnitudes, per-bin mean, with errors below the clean
/// magnitude (speech removed) weighted `under_weight` times those above it (noise left).
///
/// Why: where the phase of a bin is uncertain, the complex MSE is lowest for an estimate shrunk
/// toward zero, so it rewards turning quiet speech down; a magnitude error has no such pull, and
/// it weighs every bin's envelope, which is what ESTOI and PESQ compare. The asymmetry picks
/// which error costs more: `under_weight` > 1 charges removed speech more (VoiceFilter-Lite's
/// asymmetric loss, for intelligibility), < 1 charges residual noise more, as PESQ's
/// disturbance weighting does (the shipped model's last fine-tune used 0.5).
pub fn magnitude_loss(x0: Tensor<4>, x0_hat: Tensor<4>, under_weight: f64) -> Tensor<1> {
    let mag = |x: Tensor<4>| (x.square().sum_dim(1) + 1e-8).sqrt(); // [B,1,T,F]
    let err = mag(x0_hat) - mag(x0); // [B,1,T,F]
    if under_weight == 1.0 {
        return err.square().mean(); // scalar
    }
    let under = err.clone().lower_elem(0.0).float(); // [B,1,T,F], 1 where the estimate is too quiet
    let w = under * (under_weight - 1.0) + 1.0; // [B,1,T,F]
    (err.square() * w).mean() // scalar
}

/// Frames of one ESTOI segment at the model's 8 ms hop: 384 ms, as ESTOI's 30 frames of 12.8 ms.
pub const ESTOI_SEGMENT_FRAMES: usize = 48;

/// STOI's third-octave band matrix `[F, 15]` for the model's first `n_freq` bins of an
/// `n_fft`-point spectrum at `rate` Hz: 1 where a bin belongs to a band.
pub fn band_matrix(n_freq: usize, n_fft: usize, rate: u32, device: &Device) -> Tensor<2> {
    let bands = crate::metrics::stoi::third_octave_bins(n_fft, rate);
    let mut m = vec![0.0f32; n_freq * bands.len()];
    for (j, &(lo, hi)) in bands.iter().enumerate() {
        for f in lo..hi.min(n_freq) {
            m[f * bands.len() + j] = 1.0;
        }
    }
    Tensor::from_data(TensorData::new(m, [n_freq, bands.len()]), device) // [F, J]
}

/// 1 − ESTOI, computed as ESTOI does but differentiably, on 384 ms segments (half-overlapping)
/// of the training crop: third-octave band envelopes of the linear spectra, each band
/// normalised over the segment, then each frame normalised over the bands, and the mean
/// correlation of the two. No silent-frame removal (training crops are chosen to hold speech).
///
/// Why: the magnitude losses are per bin; ESTOI scores the spectro-temporal shape of the band
/// envelopes (a gain per band and segment does not matter, a smeared onset does), and this is
/// the metric the model lags RNNoise on.
/// - `x0`, `x0_hat`: compressed planes `[B, 2, T, F]` (X̃ = β|X|^α e^{j∠X})
/// - `bands`: [`band_matrix`] `[F, J]`
pub fn estoi_loss(x0: Tensor<4>, x0_hat: Tensor<4>, alpha: f64, beta: f64, bands: &Tensor<2>) -> Tensor<1> {
    let [b, _, t, f] = x0.dims();
    let j = bands.dims()[1];
    let n = ESTOI_SEGMENT_FRAMES.min(t);
    let envelopes = |x: Tensor<4>| {
        // |X|² = (|X̃|²/β²)^(1/α)
        let power = ((x.square().sum_dim(1) + 1e-8) / (beta * beta)).powf_scalar(1.0 / alpha); // [B,1,T,F]
        (power.reshape([b * t, f]).matmul(bands.clone()) + 1e-10).sqrt().reshape([b, t, j]) // [B,T,J]
    };
    let segments = |env: Tensor<3>| {
        let starts: Vec<usize> = (0..=t - n).step_by((n / 2).max(1)).collect();
        let parts = starts.iter().map(|&s| env.clone().slice([0..b, s..s + n, 0..j])).collect(); // [B,N,J] each
        let seg = Tensor::cat(parts, 0); // [W*B,N,J]
        let norm = |x: Tensor<3>, dim: usize| {
            let c = x.clone() - x.mean_dim(dim);
            c.clone() / (c.square().sum_dim(dim).sqrt() + 1e-6)
        };
        norm(norm(seg, 1), 2) // [W*B,N,J]: bands over time, then frames over bands
    };
    let (clean, est) = (segments(envelopes(x0)), segments(envelopes(x0_hat)));
    (clean * est).sum_dim(2).mean().neg() + 1.0 // scalar
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t4(v: &[f32], shape: [usize; 4]) -> Tensor<4> {
        Tensor::from_data(TensorData::new(v.to_vec(), shape), &Device::flex())
    }
    fn scalar(t: Tensor<1>) -> f32 {
        t.into_scalar()
    }

    #[test]
    fn noise_loss_matches_hand_value() {
        // Two bins, two planes: errors (1, 2 | 3, 0), log-variances (0, ln 2).
        let e = t4(&[1.0, 2.0, 3.0, 0.0], [1, 2, 1, 2]);
        let z = t4(&[0.0; 4], [1, 2, 1, 2]);
        let lv = t4(&[0.0, 2f32.ln()], [1, 1, 1, 2]);
        // (1/1 + 4/2 + 9/1 + 0/2) / 4 = 3
        assert!((scalar(noise_loss(e, z, lv)) - 3.0).abs() < 1e-5);
    }

    #[test]
    fn latent_regulariser_matches_hand_value() {
        let x0 = t4(&[1.0, 2.0, 0.0, 2.0], [1, 2, 1, 2]);
        let lv = t4(&[0.0, 1.0], [1, 1, 1, 2]);
        let a = 0.5;
        let e = std::f32::consts::E;
        let expected = ((a * 1.0 + 0.0) + (a * 4.0 / e + 1.0) + (0.0 + 0.0) + (a * 4.0 / e + 1.0)) / 4.0;
        assert!((scalar(latent_regulariser(x0, lv, a as f64)) - expected).abs() < 1e-5);
    }

    #[test]
    fn clean_loss_weights_loud_bins() {
        // Clean powers 4 and 0 in the two bins (mean 2): weights 1 + k·2 and 1.
        let x0 = t4(&[2.0, 0.0, 0.0, 0.0], [1, 2, 1, 2]);
        let hat = t4(&[1.0, 1.0, 0.0, 0.0], [1, 2, 1, 2]);
        assert!((scalar(clean_loss(x0.clone(), hat.clone(), 0.0)) - 0.5).abs() < 1e-6);
        // errors 1 (weight 1 + 2k) and 1 (weight 1), over 4 elements: (2 + 2k) / 4.
        let k = 1.5;
        assert!((scalar(clean_loss(x0, hat, k)) - (2.0 + 2.0 * k as f32) / 4.0).abs() < 1e-5);
    }

    #[test]
    fn magnitude_loss_ignores_phase_and_counts_magnitude() {
        // Bin 1: |x0| = 5 (3, 4), estimate (−4, 3) has the same magnitude: no loss.
        // Bin 2: |x0| = 1, estimate 0: loss (0 − 1)² (up to the 1e-8 guard). Mean over 2 bins.
        let x0 = t4(&[3.0, 1.0, 4.0, 0.0], [1, 2, 1, 2]);
        let hat = t4(&[-4.0, 0.0, 3.0, 0.0], [1, 2, 1, 2]);
        assert!((scalar(magnitude_loss(x0, hat, 1.0)) - 0.5).abs() < 1e-3);
    }

    #[test]
    fn magnitude_loss_charges_removed_speech_more() {
        // Bin 1 too quiet by 1 (|x0| = 2, estimate 1), bin 2 too loud by 1 (|x0| = 0, estimate 1).
        let x0 = t4(&[2.0, 0.0, 0.0, 0.0], [1, 2, 1, 2]);
        let hat = t4(&[1.0, 1.0, 0.0, 0.0], [1, 2, 1, 2]);
        assert!((scalar(magnitude_loss(x0.clone(), hat.clone(), 1.0)) - 1.0).abs() < 1e-3);
        // Under-weight 3: (3·1 + 1·1) / 2.
        assert!((scalar(magnitude_loss(x0, hat, 3.0)) - 2.0).abs() < 1e-3);
    }

    #[test]
    fn estoi_loss_is_zero_for_the_clean_input_and_ignores_gain() {
        let device = Device::flex();
        let (t, f) = (60, 256);
        let bands = band_matrix(f, 512, 16_000, &device);
        // Every band gets bins: the 15 STOI bands at 31.25 Hz spacing.
        let per_band: Vec<f32> = bands.clone().sum_dim(0).into_data().try_to_vec::<f32>().unwrap();
        assert!(per_band.iter().all(|&c| c >= 1.0), "{per_band:?}");
        let mut s = 1u32;
        let mut u = || {
            s = s.wrapping_mul(1664525).wrapping_add(1013904223);
            (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let v: Vec<f32> = (0..2 * t * f).map(|_| u()).collect();
        let x0 = t4(&v, [1, 2, t, f]);
        assert!(scalar(estoi_loss(x0.clone(), x0.clone(), 0.5, 2.0, &bands)).abs() < 1e-4);
        // A gain on the whole signal leaves ESTOI at 1.
        assert!(scalar(estoi_loss(x0.clone(), x0.clone() * 0.5, 0.5, 2.0, &bands)).abs() < 1e-4);
        // An unrelated estimate scores far from it.
        let w: Vec<f32> = (0..2 * t * f).map(|_| u()).collect();
        let other = scalar(estoi_loss(x0, t4(&w, [1, 2, t, f]), 0.5, 2.0, &bands));
        assert!(other > 0.5, "{other}");
    }

    #[test]
    fn prior_matching_is_zero_for_equal_and_positive_otherwise() {
        let a = t4(&[-1.0, 0.5, 2.0], [1, 1, 1, 3]);
        assert!(scalar(prior_matching(a.clone(), a.clone())).abs() < 1e-6);
        let b = t4(&[0.0, 0.0, 0.0], [1, 1, 1, 3]);
        // log σp² − log σq² + σq²/σp² − 1 with σp² = 1: (−1 + e^{-1}... ) computed by hand:
        let expected = ((0.0 - -1.0f32) + (-1.0f32).exp() - 1.0 + (0.0 - 0.5) + 0.5f32.exp() - 1.0 + (0.0 - 2.0) + 2f32.exp() - 1.0) / 3.0;
        let got = scalar(prior_matching(b, a));
        assert!((got - expected).abs() < 1e-5 && got > 0.0, "{got} vs {expected}");
    }
}
