//! `restoregrad devices` (being built).

use super::Globals;

/// Arguments of `restoregrad devices`.
#[derive(clap::Args, Debug)]
pub struct DevicesArgs {}

/// Runs `restoregrad devices`.
pub fn run(_args: DevicesArgs, _g: Globals) -> anyhow::Result<()> {
    anyhow::bail!("`devices` is not built yet")
}
