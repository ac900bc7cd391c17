//! Quality against the number of sampling steps: enhance sets of (clean, noisy) pairs with one
//! model at each step count and average SI-SDR, ESTOI, STOI and PESQ-WB; read and write the CSV.
//!
//! Every utterance is enhanced offline in one call with the sampler reseeded per utterance
//! (the same path as the trainer's validation, [`crate::train::validate::enhance_offline`]),
//! so the output is aligned with the input sample for sample and scored without a delay
//! search; with the trainer's validation set, its seed and `--val-sampling-steps`, a row
//! reproduces the `log.csv` validation score of the weights.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use burn::prelude::Device;

use crate::metrics::{estoi, pesq_wb, si_sdr, stoi};
use crate::model::{Enhancer, ModelConfig, RestoreGrad};
use crate::train::data::ValItem;
use crate::train::validate::enhance_offline;
use crate::MODEL_RATE;

/// The CSV header written by [`StepsTable::to_csv`].
pub const STEPS_CSV_HEADER: &str = "set,system,steps,items,si_sdr,estoi,stoi,pesq_wb,pesq_items";

/// Mean scores of one system (the noisy input, or the model at one step count) on one set.
#[derive(Debug, Clone, PartialEq)]
pub struct StepsRow {
    /// The set's name (e.g. `mix`, `vb`, `files`).
    pub set: String,
    /// `noisy` (the unprocessed input) or `restoregrad`.
    pub system: String,
    /// Reverse diffusion steps (0 for the noisy input).
    pub steps: usize,
    /// Utterances averaged.
    pub items: usize,
    /// Mean SI-SDR, dB.
    pub si_sdr: f64,
    /// Mean ESTOI.
    pub estoi: f64,
    /// Mean STOI.
    pub stoi: f64,
    /// Mean PESQ-WB over the utterances PESQ accepted (`None` if it refused all).
    pub pesq_wb: Option<f64>,
    /// How many utterances PESQ scored.
    pub pesq_items: usize,
}

/// All rows of one model's measurement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepsTable {
    /// Rows in measurement order: per set, the baselines first (the noisy input and RNNoise,
    /// step count 0), then the model at each step count.
    pub rows: Vec<StepsRow>,
}

impl StepsTable {
    /// The row of the model at `steps` on `set`.
    pub fn model(&self, set: &str, steps: usize) -> Option<&StepsRow> {
        self.rows.iter().find(|r| r.set == set && r.steps > 0 && r.steps == steps)
    }

    /// The noisy-input row of `set`.
    pub fn noisy(&self, set: &str) -> Option<&StepsRow> {
        self.rows.iter().find(|r| r.set == set && r.system == "noisy")
    }

    /// The model rows of `set`, sorted by step count.
    pub fn model_rows(&self, set: &str) -> Vec<&StepsRow> {
        let mut v: Vec<&StepsRow> = self.rows.iter().filter(|r| r.set == set && r.steps > 0).collect();
        v.sort_by_key(|r| r.steps);
        v
    }

    /// The set names in first-seen order.
    pub fn sets(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.rows {
            if !out.contains(&r.set) {
                out.push(r.set.clone());
            }
        }
        out
    }

    /// The CSV text (header [`STEPS_CSV_HEADER`]; an empty `pesq_wb` cell when PESQ refused all).
    pub fn to_csv(&self) -> String {
        let mut s = format!("{STEPS_CSV_HEADER}\n");
        for r in &self.rows {
            let pesq = r.pesq_wb.map_or(String::new(), |p| format!("{p:.4}"));
            let _ = writeln!(
                s,
                "{},{},{},{},{:.4},{:.5},{:.5},{pesq},{}",
                r.set, r.system, r.steps, r.items, r.si_sdr, r.estoi, r.stoi, r.pesq_items
            );
        }
        s
    }

    /// Parses the CSV written by [`StepsTable::to_csv`] (columns found by name).
    pub fn parse(text: &str) -> Result<Self> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<&str> = lines.next().context("empty file")?.split(',').map(str::trim).collect();
        let col = |n: &str| header.iter().position(|h| *h == n).with_context(|| format!("no {n:?} column"));
        let c = [col("set")?, col("system")?, col("steps")?, col("items")?, col("si_sdr")?, col("estoi")?, col("stoi")?, col("pesq_wb")?, col("pesq_items")?];
        let mut rows = Vec::new();
        for (i, line) in lines.enumerate() {
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            let cell = |k: usize| f.get(c[k]).copied().unwrap_or("");
            let ctx = || format!("line {}: {line:?}", i + 2);
            let num = |k: usize| cell(k).parse::<f64>().with_context(ctx);
            let int = |k: usize| cell(k).parse::<usize>().with_context(ctx);
            rows.push(StepsRow {
                set: cell(0).to_string(),
                system: cell(1).to_string(),
                steps: int(2)?,
                items: int(3)?,
                si_sdr: num(4)?,
                estoi: num(5)?,
                stoi: num(6)?,
                pesq_wb: if cell(7).is_empty() { None } else { Some(num(7)?) },
                pesq_items: int(8)?,
            });
        }
        Ok(Self { rows })
    }

    /// Reads a CSV file written by [`StepsTable::write`].
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        Self::parse(&text).with_context(|| format!("{}: not a steps CSV", path.display()))
    }

    /// Writes the CSV atomically (a temporary file renamed into place).
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, self.to_csv().as_bytes())
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    let mut name = path.file_name().context("no file name")?.to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    std::fs::write(&tmp, bytes).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))
}

/// Per-utterance scores, summed into a row.
#[derive(Default)]
struct Acc {
    n: usize,
    si_sdr: f64,
    estoi: f64,
    stoi: f64,
    pesq: f64,
    pesq_n: usize,
}

impl Acc {
    fn add(&mut self, clean: &[f32], x: &[f32]) {
        self.n += 1;
        self.si_sdr += si_sdr(clean, x);
        self.estoi += estoi(clean, x, MODEL_RATE);
        self.stoi += stoi(clean, x, MODEL_RATE);
        if let Ok(p) = pesq_wb(clean, x, MODEL_RATE) {
            self.pesq += p;
            self.pesq_n += 1;
        }
    }

    fn row(&self, set: &str, system: &str, steps: usize) -> StepsRow {
        let n = self.n.max(1) as f64;
        StepsRow {
            set: set.to_string(),
            system: system.to_string(),
            steps,
            items: self.n,
            si_sdr: self.si_sdr / n,
            estoi: self.estoi / n,
            stoi: self.stoi / n,
            pesq_wb: (self.pesq_n > 0).then(|| self.pesq / self.pesq_n as f64),
            pesq_items: self.pesq_n,
        }
    }
}

/// Scores the noisy inputs of `items` (the reference row, `steps` = 0).
pub fn score_noisy(set: &str, items: &[ValItem]) -> StepsRow {
    let mut acc = Acc::default();
    for it in items {
        acc.add(&it.clean, &it.noisy);
    }
    acc.row(set, "noisy", 0)
}

/// Scores RNNoise (the `nnnoiseless` crate, delay compensated) on `items`: the bar the
/// shipped model has to clear, measured on the same sets as the model.
pub fn score_rnnoise(set: &str, items: &[ValItem]) -> Result<StepsRow> {
    let mut acc = Acc::default();
    for it in items {
        let (y, _) = crate::bench::rnnoise::rnnoise_enhance(&it.noisy, MODEL_RATE)?;
        acc.add(&it.clean, &y);
    }
    Ok(acc.row(set, "rnnoise", 0))
}

/// A model ready for [`score_model`]: an [`Enhancer`] with sampling seed `seed` (reseeded per
/// utterance, so every utterance's draws depend only on the seed).
pub fn enhancer(cfg: &ModelConfig, model: &RestoreGrad, device: &Device, seed: u64) -> Enhancer {
    Enhancer::new(cfg.clone(), model.clone(), device.clone(), seed)
}

/// Enhances `items` with `steps` sampling steps and scores the result. `progress` is called
/// after each utterance.
pub fn score_model(set: &str, enh: &mut Enhancer, items: &[ValItem], steps: usize, progress: &mut dyn FnMut()) -> Result<StepsRow> {
    if !(1..=6).contains(&steps) {
        bail!("--steps {steps}: the sampler supports 1 to 6 steps");
    }
    let mut acc = Acc::default();
    for it in items {
        let y = enhance_offline(enh, &it.noisy, steps);
        acc.add(&it.clean, &y);
        progress();
    }
    Ok(acc.row(set, "restoregrad", steps))
}

/// Parses a step list like `1,2,3,6`.
pub fn parse_steps(s: &str) -> Result<Vec<usize>> {
    let v: Vec<usize> = s
        .split(',')
        .filter(|t| !t.trim().is_empty())
        .map(|t| t.trim().parse::<usize>().with_context(|| format!("bad step count {t:?}")))
        .collect::<Result<_>>()?;
    if v.is_empty() || v.iter().any(|&k| !(1..=6).contains(&k)) {
        bail!("step counts must be 1 to 6, got {s:?}");
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trip_and_lookup() {
        let row = |system: &str, steps, pesq| StepsRow {
            set: "mix".into(),
            system: system.into(),
            steps,
            items: 16,
            si_sdr: 7.5 - steps as f64,
            estoi: 0.6,
            stoi: 0.8,
            pesq_wb: pesq,
            pesq_items: if pesq.is_some() { 16 } else { 0 },
        };
        let t = StepsTable { rows: vec![row("noisy", 0, Some(1.5)), row("rnnoise", 0, Some(1.6)), row("restoregrad", 3, None), row("restoregrad", 1, Some(1.7))] };
        let back = StepsTable::parse(&t.to_csv()).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.noisy("mix").unwrap().steps, 0);
        assert_eq!(back.model("mix", 3).unwrap().pesq_wb, None);
        assert_eq!(back.model_rows("mix").iter().map(|r| r.steps).collect::<Vec<_>>(), vec![1, 3]);
        assert!(back.model("vb", 1).is_none());
        assert_eq!(back.sets(), vec!["mix".to_string()]);
        assert!(StepsTable::parse("set,system\nmix,noisy\n").is_err());
    }

    #[test]
    fn step_lists() {
        assert_eq!(parse_steps("1, 2,3,6").unwrap(), vec![1, 2, 3, 6]);
        assert!(parse_steps("0,1").is_err());
        assert!(parse_steps("7").is_err());
        assert!(parse_steps("").is_err());
        assert!(parse_steps("a").is_err());
    }
}
