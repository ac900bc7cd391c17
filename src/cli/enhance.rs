//! `restoregrad enhance` (being built).

use super::Globals;

/// Arguments of `restoregrad enhance`.
#[derive(clap::Args, Debug)]
pub struct EnhanceArgs {}

/// Runs `restoregrad enhance`.
pub fn run(_args: EnhanceArgs, _g: Globals) -> anyhow::Result<()> {
    anyhow::bail!("`enhance` is not built yet")
}
