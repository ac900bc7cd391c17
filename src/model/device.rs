//! `--device cpu|cuda[:N]|vulkan[:N]|tch`: run-time backend selection, with a clear error when this
//! binary was built without the backend's cargo feature, or when the device or its driver is
//! missing on this machine.
//!
//! burn's GPU devices are lazy: `Device::cuda(0)` only names a device, and the first tensor
//! operation on it starts the runtime, which panics (on the backend's runner thread, then on
//! ours) when there is no driver or no such device. So a GPU device is probed once, right here:
//! a tiny tensor goes up, is doubled and read back, inside [`guarded`], which turns any panic into
//! an `Err` carrying the backend's own message. The CPU path is not probed and costs nothing.
//! Probed devices are cached for the process, so asking twice (bench's device list) probes once.

use burn::prelude::*;

/// Parses a device name into a burn device.
///
/// `cpu` (or `flex`) is the Flex CPU backend. `cuda[:N]` is the N-th CUDA device (default 0),
/// needing the `cuda` feature. `vulkan` (or `wgpu`) is wgpu's best Vulkan adapter, `vulkan:N` the
/// N-th discrete GPU; both need the `vulkan` feature. `tch` (or `libtorch`) is LibTorch on the CPU,
/// needing the `tch` feature (see docs/TCH.md). Errors are one-line, human-readable strings.
pub fn parse_device(name: &str) -> Result<Device, String> {
    let lower = name.trim().to_ascii_lowercase();
    let (kind, index) = match lower.split_once(':') {
        Some((k, i)) => (k, Some(i.parse::<usize>().map_err(|_| format!("bad device index in {name:?}"))?)),
        None => (lower.as_str(), None),
    };
    match kind {
        "cpu" | "flex" => Ok(Device::flex()),
        "cuda" => {
            let i = index.unwrap_or(0);
            cached(&format!("cuda:{i}"), || cuda(i))
        }
        "vulkan" | "wgpu" => cached(&format!("vulkan:{index:?}"), || vulkan(index)),
        "tch" | "libtorch" => match index {
            None => cached("tch", libtorch),
            Some(_) => Err(format!("bad device {name:?}: tch is LibTorch on the CPU and takes no index")),
        },
        _ => Err(format!("unknown device {name:?}: use cpu, cuda[:N], vulkan or tch")),
    }
}

/// Probes a GPU device once per process and remembers the answer, error included.
fn cached(key: &str, make: impl FnOnce() -> Result<Device, String>) -> Result<Device, String> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Result<Device, String>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    // The lock is held across the probe so that two threads never start one runtime twice.
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = map.get(key) {
        return r.clone();
    }
    let r = make();
    map.insert(key.to_string(), r.clone());
    r
}

#[cfg(feature = "cuda")]
fn cuda(index: usize) -> Result<Device, String> {
    guarded(|| {
        let device = Device::cuda(index);
        roundtrip(&device)?;
        Ok(device)
    })
    .map_err(|why| {
        format!(
            "no CUDA device {index} found (NVIDIA driver or libcuda.so missing, or fewer than {} GPUs?): {why}",
            index + 1
        )
    })
}

#[cfg(not(feature = "cuda"))]
fn cuda(_index: usize) -> Result<Device, String> {
    Err("this binary was built without CUDA support: rebuild with `cargo build --release --features cuda`".into())
}

#[cfg(feature = "vulkan")]
fn vulkan(index: Option<usize>) -> Result<Device, String> {
    use burn::tensor::wgpu::WgpuBackend;
    use burn::tensor::DeviceKind;
    let kind = match index {
        None => DeviceKind::DefaultDevice,
        Some(i) => DeviceKind::DiscreteGpu(i),
    };
    let what = match index {
        None => "no Vulkan GPU found".to_string(),
        Some(i) => format!("no Vulkan discrete GPU {i} found"),
    };
    guarded(|| {
        // `init` acquires the adapter now and says why when it cannot (no loader, no ICD, no GPU),
        // where the lazy `Device::vulkan` would panic on first use.
        let device = Device::wgpu_options()
            .device_kind(kind)
            .graphics_api(WgpuBackend::Vulkan)
            .init()
            .map_err(|e| e.to_string())?;
        roundtrip(&device)?;
        Ok(device)
    })
    .map_err(|why| {
        format!(
            "{what} (Vulkan loader libvulkan.so.1 or a GPU driver/ICD missing? see docs/GPU.md; \
             VK_ICD_FILENAMES / VK_DRIVER_FILES pick the driver): {why}"
        )
    })
}

#[cfg(not(feature = "vulkan"))]
fn vulkan(_index: Option<usize>) -> Result<Device, String> {
    Err("this binary was built without Vulkan support: rebuild with `cargo build --release --features vulkan`".into())
}

/// LibTorch's CPU device. libtorch is linked at build time, so there is no driver to find, but the
/// first operation still initialises it (and its thread pool, sized by `OMP_NUM_THREADS`), so it
/// is probed like the GPUs to turn a broken install into an error rather than a panic mid-run.
#[cfg(feature = "tch")]
fn libtorch() -> Result<Device, String> {
    guarded(|| {
        // burn 0.22 marks burn-tch deprecated; it is still the only LibTorch binding it offers.
        #[allow(deprecated)]
        let device = Device::libtorch();
        roundtrip(&device)?;
        Ok(device)
    })
    .map_err(|why| format!("LibTorch CPU device failed its self-test: {why}"))
}

#[cfg(not(feature = "tch"))]
fn libtorch() -> Result<Device, String> {
    Err("this binary was built without LibTorch support: rebuild with `cargo build --release --features tch` \
         and a libtorch 2.9.0 install (see docs/TCH.md)"
        .into())
}

/// Uploads a tiny tensor, doubles it on the device and reads it back.
#[cfg(any(feature = "cuda", feature = "vulkan", feature = "tch", test))]
fn roundtrip(device: &Device) -> Result<(), String> {
    let x = Tensor::<1>::from_floats([1.0f32, -2.0, 3.5], device);
    let data = (x * 2.0).try_into_data().map_err(|e| e.to_string())?;
    let v = data.try_into_vec_as::<f32>().map_err(|e| format!("{e:?}"))?;
    if v != [2.0, -4.0, 7.0] {
        return Err(format!("device self-test read back {v:?}, expected [2.0, -4.0, 7.0]"));
    }
    Ok(())
}

/// Runs `probe`, turning a panic into `Err`. While it runs, the panic hook is swapped for one that
/// records messages from every thread instead of printing them: a backend runtime panics first on
/// its own runner thread (with the useful message, e.g. the driver that failed to load), then on
/// ours with a bare channel error, so the recorded messages are what the error reports.
#[cfg(any(feature = "cuda", feature = "vulkan", feature = "tch", test))]
fn guarded<T>(probe: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::{Arc, Mutex};

    static HOOK_LOCK: Mutex<()> = Mutex::new(());
    let _serial = HOOK_LOCK.lock().unwrap_or_else(|e| e.into_inner());

    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let previous = panic::take_hook();
    let sink = Arc::clone(&seen);
    panic::set_hook(Box::new(move |info| {
        let msg = payload_text(info.payload()).unwrap_or_else(|| "panic".into());
        let at = info.location().map(|l| format!(" (at {}:{})", l.file(), l.line())).unwrap_or_default();
        sink.lock().unwrap_or_else(|e| e.into_inner()).push(format!("{msg}{at}"));
    }));
    let outcome = panic::catch_unwind(AssertUnwindSafe(probe));
    // Give a runner thread that is still unwinding a moment to record its message.
    if outcome.is_err() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic::set_hook(previous);

    match outcome {
        Ok(r) => r,
        Err(payload) => {
            let mut msgs = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if msgs.is_empty() {
                msgs.push(payload_text(&*payload).unwrap_or_else(|| "panic".into()));
            }
            msgs.dedup();
            Err(msgs.join("; "))
        }
    }
}

#[cfg(any(feature = "cuda", feature = "vulkan", feature = "tch", test))]
fn payload_text(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .map(|s| s.lines().next().unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_and_rejects_unknown() {
        assert!(parse_device("cpu").is_ok());
        assert!(parse_device("tpu").unwrap_err().contains("unknown device"));
        assert!(parse_device("cuda:x").unwrap_err().contains("bad device index"));
        #[cfg(not(feature = "cuda"))]
        assert!(parse_device("cuda:1").unwrap_err().contains("--features cuda"));
        #[cfg(not(feature = "vulkan"))]
        assert!(parse_device("vulkan").unwrap_err().contains("--features vulkan"));
        #[cfg(not(feature = "tch"))]
        assert!(parse_device("tch").unwrap_err().contains("--features tch"));
        assert!(parse_device("tch:1").unwrap_err().contains("takes no index"));
    }

    #[cfg(feature = "tch")]
    #[test]
    fn tch_passes_the_self_test() {
        roundtrip(&parse_device("tch").unwrap()).unwrap();
        assert_eq!(parse_device("libtorch").unwrap(), parse_device("tch").unwrap());
    }

    #[test]
    fn cpu_passes_the_gpu_self_test() {
        roundtrip(&parse_device("cpu").unwrap()).unwrap();
    }

    #[test]
    fn guarded_turns_panics_into_errors() {
        assert_eq!(guarded(|| Ok::<_, String>(3)), Ok(3));
        assert_eq!(guarded(|| Err::<(), _>("plain".to_string())), Err("plain".to_string()));
        let e = guarded(|| -> Result<(), String> { panic!("no driver here") }).unwrap_err();
        assert!(e.contains("no driver here"), "{e}");
    }

    #[test]
    fn guarded_reports_the_runner_threads_message() {
        // The shape of a lazy GPU runtime failing: the runner thread panics with the cause, the
        // caller then panics on the dropped channel.
        let e = guarded(|| -> Result<(), String> {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let _ = std::thread::spawn(move || {
                let _tx = tx;
                panic!("Unable to load libcuda.so");
            })
            .join();
            rx.recv().unwrap();
            Ok(())
        })
        .unwrap_err();
        assert!(e.contains("Unable to load libcuda.so"), "{e}");
        assert!(e.contains("RecvError"), "{e}");
    }
}
