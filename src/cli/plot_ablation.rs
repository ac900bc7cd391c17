//! `restoregrad plot-ablation`: plots and tables of an ablation from its runs' `log.csv` files
//! and their `restoregrad eval` CSVs.
//!
//! Reads, for each name (default `standard,energy,learned`), `OUT/NAME_log.csv` (copied there
//! first from `RUNS/NAME/log.csv` when `--runs` is given, with `train.json` and `config.json`
//! as `NAME_train.json` and `NAME_config.json`), and when present `OUT/NAME_steps.csv` (best
//! weights) and `OUT/NAME_steps_last.csv` (last weights). Writes `val_sisdr.png`, `val_estoi.png`,
//! `steps_quality.png` (when a steps CSV exists) and `summary.md` into OUT.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::Globals;
use crate::report::plot::{draw_grid, steps_panels, val_panels, StepsMetric};
use crate::report::steps::StepsTable;
use crate::report::summary::{markdown, Level, LevelSpec};
use crate::report::vallog::{Metric, ValLog};
use crate::report::RunReport;

/// Set names of `restoregrad eval` and their titles.
const SET_TITLES: [(&str, &str); 3] = [("mix", "synthetic mixtures"), ("vb", "VoiceBank-DEMAND pairs"), ("files", "files")];

/// Arguments of `restoregrad plot-ablation`.
#[derive(clap::Args, Debug)]
pub struct PlotAblationArgs {
    /// Folder holding one run folder per name (`RUNS/NAME/log.csv`); their logs are copied
    /// into `--out` first. Without it the logs already in `--out` are used.
    #[arg(long)]
    pub runs: Option<PathBuf>,
    /// Folder for the CSVs, PNGs and summary.md.
    #[arg(long)]
    pub out: PathBuf,
    /// The runs, in legend order.
    #[arg(long, default_value = "standard,energy,learned", value_delimiter = ',')]
    pub names: Vec<String>,
    /// Validation SI-SDR levels (mixtures) for the "first step reaching" table: numbers in dB,
    /// or relative to the noisy input (`noisy`, `noisy-3`).
    #[arg(long, default_value = "0,noisy-3,noisy-2,noisy-1")]
    pub sisdr_levels: String,
    /// Validation ESTOI levels (mixtures), likewise (`0.55`, `noisy-0.02`).
    #[arg(long, default_value = "noisy-0.06,noisy-0.04,noisy-0.02,noisy")]
    pub estoi_levels: String,
}

/// Runs `restoregrad plot-ablation`.
pub fn run(a: PlotAblationArgs, g: Globals) -> Result<()> {
    std::fs::create_dir_all(&a.out).with_context(|| format!("{}: cannot create", a.out.display()))?;
    let mut runs = Vec::new();
    let mut val_steps = None;
    for name in &a.names {
        let dst = a.out.join(format!("{name}_log.csv"));
        if let Some(dir) = &a.runs {
            let src = dir.join(name).join("log.csv");
            if !src.is_file() {
                crate::diag!("warning: {}: no log, skipping {name}", src.display());
                continue;
            }
            std::fs::copy(&src, &dst).with_context(|| format!("cannot copy {} to {}", src.display(), dst.display()))?;
            for file in ["train.json", "config.json"] {
                let src = dir.join(name).join(file);
                if src.is_file() {
                    std::fs::copy(&src, a.out.join(format!("{name}_{file}")))?;
                }
            }
        } else if !dst.is_file() {
            crate::diag!("warning: {}: no log, skipping {name}", dst.display());
            continue;
        }
        let log = ValLog::read(&dst)?;
        if log.points.is_empty() {
            crate::diag!("warning: {}: no validation rows yet, skipping {name}", dst.display());
            continue;
        }
        if val_steps.is_none() {
            val_steps = std::fs::read_to_string(a.out.join(format!("{name}_train.json")))
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v.get("val_sampling_steps")?.as_u64())
                .map(|v| v as usize);
        }
        let read = |suffix: &str| -> Result<Option<StepsTable>> {
            let p = a.out.join(format!("{name}_{suffix}.csv"));
            p.is_file().then(|| StepsTable::read(&p)).transpose()
        };
        runs.push(RunReport { name: name.clone(), log, steps: read("steps")?, steps_last: read("steps_last")? });
    }
    if runs.is_empty() {
        bail!("no run logs with validation rows found for {}", a.names.join(", "));
    }

    let mut written = Vec::new();
    let mut labels = true;
    for (file, mix, vb, ydesc, what) in [
        ("val_sisdr.png", Metric::SiSdrMix, Metric::SiSdrVb, "SI-SDR dB", "SI-SDR"),
        ("val_estoi.png", Metric::EstoiMix, Metric::EstoiVb, "ESTOI", "ESTOI"),
    ] {
        let path = a.out.join(file);
        let panels = val_panels(&runs, mix, vb, ydesc, what, val_steps, true);
        labels &= draw_grid(&path, &panels, 2, (760, 480))?;
        written.push(path);
    }
    let panels = steps_panels(&runs, &[StepsMetric::SiSdr, StepsMetric::Estoi, StepsMetric::Pesq], &SET_TITLES);
    if !panels.is_empty() {
        let path = a.out.join("steps_quality.png");
        labels &= draw_grid(&path, &panels, 3, (600, 440))?;
        written.push(path);
    }

    let mut levels: Vec<Level> = Vec::new();
    for (specs, metric) in [(&a.sisdr_levels, Metric::SiSdrMix), (&a.estoi_levels, Metric::EstoiMix)] {
        for (spec, text) in LevelSpec::parse_list(specs)?.into_iter().zip(specs.split(',').filter(|t| !t.trim().is_empty())) {
            levels.push(spec.resolve(text, metric, &runs)?);
        }
    }
    let md = a.out.join("summary.md");
    crate::report::steps::write_atomic(&md, markdown(&runs, &levels, &SET_TITLES).as_bytes())?;
    written.push(md);
    if !g.quiet {
        for p in &written {
            println!("wrote {}", p.display());
        }
        if !labels {
            crate::diag!("note: no TrueType font found (set RESTOREGRAD_FONT): the plots have no text");
        }
    }
    Ok(())
}
