//! `restoregrad export`: a training checkpoint's EMA weights as a model folder.

use std::path::PathBuf;

use super::Globals;
use crate::model::parse_device;

/// Arguments of `restoregrad export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The run folder given to `restoregrad train --out`.
    #[arg(long)]
    pub run: PathBuf,
    /// Which weights: `best` (best validation EMA), `last` (latest checkpoint's EMA) or `raw`
    /// (latest checkpoint's training weights, not averaged).
    #[arg(long, default_value = "best")]
    pub checkpoint: String,
    /// The model folder to write (config.json, weights.bpk; MODEL_CARD.md kept if present);
    /// `--out` is kept as an alias.
    #[arg(long = "out-dir", visible_alias = "out")]
    pub out: PathBuf,
    /// Write this re-noising between reverse steps into the model's config (`fresh` or
    /// `reuse`; see `ModelConfig::renoise`); the run's own if unset.
    #[arg(long, value_enum)]
    pub renoise: Option<crate::model::Renoise>,
}

/// Runs `restoregrad export`.
pub fn run(a: ExportArgs, g: Globals) -> anyhow::Result<()> {
    let device = parse_device("cpu").map_err(anyhow::Error::msg)?;
    crate::train::export_checkpoint(&a.run, &a.checkpoint, &a.out, a.renoise, &device)?;
    if !g.quiet {
        let (cfg, model) = crate::model::load_model(&a.out, &device)?;
        println!("wrote {}", a.out.display());
        println!("{}", crate::model::io::summary(&cfg, &model));
    }
    Ok(())
}
