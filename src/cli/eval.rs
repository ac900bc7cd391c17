//! `restoregrad eval`: quality of one model against the number of sampling steps, as a CSV.
//!
//! The pairs are either the trainer's seeded validation sets (`--data`: the synthetic mixtures
//! of held-out speakers and noises, and the VoiceBank-DEMAND pairs, exactly as `train` builds
//! them) or two folders of files matched by stem (`--clean`, `--noisy`). Each set gets a row
//! for the noisy input, one for RNNoise and one per step count: SI-SDR, ESTOI, STOI and PESQ-WB
//! means.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::Globals;
use crate::model::{load_model_or_default, parse_device};
use crate::report::steps::{enhancer, parse_steps, score_model, score_noisy, score_rnnoise, StepsTable};
use crate::train::data::{load_mono_16k, ValItem, Validation, ValidationSets};

/// Arguments of `restoregrad eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Model folder (`config.json` + `weights.bpk`, e.g. from `restoregrad export`); default:
    /// the shipped model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The shared data folder: evaluate on the trainer's seeded validation sets.
    #[arg(long, conflicts_with_all = ["clean", "noisy"], required_unless_present = "clean")]
    pub data: Option<PathBuf>,
    /// Which validation sets with `--data`: `mix` (synthetic mixtures), `vb` (VoiceBank-DEMAND).
    #[arg(long, default_value = "mix,vb", value_delimiter = ',')]
    pub sets: Vec<String>,
    /// Validation mixtures per SNR (0/5/10/15 dB), as `train --val-per-snr` (the same value
    /// gives the same mixtures).
    #[arg(long, default_value_t = 6)]
    pub val_per_snr: usize,
    /// What the `--data` sets are drawn from: `holdout` (train material held out of training,
    /// as `train` validates on) or `test` (the evaluation material; what runs before the
    /// held-out split validated on).
    #[arg(long, value_enum, default_value_t = Validation::Holdout)]
    pub validation: Validation,
    /// Score the mixtures per SNR as well (sets `mix@0dB` .. `mix@15dB` after `mix`).
    #[arg(long)]
    pub by_snr: bool,
    /// As `train --train-pairs`: the first N real train pairs are left out of the `vb` set.
    #[arg(long, default_value_t = 0)]
    pub train_pairs: usize,
    /// As `train --without-extra`: the held-out mixtures of the corpus without
    /// speech/train-extra and noise/train-extra (what runs 1-7 validated on).
    #[arg(long)]
    pub without_extra: bool,
    /// Folder of clean references, matched to `--noisy` by file stem.
    #[arg(long, requires = "noisy")]
    pub clean: Option<PathBuf>,
    /// Folder of noisy inputs.
    #[arg(long, requires = "clean")]
    pub noisy: Option<PathBuf>,
    /// Comma-separated reverse diffusion step counts (1-6).
    #[arg(long, default_value = "1,2,3,6")]
    pub steps: String,
    /// Sampler seed (reseeded per utterance; 0 is what validation uses).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sampler averaging.
    #[command(flatten)]
    pub samples: crate::cli::SamplesArg,
    /// Override the model's re-noising between reverse steps (`fresh` or `reuse`), to compare
    /// samplers on validation before exporting the winner.
    #[arg(long, value_enum)]
    pub renoise: Option<crate::model::Renoise>,
    /// Write the rows as CSV to this file (atomically).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Compute device: cpu, cuda[:N] or vulkan (GPU backends need their cargo feature; tch also works but is slower than cpu here).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Runs `restoregrad eval`.
pub fn run(a: EvalArgs, g: Globals) -> Result<()> {
    let steps = parse_steps(&a.steps)?;
    let device = parse_device(&a.device).map_err(anyhow::Error::msg)?;
    let (mut cfg, model) = load_model_or_default(a.model.as_deref(), &device)?;
    if let Some(r) = a.renoise {
        cfg.renoise = r;
    }
    let sets = load_sets(&a)?;

    let total: usize = sets.iter().map(|(_, v)| v.len()).sum::<usize>() * steps.len();
    let pb = if g.quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(total as u64) };
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} eval [{bar:30}] {pos}/{len} {wide_msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let mut table = StepsTable::default();
    for (name, items) in &sets {
        pb.set_message(format!("{name}: noisy input"));
        table.rows.push(score_noisy(name, items));
        pb.set_message(format!("{name}: RNNoise"));
        table.rows.push(score_rnnoise(name, items)?);
        for &s in &steps {
            pb.set_message(format!("{name}: {s} step(s)"));
            let mut enh = enhancer(&cfg, &model, &device, a.seed).with_samples(a.samples.samples);
            table.rows.push(score_model(name, &mut enh, items, s, &mut || pb.inc(1))?);
        }
    }
    pb.finish_and_clear();

    if !g.quiet {
        println!("model {}", a.model.as_deref().map_or("the shipped model (compiled in)".to_string(), |p| p.display().to_string()));
    }
    println!("{:<6} {:<12} {:>5} {:>5} {:>8} {:>6} {:>6} {:>7}", "set", "system", "steps", "items", "SI-SDR", "ESTOI", "STOI", "PESQ");
    for r in &table.rows {
        let pesq = r.pesq_wb.map_or("-".to_string(), |p| format!("{p:.3}"));
        println!(
            "{:<6} {:<12} {:>5} {:>5} {:>8.2} {:>6.3} {:>6.3} {pesq:>7}",
            r.set, r.system, r.steps, r.items, r.si_sdr, r.estoi, r.stoi
        );
    }
    if let Some(out) = &a.out {
        table.write(out)?;
        if !g.quiet {
            crate::diag!("wrote {}", out.display());
        }
    }
    Ok(())
}

/// The shipped model's training options (its last run's `train.json`).
const SHIPPED_TRAIN_OPTIONS: &str = include_str!("../../models/default/train.json");

/// How many of the real train pairs (the first, sorted) the model trained on, from the
/// `train.json` that `export` writes beside it; `None` when the folder has none.
fn pairs_trained_on(model: Option<&Path>) -> Option<usize> {
    let text = match model {
        Some(dir) => std::fs::read_to_string(dir.join("train.json")).ok()?,
        None => SHIPPED_TRAIN_OPTIONS.to_string(),
    };
    let opts: serde_json::Value = serde_json::from_str(&text).ok()?;
    // Runs that validated on the test material trained on every train pair.
    if opts.get("validation").and_then(|v| v.as_str()).unwrap_or("test") == "test" {
        return Some(usize::MAX);
    }
    Some(opts.get("train_pairs").and_then(|v| v.as_u64()).unwrap_or(0) as usize)
}

/// Warns when the `vb` validation set holds real pairs the model was trained on: its scores
/// would then not be validation.
fn warn_if_trained_on_pairs(a: &EvalArgs) {
    match pairs_trained_on(a.model.as_deref()) {
        Some(usize::MAX) => crate::diag!(
            "warning: the model trained on every real p287 pair (its run validated on the test material): the vb rows are not validation"
        ),
        Some(n) if n > a.train_pairs => crate::diag!(
            "warning: the model trained on the first {n} real p287 pairs, but the vb set starts after the first {}: pass --train-pairs {n} to score only pairs it has not seen",
            a.train_pairs
        ),
        None => tracing::info!("no train.json beside the model: cannot tell which real pairs it trained on"),
        _ => {}
    }
}

/// The named sets to evaluate.
fn load_sets(a: &EvalArgs) -> Result<Vec<(String, Vec<ValItem>)>> {
    if let Some(data) = &a.data {
        for s in &a.sets {
            if s != "mix" && s != "vb" {
                bail!("--sets: unknown set {s:?} (mix, vb)");
            }
        }
        let val = ValidationSets::load(data, a.val_per_snr, 4.0, a.validation, a.train_pairs, a.without_extra)?;
        if a.sets.iter().any(|s| s == "vb") && a.validation == Validation::Holdout {
            warn_if_trained_on_pairs(a);
        }
        let mut out = Vec::new();
        if a.sets.iter().any(|s| s == "mix") {
            if a.by_snr {
                out.extend(by_snr(&val.mixtures));
            }
            out.insert(0, ("mix".to_string(), val.mixtures));
        }
        if a.sets.iter().any(|s| s == "vb") {
            out.push(("vb".to_string(), val.vbdemand));
        }
        for (n, v) in &out {
            if v.is_empty() {
                bail!("{}: the {n} validation set is empty", data.display());
            }
        }
        return Ok(out);
    }
    let (Some(clean), Some(noisy)) = (&a.clean, &a.noisy) else { bail!("give --data, or --clean and --noisy") };
    Ok(vec![("files".to_string(), load_pairs(clean, noisy)?)])
}

/// The mixtures grouped by the SNR their names end with (`...@5dB`), in order of appearance.
fn by_snr(items: &[ValItem]) -> Vec<(String, Vec<ValItem>)> {
    let mut out: Vec<(String, Vec<ValItem>)> = Vec::new();
    for it in items {
        let snr = it.name.rsplit_once('@').map_or("?", |(_, s)| s);
        let set = format!("mix@{snr}");
        match out.iter_mut().find(|(n, _)| *n == set) {
            Some((_, v)) => v.push(it.clone()),
            None => out.push((set, vec![it.clone()])),
        }
    }
    out
}

/// Audio files directly in `dir`, by stem.
fn list_audio(dir: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let p = e?.path();
        let ext = p.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
        if p.is_file() && ext.is_some_and(|e| ["wav", "flac", "mp3", "ogg"].contains(&e.as_str())) {
            out.insert(p.file_stem().unwrap_or_default().to_string_lossy().into_owned(), p);
        }
    }
    Ok(out)
}

/// Clean/noisy pairs matched by stem (both trimmed to the shorter).
fn load_pairs(clean: &Path, noisy: &Path) -> Result<Vec<ValItem>> {
    let c = list_audio(clean)?;
    let n = list_audio(noisy)?;
    let mut items = Vec::new();
    for (name, np) in &n {
        let Some(cp) = c.get(name) else { bail!("{}: no clean file with this stem in {}", np.display(), clean.display()) };
        let load = |p: &Path| load_mono_16k(p).with_context(|| format!("{}: cannot read", p.display()));
        let (mut cl, mut no) = (load(cp)?, load(np)?);
        let len = cl.len().min(no.len());
        if len == 0 {
            bail!("{name}: empty audio");
        }
        cl.truncate(len);
        no.truncate(len);
        items.push(ValItem { name: name.clone(), clean: cl, noisy: no });
    }
    if items.is_empty() {
        bail!("{}: no audio files", noisy.display());
    }
    Ok(items)
}
