//! `--device cpu|cuda[:N]|vulkan`: run-time backend selection, with a clear error when this
//! binary was built without the backend's cargo feature.

use burn::prelude::Device;

/// Parses a device name into a burn device.
pub fn parse_device(name: &str) -> Result<Device, String> {
    let lower = name.trim().to_ascii_lowercase();
    let (kind, index) = match lower.split_once(':') {
        Some((k, i)) => (k, Some(i.parse::<usize>().map_err(|_| format!("bad device index in {name:?}"))?)),
        None => (lower.as_str(), None),
    };
    match kind {
        "cpu" | "flex" => Ok(Device::flex()),
        "cuda" => cuda(index.unwrap_or(0)),
        "vulkan" | "wgpu" => vulkan(),
        _ => Err(format!("unknown device {name:?}: use cpu, cuda[:N] or vulkan")),
    }
}

#[cfg(feature = "cuda")]
fn cuda(index: usize) -> Result<Device, String> {
    Ok(Device::cuda(index))
}

#[cfg(not(feature = "cuda"))]
fn cuda(_index: usize) -> Result<Device, String> {
    Err("this binary was built without CUDA support: rebuild with `cargo build --release --features cuda`".into())
}

#[cfg(feature = "vulkan")]
fn vulkan() -> Result<Device, String> {
    Ok(Device::vulkan(Default::default()))
}

#[cfg(not(feature = "vulkan"))]
fn vulkan() -> Result<Device, String> {
    Err("this binary was built without Vulkan support: rebuild with `cargo build --release --features vulkan`".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_and_rejects_unknown() {
        assert!(parse_device("cpu").is_ok());
        assert!(parse_device("tpu").unwrap_err().contains("unknown device"));
        #[cfg(not(feature = "cuda"))]
        assert!(parse_device("cuda:1").unwrap_err().contains("--features cuda"));
    }
}
