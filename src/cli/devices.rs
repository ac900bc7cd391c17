//! `restoregrad devices`: lists audio input and output devices (needs the `live` feature).

use super::Globals;

/// Arguments of `restoregrad devices`.
#[derive(clap::Args, Debug)]
pub struct DevicesArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `restoregrad devices`.
#[cfg(not(feature = "live"))]
pub fn run(_args: DevicesArgs, _g: Globals) -> anyhow::Result<()> {
    anyhow::bail!(
        "this binary was built without the `live` feature, so it cannot list audio devices; rebuild with \
         `cargo build --release --features live` (needs ALSA headers on Linux: apt-get install libasound2-dev)"
    )
}

/// Runs `restoregrad devices`.
#[cfg(feature = "live")]
pub fn run(args: DevicesArgs, _g: Globals) -> anyhow::Result<()> {
    use crate::engine::device::{list_devices, DefaultStreamConfig};
    let devices = list_devices()?;
    let fmt = |c: &Option<DefaultStreamConfig>| match c {
        Some(c) => format!("{} Hz, {} ch, {}", c.sample_rate, c.channels, c.sample_format),
        None => "-".to_string(),
    };
    if args.json {
        let v: Vec<serde_json::Value> = devices
            .iter()
            .map(|d| {
                let cfg = |c: &Option<DefaultStreamConfig>| {
                    c.as_ref().map(|c| {
                        serde_json::json!({"sample_rate": c.sample_rate, "channels": c.channels, "sample_format": c.sample_format})
                    })
                };
                serde_json::json!({
                    "index": d.index, "name": d.name, "id": d.id,
                    "input": cfg(&d.input), "output": cfg(&d.output),
                    "default_input": d.is_default_input, "default_output": d.is_default_output,
                })
            })
            .collect();
        return emit(serde_json::to_string_pretty(&v)? + "\n");
    }
    if devices.is_empty() {
        return emit("no audio devices found\n".into());
    }
    use std::fmt::Write as _;
    let mut out = String::new();
    writeln!(out, "{:>3}  {:<40} {:<28} {:<28}", "#", "name", "default input", "default output")?;
    for d in &devices {
        let mut name = d.name.clone();
        if d.is_default_input || d.is_default_output {
            name += " *";
        }
        writeln!(out, "{:>3}  {:<40} {:<28} {:<28}", d.index, name, fmt(&d.input), fmt(&d.output))?;
    }
    writeln!(out, "(* = a default device; select with --input/--output NAME or INDEX)")?;
    emit(out)
}

/// Writes to stdout; a closed pipe (`restoregrad devices | head`) is not an error.
#[cfg(feature = "live")]
fn emit(text: String) -> anyhow::Result<()> {
    use std::io::Write;
    match std::io::stdout().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
