//! Speech-quality metrics: PESQ wide-band, STOI, ESTOI, SI-SDR, SNR and segmental SNR.
//!
//! Each metric lives in its own file and takes `f32` slices at a stated rate; sums run in `f64`.
//! [`score_pair`] aligns a constant delay first ([`align_delay`], ±100 ms) and computes all of
//! them at once. Agreement with the field's references (`pesq` and `pystoi` Python packages, plus
//! numpy SI-SDR/SNR/segSNR in `scripts/reference_metrics.py`) is tested in
//! `tests/metrics_golden.rs` against numbers committed in `tests/golden/`.

pub mod align;
#[cfg(feature = "cli")]
pub mod pesq;
pub mod sisdr;
pub mod stoi;

pub use align::align_delay;
#[cfg(feature = "cli")]
pub use pesq::{pesq_wb, PesqWbError, PESQ_WB_RATE};
pub use sisdr::{seg_snr, si_sdr, snr};
pub use stoi::{estoi, resample_oct, stoi};

use serde::{Deserialize, Serialize};

/// The largest delay [`score_pair`] searches for, in milliseconds.
pub const MAX_DELAY_MS: u32 = 100;

/// All metrics of one enhanced (or noisy) file against its clean reference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Wide-band PESQ (P.862.2 MOS-LQO); `None` when PESQ refused the pair (too short, no speech).
    pub pesq: Option<f64>,
    /// STOI, about 0..1.
    pub stoi: f64,
    /// Extended STOI, about 0..1.
    pub estoi: f64,
    /// Scale-invariant SDR, dB.
    pub si_sdr: f64,
    /// SNR, dB.
    pub snr: f64,
    /// Segmental SNR (Loizou, clamped to [-10, 35] dB per frame), dB.
    pub seg_snr: f64,
    /// The constant delay removed before scoring, in samples at the scoring rate; positive means
    /// the enhanced signal was late.
    pub delay_samples: isize,
}

impl Scores {
    /// Field-wise `self - other` (the improvement of an enhanced file over the noisy input);
    /// PESQ is `None` unless both have it. The delay is `self`'s.
    pub fn minus(&self, other: &Scores) -> Scores {
        Scores {
            pesq: self.pesq.zip(other.pesq).map(|(a, b)| a - b),
            stoi: self.stoi - other.stoi,
            estoi: self.estoi - other.estoi,
            si_sdr: self.si_sdr - other.si_sdr,
            snr: self.snr - other.snr,
            seg_snr: self.seg_snr - other.seg_snr,
            delay_samples: self.delay_samples,
        }
    }

    /// Field-wise mean; PESQ averages over the entries that have it (`None` if none do), the
    /// delay is rounded. `None` for an empty slice.
    pub fn mean(all: &[Scores]) -> Option<Scores> {
        if all.is_empty() {
            return None;
        }
        let n = all.len() as f64;
        let avg = |f: fn(&Scores) -> f64| all.iter().map(f).sum::<f64>() / n;
        let pesqs: Vec<f64> = all.iter().filter_map(|s| s.pesq).collect();
        Some(Scores {
            pesq: (!pesqs.is_empty()).then(|| pesqs.iter().sum::<f64>() / pesqs.len() as f64),
            stoi: avg(|s| s.stoi),
            estoi: avg(|s| s.estoi),
            si_sdr: avg(|s| s.si_sdr),
            snr: avg(|s| s.snr),
            seg_snr: avg(|s| s.seg_snr),
            delay_samples: avg(|s| s.delay_samples as f64).round() as isize,
        })
    }
}

/// Removes a constant delay: returns the overlapping, equally long parts of `reference` and
/// `estimate` for a delay found by [`align_delay`] (positive = estimate late).
pub fn apply_delay<'a>(reference: &'a [f32], estimate: &'a [f32], delay: isize) -> (&'a [f32], &'a [f32]) {
    let (r, e) = if delay >= 0 {
        (reference, &estimate[(delay as usize).min(estimate.len())..])
    } else {
        (&reference[((-delay) as usize).min(reference.len())..], estimate)
    };
    let n = r.len().min(e.len());
    (&r[..n], &e[..n])
}

/// Scores `enhanced` against `clean` (both mono at `fs`): aligns a constant delay within
/// ±[`MAX_DELAY_MS`], trims both to the overlap, then computes every metric in [`Scores`].
/// PESQ needs 16 kHz and resamples internally when `fs` differs.
#[cfg(feature = "cli")]
pub fn score_pair(clean: &[f32], enhanced: &[f32], fs: u32) -> Scores {
    let max_lag = (fs as usize * MAX_DELAY_MS as usize) / 1000;
    let delay = align_delay(clean, enhanced, max_lag);
    let (c, e) = apply_delay(clean, enhanced, delay);
    Scores {
        pesq: pesq_wb(c, e, fs).ok(),
        stoi: stoi(c, e, fs),
        estoi: estoi(c, e, fs),
        si_sdr: si_sdr(c, e),
        snr: snr(c, e),
        seg_snr: seg_snr(c, e, fs),
        delay_samples: delay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_delay_trims_both_ways() {
        let r = [1.0f32, 2.0, 3.0, 4.0];
        let e = [0.0f32, 1.0, 2.0, 3.0, 4.0];
        assert_eq!(apply_delay(&r, &e, 1), (&r[..], &e[1..]));
        assert_eq!(apply_delay(&e, &r, -1), (&e[1..], &r[..]));
        let m = Scores::mean(&[
            Scores { pesq: Some(2.0), stoi: 0.5, estoi: 0.4, si_sdr: 1.0, snr: 2.0, seg_snr: 3.0, delay_samples: 2 },
            Scores { pesq: None, stoi: 0.7, estoi: 0.6, si_sdr: 3.0, snr: 4.0, seg_snr: 5.0, delay_samples: 0 },
        ])
        .unwrap();
        assert_eq!(m.pesq, Some(2.0));
        assert!((m.stoi - 0.6).abs() < 1e-12 && m.delay_samples == 1);
    }
}
