//! PESQ wide-band (ITU-T P.862.2 MOS-LQO) through the pure-Rust `pesq` crate (0.2.0).
//!
//! The crate takes 16-bit PCM at 16 kHz. [`pesq_wb`] converts `f32` samples the way the Python
//! `pesq` package (ludlows, the field's usual reference) prepares its input: both signals are
//! divided by their joint peak, then scaled to 16-bit full scale and rounded. PESQ normalises
//! levels internally, so only the 16-bit quantisation differs from the float path of the C code.
//! Other rates are resampled to 16 kHz first.
//!
//! Agreement with the reference (Python `pesq` 0.0.4, the ITU C code, mode 'wb') is checked in
//! `tests/metrics_golden.rs` on the committed fixtures (tolerance 0.05). Measured: max abs
//! difference 0.00014 MOS on the 4 fixture pairs (noisy and 50/50 clean+noisy, 1.33..1.73) and
//! 0.00088 MOS on the 20 VoiceBank-DEMAND p232 pairs of `tests/golden/vbdemand_p232.json`
//! (1.22..3.56); well inside the 0.05 tolerance, so the values can be reported as PESQ-WB.

use super::stoi::resample_oct;

/// Why PESQ could not score a pair.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PesqWbError {
    /// The `pesq` crate refused the pair (too short, or no utterance found).
    #[error("PESQ: {0}")]
    Pesq(#[from] pesq::PesqError),
    /// Both signals are empty or entirely silent.
    #[error("PESQ: signal is empty or silent")]
    Silent,
    /// The reference is silent (all zero at 16-bit after the joint peak scaling).
    #[error("PESQ: the reference is silent")]
    SilentReference,
    /// The degraded signal is silent: the `pesq` crate would score it 4.64, the reference
    /// Python package refuses it.
    #[error("PESQ: the degraded signal is silent")]
    SilentDegraded,
}

/// The only rate P.862.2 accepts.
pub const PESQ_WB_RATE: u32 = 16_000;

/// Wide-band PESQ (P.862.2 MOS-LQO, about 1.04..4.64) of `degraded` against `reference`.
///
/// `fs` is the rate of both signals; anything other than 16 kHz is resampled to 16 kHz first.
/// PESQ does its own level and delay alignment. Errors when a signal is shorter than 0.25 s,
/// when either signal is silent (as the reference Python `pesq` package does), or when it
/// contains no utterance.
pub fn pesq_wb(reference: &[f32], degraded: &[f32], fs: u32) -> Result<f64, PesqWbError> {
    let (r, d): (Vec<f64>, Vec<f64>) = if fs == PESQ_WB_RATE {
        (reference.iter().map(|&v| v as f64).collect(), degraded.iter().map(|&v| v as f64).collect())
    } else {
        let r: Vec<f64> = reference.iter().map(|&v| v as f64).collect();
        let d: Vec<f64> = degraded.iter().map(|&v| v as f64).collect();
        (resample_oct(&r, PESQ_WB_RATE, fs), resample_oct(&d, PESQ_WB_RATE, fs))
    };
    let peak = r.iter().chain(&d).fold(0.0f64, |m, v| m.max(v.abs()));
    if peak == 0.0 || !peak.is_finite() {
        return Err(PesqWbError::Silent);
    }
    let to_pcm = |x: &[f64]| -> Vec<i16> {
        x.iter().map(|v| (v / peak * 32767.0).round().clamp(-32768.0, 32767.0) as i16).collect()
    };
    let (r, d) = (to_pcm(&r), to_pcm(&d));
    // The joint peak is not zero, but one side alone may be: the ITU code then finds no utterance.
    if r.iter().all(|&v| v == 0) {
        return Err(PesqWbError::SilentReference);
    }
    if d.iter().all(|&v| v == 0) {
        return Err(PesqWbError::SilentDegraded);
    }
    let score = pesq::pesq_wb(&r, &d)?;
    Ok(score as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_silence_and_short_input() {
        let z = vec![0.0f32; 32000];
        assert_eq!(pesq_wb(&z, &z, 16000), Err(PesqWbError::Silent));
        let speech: Vec<f32> = (0..32000).map(|i| 0.5 * (i as f32 * 0.05).sin() * (i as f32 * 0.001).sin()).collect();
        assert_eq!(pesq_wb(&speech, &z, 16000), Err(PesqWbError::SilentDegraded));
        assert_eq!(pesq_wb(&z, &speech, 16000), Err(PesqWbError::SilentReference));
        let short: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.1).sin()).collect();
        assert!(matches!(pesq_wb(&short, &short, 16000), Err(PesqWbError::Pesq(_))));
    }
}
