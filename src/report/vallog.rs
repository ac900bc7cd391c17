//! The validation rows of a training run's `log.csv` (see [`crate::train::trainer`]).
//!
//! The trainer writes one header, a `noisy` row (the scores of the unprocessed validation
//! inputs), training rows every 25 steps (empty validation columns) and a validation row
//! every `--val-every` steps (empty loss columns). Columns are found by name, so extra or
//! reordered columns are fine.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// Scores of one validation pass (or of the noisy inputs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValPoint {
    /// Optimiser step (0 for the noisy-input row).
    pub step: u64,
    /// Training wall time at this step, seconds (0 for the noisy-input row).
    pub elapsed_s: f64,
    /// Mean SI-SDR on the synthetic validation mixtures, dB.
    pub sisdr_mix: f64,
    /// Mean ESTOI on the synthetic validation mixtures.
    pub estoi_mix: f64,
    /// Mean SI-SDR on the VoiceBank-DEMAND pairs, dB (`None` if the column is empty).
    pub sisdr_vb: Option<f64>,
    /// Mean ESTOI on the VoiceBank-DEMAND pairs (`None` if the column is empty).
    pub estoi_vb: Option<f64>,
}

/// Which validation set and metric a curve shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// SI-SDR on the synthetic mixtures.
    SiSdrMix,
    /// ESTOI on the synthetic mixtures.
    EstoiMix,
    /// SI-SDR on VoiceBank-DEMAND.
    SiSdrVb,
    /// ESTOI on VoiceBank-DEMAND.
    EstoiVb,
}

impl ValPoint {
    /// The value of `m` at this point.
    pub fn get(&self, m: Metric) -> Option<f64> {
        match m {
            Metric::SiSdrMix => Some(self.sisdr_mix),
            Metric::EstoiMix => Some(self.estoi_mix),
            Metric::SiSdrVb => self.sisdr_vb,
            Metric::EstoiVb => self.estoi_vb,
        }
    }
}

/// A run's validation history.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValLog {
    /// The scores of the noisy inputs, if the log has that row.
    pub noisy: Option<ValPoint>,
    /// Validation points sorted by step; a step logged twice (a resumed run) keeps its last row.
    pub points: Vec<ValPoint>,
    /// The last optimiser step any row of the log reached (training rows included).
    pub last_step: u64,
}

impl ValLog {
    /// Reads and parses a `log.csv`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        Self::parse(&text).with_context(|| format!("{}: not a training log", path.display()))
    }

    /// Parses the text of a `log.csv`.
    pub fn parse(text: &str) -> Result<Self> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<&str> = lines.next().context("empty file")?.split(',').map(str::trim).collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let need = |name: &str| col(name).with_context(|| format!("no {name:?} column"));
        let (c_step, c_el) = (need("step")?, need("elapsed_s")?);
        let (c_sm, c_em) = (need("val_sisdr_mix")?, need("val_estoi_mix")?);
        let (c_sv, c_ev) = (col("val_sisdr_vb"), col("val_estoi_vb"));
        let mut log = ValLog::default();
        for (i, line) in lines.enumerate() {
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            let cell = |c: usize| f.get(c).copied().unwrap_or("");
            let num = |c: usize| -> Result<Option<f64>> {
                let s = cell(c);
                if s.is_empty() {
                    return Ok(None);
                }
                s.parse::<f64>().map(Some).with_context(|| format!("line {}: bad number {s:?}", i + 2))
            };
            let opt = |c: Option<usize>| c.map_or(Ok(None), num);
            let step = match cell(c_step) {
                "noisy" => None,
                s => Some(s.parse::<u64>().with_context(|| format!("line {}: bad step {s:?}", i + 2))?),
            };
            if let Some(s) = step {
                log.last_step = log.last_step.max(s);
            }
            let (Some(sm), Some(em)) = (num(c_sm)?, num(c_em)?) else { continue };
            let p = ValPoint {
                step: step.unwrap_or(0),
                elapsed_s: num(c_el)?.unwrap_or(0.0),
                sisdr_mix: sm,
                estoi_mix: em,
                sisdr_vb: opt(c_sv)?,
                estoi_vb: opt(c_ev)?,
            };
            match step {
                None => log.noisy = Some(p),
                Some(s) => {
                    log.points.retain(|q| q.step != s);
                    log.points.push(p);
                }
            }
        }
        log.points.sort_by_key(|p| p.step);
        Ok(log)
    }

    /// The (step, value) curve of `m`.
    pub fn curve(&self, m: Metric) -> Vec<(f64, f64)> {
        self.points.iter().filter_map(|p| Some((p.step as f64, p.get(m)?))).collect()
    }

    /// The last validation point.
    pub fn last(&self) -> Option<&ValPoint> {
        self.points.last()
    }

    /// The point with the highest value of `m` (the earliest on ties).
    pub fn best(&self, m: Metric) -> Option<&ValPoint> {
        self.points
            .iter()
            .filter(|p| p.get(m).is_some())
            .fold(None, |b: Option<&ValPoint>, p| match b {
                Some(b) if b.get(m) >= p.get(m) => Some(b),
                _ => Some(p),
            })
    }

    /// The first step whose value of `m` is at least `level`.
    pub fn first_reaching(&self, m: Metric, level: f64) -> Option<u64> {
        self.points.iter().find(|p| p.get(m).is_some_and(|v| v >= level)).map(|p| p.step)
    }
}

/// Checks that a log is usable for the ablation plots.
pub fn require_points(name: &str, log: &ValLog) -> Result<()> {
    if log.points.is_empty() {
        bail!("{name}: the log has no validation rows yet");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "step,elapsed_s,steps_per_s,lr,loss,l_dm,l_lr,l_pm,l_clean,val_sisdr_mix,val_estoi_mix,val_sisdr_vb,val_estoi_vb
noisy,0,,,,,,,,7.518,0.6371,10.038,0.8215
25,13.7,1.821,0.000125,11.47218,0.16734,0.00000,0.00000,0.11305,,,,
100,53.3,1.868,0.000500,1.09817,0.02646,0.00000,0.00000,0.01072,,,,
100,53.3,,,,,,,,-10.053,0.2275,-8.629,0.3151
200,110.0,,,,,,,,2.5,0.5,3.0,0.6
200,111.0,,,,,,,,3.5,0.55,4.0,0.65
225,120.0,1.8,0.0001,0.3,0.01,0,0,0.001,,,,
";

    #[test]
    fn parses_noisy_validation_and_resumed_rows() {
        let log = ValLog::parse(LOG).unwrap();
        let n = log.noisy.unwrap();
        assert_eq!((n.sisdr_mix, n.estoi_vb), (7.518, Some(0.8215)));
        assert_eq!(log.points.len(), 2, "{log:?}");
        assert_eq!(log.points[1].sisdr_mix, 3.5, "a repeated step keeps its last row");
        assert_eq!(log.last_step, 225);
        assert_eq!(log.curve(Metric::EstoiVb), vec![(100.0, 0.3151), (200.0, 0.65)]);
        assert_eq!(log.best(Metric::SiSdrMix).unwrap().step, 200);
        assert_eq!(log.first_reaching(Metric::SiSdrMix, 0.0), Some(200));
        assert_eq!(log.first_reaching(Metric::SiSdrMix, -20.0), Some(100));
        assert_eq!(log.first_reaching(Metric::SiSdrMix, 7.0), None);
    }

    #[test]
    fn rejects_logs_without_validation_columns_or_with_bad_numbers() {
        assert!(ValLog::parse("step,elapsed_s\n1,2\n").is_err());
        let bad = "step,elapsed_s,val_sisdr_mix,val_estoi_mix\n100,1.0,x,0.5\n";
        assert!(format!("{:#}", ValLog::parse(bad).unwrap_err()).contains("bad number"));
        let no_vb = ValLog::parse("step,elapsed_s,val_sisdr_mix,val_estoi_mix\n100,1.0,2.0,0.5\n").unwrap();
        assert_eq!(no_vb.points[0].sisdr_vb, None);
        assert!(require_points("x", &ValLog::default()).is_err());
    }
}
