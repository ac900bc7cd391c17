//! `restoregrad train` (being built).

use super::Globals;

/// Arguments of `restoregrad train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {}

/// Runs `restoregrad train`.
pub fn run(_args: TrainArgs, _g: Globals) -> anyhow::Result<()> {
    anyhow::bail!("`train` is not built yet")
}
