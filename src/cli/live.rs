//! `restoregrad live` (being built).

use super::Globals;

/// Arguments of `restoregrad live`.
#[derive(clap::Args, Debug)]
pub struct LiveArgs {}

/// Runs `restoregrad live`.
pub fn run(_args: LiveArgs, _g: Globals) -> anyhow::Result<()> {
    anyhow::bail!("`live` is not built yet")
}
