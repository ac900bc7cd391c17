//! `restoregrad export` (being built).

use super::Globals;

/// Arguments of `restoregrad export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {}

/// Runs `restoregrad export`.
pub fn run(_args: ExportArgs, _g: Globals) -> anyhow::Result<()> {
    anyhow::bail!("`export` is not built yet")
}
