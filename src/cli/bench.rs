//! `restoregrad bench` (being built).

use super::Globals;

/// Arguments of `restoregrad bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {}

/// Runs `restoregrad bench`.
pub fn run(_args: BenchArgs, _g: Globals) -> anyhow::Result<()> {
    anyhow::bail!("`bench` is not built yet")
}
