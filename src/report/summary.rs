//! Markdown tables of an ablation, generated from the same data as the plots: final and best
//! validation scores per run, the first step at which each run reaches given levels, and
//! quality against sampling steps.

use std::fmt::Write as _;

use anyhow::{bail, Context, Result};

use super::vallog::Metric;
use super::RunReport;

/// A validation level to reach: `value` of `metric` (resolved from a [`LevelSpec`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// Which curve.
    pub metric: Metric,
    /// The level.
    pub value: f64,
    /// How it was given (e.g. `noisy-3`), for the table header.
    pub spec: String,
}

/// A level as written on the command line: a number (`5`, `0.55`), or relative to the noisy
/// input's validation score (`noisy`, `noisy-3`, `noisy+0.02`).
#[derive(Debug, Clone, PartialEq)]
pub enum LevelSpec {
    /// An absolute value.
    Abs(f64),
    /// The noisy input's score plus this offset.
    Noisy(f64),
}

impl LevelSpec {
    /// Parses one level.
    pub fn parse(s: &str) -> Result<Self> {
        let t = s.trim();
        if let Some(rest) = t.strip_prefix("noisy") {
            let off = if rest.is_empty() { 0.0 } else { rest.parse::<f64>().with_context(|| format!("bad level {s:?}"))? };
            return Ok(LevelSpec::Noisy(off));
        }
        Ok(LevelSpec::Abs(t.parse::<f64>().with_context(|| format!("bad level {s:?} (a number, or noisy[+-X])"))?))
    }

    /// Parses a comma-separated list.
    pub fn parse_list(s: &str) -> Result<Vec<Self>> {
        s.split(',').filter(|t| !t.trim().is_empty()).map(Self::parse).collect()
    }

    /// The level's value for `metric`, given the runs' noisy-input row.
    pub fn resolve(&self, spec: &str, metric: Metric, runs: &[RunReport]) -> Result<Level> {
        let value = match *self {
            LevelSpec::Abs(v) => v,
            LevelSpec::Noisy(off) => {
                let Some(n) = runs.iter().find_map(|r| r.log.noisy.and_then(|p| p.get(metric))) else {
                    bail!("level {spec:?}: no log has a noisy-input row");
                };
                n + off
            }
        };
        Ok(Level { metric, value, spec: spec.trim().to_string() })
    }
}

fn metric_name(m: Metric) -> &'static str {
    match m {
        Metric::SiSdrMix => "SI-SDR mix",
        Metric::EstoiMix => "ESTOI mix",
        Metric::SiSdrVb => "SI-SDR VB",
        Metric::EstoiVb => "ESTOI VB",
    }
}

fn fmt_metric(m: Metric, v: Option<f64>) -> String {
    match (m, v) {
        (_, None) => "–".into(),
        (Metric::SiSdrMix | Metric::SiSdrVb, Some(v)) => format!("{v:.2}"),
        (_, Some(v)) => format!("{v:.3}"),
    }
}

/// The final/best table: per run, the last validation point's scores, the best of each
/// metric with its step, and the training wall time.
pub fn final_best_table(runs: &[RunReport]) -> String {
    let ms = [Metric::SiSdrMix, Metric::EstoiMix, Metric::SiSdrVb, Metric::EstoiVb];
    let mut s = String::from("| run | last step | ");
    for m in ms {
        let _ = write!(s, "final {} | ", metric_name(m));
    }
    for m in ms {
        let _ = write!(s, "best {} (step) | ", metric_name(m));
    }
    s += "wall time at last step |\n|---|--:|";
    s += &"--:|".repeat(2 * ms.len() + 1);
    s += "\n";
    if let Some(n) = runs.iter().find_map(|r| r.log.noisy) {
        let _ = write!(s, "| noisy input | | ");
        for m in ms {
            let _ = write!(s, "{} | ", fmt_metric(m, n.get(m)));
        }
        s += &"| ".repeat(ms.len());
        s += "|\n";
    }
    for r in runs {
        let Some(last) = r.log.last() else {
            let _ = writeln!(s, "| {} | (no validation yet) |", r.name);
            continue;
        };
        let _ = write!(s, "| {} | {} | ", r.name, last.step);
        for m in ms {
            let _ = write!(s, "{} | ", fmt_metric(m, last.get(m)));
        }
        for m in ms {
            match r.log.best(m) {
                Some(b) => {
                    let _ = write!(s, "{} ({}) | ", fmt_metric(m, b.get(m)), b.step);
                }
                None => s += "– | ",
            }
        }
        let _ = writeln!(s, "{:.0} s |", last.elapsed_s);
    }
    s
}

/// The first validation step at which each run reaches each level (`–`: never, within the log).
pub fn first_reaching_table(runs: &[RunReport], levels: &[Level]) -> String {
    let mut s = String::from("| run |");
    for l in levels {
        let v = fmt_metric(l.metric, Some(l.value));
        let spec = if l.spec.parse::<f64>().is_ok() { String::new() } else { format!(" ({})", l.spec) };
        let _ = write!(s, " {} ≥ {v}{spec} |", metric_name(l.metric));
    }
    s += "\n|---|";
    s += &"--:|".repeat(levels.len());
    s += "\n";
    for r in runs {
        let _ = write!(s, "| {} |", r.name);
        for l in levels {
            match r.log.first_reaching(l.metric, l.value) {
                Some(step) => {
                    let _ = write!(s, " {step} |");
                }
                None => s += " – |",
            }
        }
        s += "\n";
    }
    s
}

/// Quality against sampling steps: one table per set, a row per run and step count (and the
/// noisy input), from the runs' `steps` tables (and `steps_last`, marked `last`).
pub fn steps_table(runs: &[RunReport], set_titles: &[(&str, &str)]) -> String {
    let sets = super::measured_sets(runs);
    let mut s = String::new();
    for set in &sets {
        let title = super::set_title(set, set_titles);
        let items = runs.iter().filter_map(|r| r.steps.as_ref()?.noisy(set)).map(|n| n.items).next();
        let _ = writeln!(s, "\n{title}{}\n", items.map_or(String::new(), |n| format!(" ({n} utterances)")));
        s += "| run | weights | steps | SI-SDR dB | ESTOI | STOI | PESQ-WB |\n|---|---|--:|--:|--:|--:|--:|\n";
        if let Some(n) = runs.iter().filter_map(|r| r.steps.as_ref()?.noisy(set)).next() {
            let _ = writeln!(s, "| noisy input | | | {:.2} | {:.3} | {:.3} | {} |", n.si_sdr, n.estoi, n.stoi, n.pesq_wb.map_or("–".into(), |p| format!("{p:.2}")));
        }
        for r in runs {
            for (t, which) in [(&r.steps, "best"), (&r.steps_last, "last")] {
                let Some(t) = t else { continue };
                for row in t.model_rows(set) {
                    let _ = writeln!(
                        s,
                        "| {} | {which} | {} | {:.2} | {:.3} | {:.3} | {} |",
                        r.name,
                        row.steps,
                        row.si_sdr,
                        row.estoi,
                        row.stoi,
                        row.pesq_wb.map_or("–".into(), |p| format!("{p:.2}"))
                    );
                }
            }
        }
    }
    s
}

/// Every validation point side by side: a row per step, a column per run and metric.
pub fn curves_table(runs: &[RunReport], metrics: &[Metric]) -> String {
    let mut steps: Vec<u64> = runs.iter().flat_map(|r| r.log.points.iter().map(|p| p.step)).collect();
    steps.sort_unstable();
    steps.dedup();
    let mut s = String::from("| step |");
    for &m in metrics {
        for r in runs {
            let _ = write!(s, " {} {} |", r.name, metric_name(m));
        }
    }
    s += "\n|--:|";
    s += &"--:|".repeat(metrics.len() * runs.len());
    s += "\n";
    for step in steps {
        let _ = write!(s, "| {step} |");
        for &m in metrics {
            for r in runs {
                let v = r.log.points.iter().find(|p| p.step == step).and_then(|p| p.get(m));
                let _ = write!(s, " {} |", fmt_metric(m, v));
            }
        }
        s += "\n";
    }
    s
}

/// The whole summary document (no prose: the tables only, regenerated with the plots).
pub fn markdown(runs: &[RunReport], levels: &[Level], set_titles: &[(&str, &str)]) -> String {
    let mut s = String::from("# Prior ablation: generated tables\n\nWritten by `restoregrad plot-ablation` from the CSVs in this folder.\n\n");
    s += "## Validation (from each run's log.csv)\n\n";
    s += &final_best_table(runs);
    s += "\n### Every validation point, synthetic mixtures\n\n";
    s += &curves_table(runs, &[Metric::SiSdrMix, Metric::EstoiMix]);
    if runs.iter().any(|r| r.log.points.iter().any(|p| p.sisdr_vb.is_some())) {
        s += "\n### Every validation point, VoiceBank-DEMAND\n\n";
        s += &curves_table(runs, &[Metric::SiSdrVb, Metric::EstoiVb]);
    }
    if !levels.is_empty() {
        s += "\n### First validation step reaching a level\n\n";
        s += &first_reaching_table(runs, levels);
    }
    if runs.iter().any(|r| r.steps.is_some()) {
        s += "\n## Quality against sampling steps\n";
        s += &steps_table(runs, set_titles);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::vallog::ValLog;

    fn run(name: &str, log: &str) -> RunReport {
        RunReport { name: name.into(), log: ValLog::parse(log).unwrap(), steps: None, steps_last: None }
    }

    const A: &str = "step,elapsed_s,val_sisdr_mix,val_estoi_mix\nnoisy,0,7.5,0.6\n100,10,1.0,0.40\n200,20,6.0,0.58\n300,30,5.0,0.61\n";
    const B: &str = "step,elapsed_s,val_sisdr_mix,val_estoi_mix\nnoisy,0,7.5,0.6\n100,12,-3.0,0.30\n200,24,2.0,0.50\n300,36,4.0,0.55\n";

    #[test]
    fn levels_and_tables() {
        let runs = vec![run("learned", A), run("standard", B)];
        assert_eq!(LevelSpec::parse_list("0, noisy-3,noisy").unwrap(), vec![LevelSpec::Abs(0.0), LevelSpec::Noisy(-3.0), LevelSpec::Noisy(0.0)]);
        assert!(LevelSpec::parse("noisyx").is_err());
        let l = LevelSpec::Noisy(-3.0).resolve("noisy-3", Metric::SiSdrMix, &runs).unwrap();
        assert!((l.value - 4.5).abs() < 1e-12);
        let e = LevelSpec::Abs(0.6).resolve("0.6", Metric::EstoiMix, &runs).unwrap();
        let t = first_reaching_table(&runs, &[l, e]);
        let rows: Vec<&str> = t.lines().collect();
        assert!(rows[0].contains("SI-SDR mix ≥ 4.50 (noisy-3)") && rows[0].contains("ESTOI mix ≥ 0.600 |"), "{t}");
        assert_eq!(rows[2], "| learned | 200 | 300 |", "{t}");
        assert_eq!(rows[3], "| standard | – | – |", "{t}");
        let f = final_best_table(&runs);
        assert!(f.contains("| learned | 300 | 5.00 | 0.610 | – | – | 6.00 (200) | 0.610 (300) |"), "{f}");
        assert!(f.contains("| noisy input | | 7.50 | 0.600 |"), "{f}");
        let c = curves_table(&runs, &[Metric::SiSdrMix]);
        assert_eq!(c.lines().next().unwrap(), "| step | learned SI-SDR mix | standard SI-SDR mix |", "{c}");
        assert!(c.contains("| 200 | 6.00 | 2.00 |"), "{c}");
        let md = markdown(&runs, &[], &[]);
        assert!(md.contains("| standard | 300 | 4.00 | 0.550 |") && !md.contains("sampling steps"), "{md}");
    }
}
