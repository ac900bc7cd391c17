//! `restoregrad score` (being built).

use super::Globals;

/// Arguments of `restoregrad score`.
#[derive(clap::Args, Debug)]
pub struct ScoreArgs {}

/// Runs `restoregrad score`.
pub fn run(_args: ScoreArgs, _g: Globals) -> anyhow::Result<()> {
    anyhow::bail!("`score` is not built yet")
}
