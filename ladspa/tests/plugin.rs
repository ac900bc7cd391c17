//! Loads the built LADSPA plugin (`librestoregrad_ladspa.so`) as a host would and runs it.

use std::ffi::{c_char, c_int, c_ulong, c_void, CStr};
use std::path::PathBuf;
use std::time::Duration;

use rand::{Rng, SeedableRng};

#[repr(C)]
struct RangeHint {
    hint: c_int,
    lower: f32,
    upper: f32,
}

type Handle = *mut c_void;

/// ladspa.h's descriptor, declared here on the host's side on purpose: a test that borrowed the
/// plugin's own declaration (`ffi.rs`) could not catch a layout mistake in it.
#[repr(C)]
struct Descriptor {
    unique_id: c_ulong,
    label: *const c_char,
    properties: c_int,
    name: *const c_char,
    maker: *const c_char,
    copyright: *const c_char,
    port_count: c_ulong,
    port_descriptors: *const c_int,
    port_names: *const *const c_char,
    port_range_hints: *const RangeHint,
    implementation_data: *mut c_void,
    instantiate: extern "C" fn(*const Descriptor, c_ulong) -> Handle,
    connect_port: extern "C" fn(Handle, c_ulong, *mut f32),
    activate: Option<extern "C" fn(Handle)>,
    run: extern "C" fn(Handle, c_ulong),
    run_adding: Option<extern "C" fn(Handle, c_ulong)>,
    set_run_adding_gain: Option<extern "C" fn(Handle, f32)>,
    deactivate: Option<extern "C" fn(Handle)>,
    cleanup: extern "C" fn(Handle),
}

const AUDIO_IN: c_int = 0x8 | 0x1;
const AUDIO_OUT: c_int = 0x8 | 0x2;
const CONTROL_IN: c_int = 0x4 | 0x1;
const CONTROL_OUT: c_int = 0x4 | 0x2;

fn so_path() -> PathBuf {
    // target/<profile>/deps/plugin-<hash> -> target/<profile>/librestoregrad_ladspa.so
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    for dir in [deps, deps.parent().unwrap()] {
        let p = dir.join("librestoregrad_ladspa.so");
        if p.exists() {
            return p;
        }
    }
    panic!("librestoregrad_ladspa.so not found next to {}", exe.display());
}

struct Lib {
    _lib: libloading::Library,
    descs: Vec<&'static Descriptor>,
}

// The descriptors are built lazily and not thread-safely by the plugin's first
// `ladspa_descriptor` calls, and every test starts model workers: load the library once and run
// the tests one at a time.
unsafe impl Sync for Lib {}
unsafe impl Send for Lib {}
static LIB: std::sync::OnceLock<Lib> = std::sync::OnceLock::new();
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn load() -> (&'static Lib, std::sync::MutexGuard<'static, ()>) {
    let g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    (LIB.get_or_init(load_once), g)
}

fn load_once() -> Lib {
    let lib = unsafe { libloading::Library::new(so_path()).unwrap() };
    let f: libloading::Symbol<extern "C" fn(c_ulong) -> *const Descriptor> = unsafe { lib.get(b"ladspa_descriptor").unwrap() };
    let mut descs = Vec::new();
    for i in 0.. {
        let d = f(i);
        if d.is_null() {
            break;
        }
        descs.push(unsafe { &*d });
    }
    Lib { _lib: lib, descs }
}

fn cstr(p: *const c_char) -> String {
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn ports(d: &Descriptor) -> Vec<(String, c_int)> {
    (0..d.port_count as usize)
        .map(|i| unsafe { (cstr(*d.port_names.add(i)), *d.port_descriptors.add(i)) })
        .collect()
}

#[test]
fn descriptors_labels_and_ports() {
    let (lib, _serial) = load();
    assert_eq!(lib.descs.len(), 2);
    assert_eq!(cstr(lib.descs[0].label), "restoregrad_mono");
    assert_eq!(cstr(lib.descs[1].label), "restoregrad_stereo");
    for (d, nc) in lib.descs.iter().zip([1usize, 2]) {
        let p = ports(d);
        assert_eq!(p.len(), 2 * nc + 7);
        assert!(p[..nc].iter().all(|x| x.1 == AUDIO_IN));
        assert!(p[nc..2 * nc].iter().all(|x| x.1 == AUDIO_OUT));
        let ctl: Vec<_> = p[2 * nc..].iter().map(|(n, k)| (n.as_str(), *k)).collect();
        assert_eq!(
            ctl,
            vec![
                ("attenuation limit (dB)", CONTROL_IN),
                ("reverse steps", CONTROL_IN),
                ("samples", CONTROL_IN),
                ("bypass", CONTROL_IN),
                ("offline", CONTROL_IN),
                ("latency", CONTROL_OUT),
                ("underruns", CONTROL_OUT),
            ]
        );
    }
}

/// A speech-like test signal: a 140 Hz harmonic series, syllable-rate amplitude modulation, noise.
fn signal(rate: u32, n: usize) -> Vec<f32> {
    let mut rng = rand_chacha_like(7);
    (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let env = 0.5 + 0.5 * (2.0 * std::f32::consts::PI * 3.0 * t).sin();
            let v: f32 = (1..=12).map(|h| (2.0 * std::f32::consts::PI * 140.0 * h as f32 * t).sin() / h as f32).sum();
            0.15 * env * v + 0.03 * (rng.random::<f32>() * 2.0 - 1.0)
        })
        .collect()
}

fn rand_chacha_like(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// Runs the plugin with `nc` channels at `rate` over `x` (each channel gets `x` times a gain) in
/// random blocks of 1..=max_block, pacing the calls at `pace` times real time. Returns the
/// outputs per channel, the latency read after each call, and the underrun count.
fn run_plugin(d: &Descriptor, nc: usize, rate: u32, x: &[f32], max_block: usize, pace: f64) -> (Vec<Vec<f32>>, Vec<f32>, f32) {
    run_plugin_with(d, nc, rate, x, max_block, pace, [0.0, 1.0, 2.0, 0.0, 0.0], None)
}

/// [`run_plugin`] with the five control inputs (attenuation, steps, samples, bypass, offline) and
/// optionally other values set from the middle of the input on.
#[allow(clippy::too_many_arguments)]
fn run_plugin_with(
    d: &Descriptor,
    nc: usize,
    rate: u32,
    x: &[f32],
    max_block: usize,
    pace: f64,
    init: [f32; 5],
    later: Option<[f32; 5]>,
) -> (Vec<Vec<f32>>, Vec<f32>, f32) {
    let h = (d.instantiate)(d, rate as c_ulong);
    assert!(!h.is_null(), "instantiate failed");
    let mut inb = vec![vec![0f32; 8192]; nc];
    let mut outb = vec![vec![0f32; 8192]; nc];
    let mut ctl = [init[0], init[1], init[2], init[3], init[4], -1.0, -1.0];
    for c in 0..nc {
        (d.connect_port)(h, c as c_ulong, inb[c].as_mut_ptr());
        (d.connect_port)(h, (nc + c) as c_ulong, outb[c].as_mut_ptr());
    }
    for (i, v) in ctl.iter_mut().enumerate() {
        (d.connect_port)(h, (2 * nc + i) as c_ulong, v as *mut f32);
    }
    if let Some(a) = d.activate {
        a(h);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let mut outs = vec![Vec::with_capacity(x.len()); nc];
    let mut lats = Vec::new();
    let mut pos = 0;
    let start = std::time::Instant::now();
    while pos < x.len() {
        let n = rng.random_range(1..=max_block).min(x.len() - pos);
        for c in 0..nc {
            let g = 1.0 - 0.3 * c as f32;
            for i in 0..n {
                inb[c][i] = g * x[pos + i];
            }
        }
        if let Some(l) = later {
            if pos >= x.len() / 2 {
                for i in 0..5 {
                    unsafe { std::ptr::write_volatile(&mut ctl[i], l[i]) };
                }
            }
        }
        (d.run)(h, n as c_ulong);
        for c in 0..nc {
            outs[c].extend_from_slice(&outb[c][..n]);
        }
        lats.push(unsafe { std::ptr::read_volatile(&ctl[5]) });
        pos += n;
        // Host pacing: no faster than `pace` x real time.
        let due = Duration::from_secs_f64(pos as f64 / rate as f64 / pace);
        if let Some(w) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(w);
        }
    }
    let underruns = unsafe { std::ptr::read_volatile(&ctl[6]) };
    if let Some(dd) = d.deactivate {
        dd(h);
    }
    (d.cleanup)(h);
    (outs, lats, underruns)
}

#[test]
fn bad_rate_is_refused() {
    let (lib, _serial) = load();
    let d = lib.descs[0];
    assert!((d.instantiate)(d, 4000).is_null());
}

fn compare(name: &str, out: &[f32], reference: &[f32], lat: usize, rate: u32) -> (f64, f64) {
    // out[t] ~ reference[t - lat]; compare from 0.6 s (after warm-up) to the end.
    let from = (0.6 * rate as f64) as usize + lat;
    let (mut e, mut s, mut maxd) = (0f64, 0f64, 0f64);
    for t in from..out.len() {
        let r = reference[t - lat] as f64;
        let dlt = out[t] as f64 - r;
        e += dlt * dlt;
        s += r * r;
        maxd = maxd.max(dlt.abs());
    }
    let snr = 10.0 * (s / e.max(1e-30)).log10();
    eprintln!("{name}: latency {lat} samples, window {} samples, error SNR {snr:.1} dB, max |diff| {maxd:.2e}", out.len() - from);
    (snr, maxd)
}

#[test]
fn mono_and_stereo_match_the_pipeline_at_48k() {
    let rate = 48_000;
    let x = signal(rate, 2 * rate as usize);
    let model = restoregrad::Model::shipped().unwrap();
    let (lib, _serial) = load();
    let cfg = restoregrad::engine::StreamerConfig::default().with_stft(model.config.stft());
    eprintln!("engine latency at 48 kHz: {:?}", restoregrad::Latency::new(rate, rate, &cfg).unwrap());
    for (di, nc) in [(0usize, 1usize), (1, 2)] {
        let (outs, lats, underruns) = run_plugin(lib.descs[di], nc, rate, &x, 2048, 0.5);
        let lat = lats[0];
        assert!(lat > 0.0 && lat.fract() == 0.0);
        assert!(lats.iter().all(|&l| l == lat), "latency changed during the run");
        eprintln!("{nc} ch: {underruns} underrun samples");
        for c in 0..nc {
            let g = 1.0 - 0.3 * c as f32;
            let xc: Vec<f32> = x.iter().map(|v| g * v).collect();
            assert!(outs[c].iter().all(|v| v.is_finite()));
            let reference = restoregrad::PipelineBuilder::new(rate, 1).build(&model).unwrap().enhance(&xc);
            let (snr, maxd) = compare(&format!("{nc} ch, channel {c}"), &outs[c], &reference, lat as usize, rate);
            if underruns == 0.0 {
                // No fallback to dry: the wet path is the pipeline, sample for sample (measured:
                // bit-exact, max |diff| 0).
                assert!(maxd < 1e-5, "plugin output differs from the pipeline: max |diff| {maxd:.2e}");
            } else {
                // A loaded machine made the worker late somewhere: those samples are dry.
                assert!(snr > 20.0, "plugin output differs from the pipeline: error SNR {snr:.1} dB");
            }
        }
    }
}

#[test]
fn block_sizes_and_rates() {
    // Any block size 1..=8192 and rates 8-192 kHz: finite output, constant latency.
    let (lib, _serial) = load();
    for rate in [8_000u32, 44_100, 192_000] {
        let x = signal(rate, rate as usize / 2);
        let (outs, lats, _) = run_plugin(lib.descs[0], 1, rate, &x, 8192, 1e9);
        assert!(outs[0].iter().all(|v| v.is_finite()));
        assert!(lats.iter().all(|&l| l == lats[0] && l > 0.0), "{rate} Hz: latency not constant");
    }
}

#[test]
fn bypass_is_the_input_delayed_by_the_reported_latency() {
    let (lib, _serial) = load();
    let rate = 48_000;
    let x = signal(rate, rate as usize / 2);
    let (outs, lats, _) = run_plugin_with(lib.descs[0], 1, rate, &x, 2048, 1e9, [0.0, 1.0, 2.0, 1.0, 0.0], None);
    let lat = lats[0] as usize;
    for (t, &y) in outs[0].iter().enumerate() {
        let want = if t < lat { 0.0 } else { x[t - lat] };
        assert_eq!(y, want, "sample {t}");
    }
}

#[test]
fn control_changes_keep_latency_constant() {
    let (lib, _serial) = load();
    let rate = 44_100;
    let x = signal(rate, rate as usize);
    let (outs, lats, _) =
        run_plugin_with(lib.descs[1], 2, rate, &x, 1024, 1e9, [0.0, 1.0, 2.0, 0.0, 0.0], Some([12.0, 3.0, 1.0, 0.0, 0.0]));
    assert!(outs.iter().flatten().all(|v| v.is_finite()));
    assert!(lats.iter().all(|&l| l == lats[0] && l > 0.0));
}

#[test]
fn offline_mode_is_the_pipeline_at_any_speed() {
    // A host running as fast as it can (applyplugin, Audacity) with `offline` on: no underruns,
    // and the output is the pipeline's, sample for sample, after the reported latency.
    // With no safety margin the latency is the algorithmic delay plus the pipeline's measured
    // structural lag only: offline mode then underruns if that lag is underestimated.
    let model = restoregrad::Model::shipped().unwrap();
    let (lib, _serial) = load();
    std::env::set_var("RESTOREGRAD_LADSPA_SAFETY_MS", "0");
    for (rate, nc) in [(8_000u32, 1usize), (16_000, 1), (44_100, 1), (48_000, 2), (192_000, 1)] {
        let x = signal(rate, rate as usize);
        let r = run_plugin_with(lib.descs[nc - 1], nc, rate, &x, 4096, 1e9, [0.0, 1.0, 2.0, 0.0, 1.0], None);
        let (outs, lats, underruns) = r;
        assert_eq!(underruns, 0.0, "{rate} Hz: offline mode underran");
        let lat = lats[0] as usize;
        for c in 0..nc {
            let g = 1.0 - 0.3 * c as f32;
            let xc: Vec<f32> = x.iter().map(|v| g * v).collect();
            let reference = restoregrad::PipelineBuilder::new(rate, 1).build(&model).unwrap().enhance(&xc);
            let (_, maxd) = compare(&format!("offline {rate} Hz, channel {c}"), &outs[c], &reference, lat, rate);
            assert!(maxd < 1e-5, "offline output differs from the pipeline: max |diff| {maxd:.2e}");
        }
    }
    std::env::remove_var("RESTOREGRAD_LADSPA_SAFETY_MS");
}

#[test]
fn real_time_mode_in_a_fast_host_is_wet_or_dry_at_the_same_latency() {
    // A host far faster than real time, real-time mode: the worker cannot keep up, so many
    // samples underrun; each output sample is still the wet one or the dry input, at the
    // reported latency, and the underruns are counted.
    let model = restoregrad::Model::shipped().unwrap();
    let (lib, _serial) = load();
    let rate = 48_000;
    let x = signal(rate, rate as usize);
    let (outs, lats, underruns) = run_plugin(lib.descs[0], 1, rate, &x, 2048, 1e9);
    let lat = lats[0] as usize;
    let wet = restoregrad::PipelineBuilder::new(rate, 1).build(&model).unwrap().enhance(&x);
    let mut dry = 0;
    for t in lat..x.len() {
        let y = outs[0][t];
        if y == x[t - lat] && y != wet[t - lat] {
            dry += 1;
        } else {
            assert!((y - wet[t - lat]).abs() < 1e-5, "sample {t} is neither wet nor dry");
        }
    }
    eprintln!("fast host, real-time mode: {dry} dry samples, underruns port {underruns}");
    assert!(underruns > 0.0 && dry > 0, "a host this fast must underrun");
}

#[test]
fn in_place_host_buffers() {
    // Input and output on the same buffer (hosts may do this): same output as separate buffers.
    let (lib, _serial) = load();
    let d = lib.descs[0];
    let rate = 16_000;
    let x = signal(rate, rate as usize / 2);
    let (sep, _, _) = run_plugin_with(d, 1, rate, &x, 512, 1e9, [0.0, 1.0, 2.0, 0.0, 1.0], None);
    let h = (d.instantiate)(d, rate as c_ulong);
    assert!(!h.is_null());
    let mut buf = vec![0f32; 512];
    let mut ctl = [0.0f32, 1.0, 2.0, 0.0, 1.0, 0.0, 0.0];
    (d.connect_port)(h, 0, buf.as_mut_ptr());
    (d.connect_port)(h, 1, buf.as_mut_ptr());
    for (i, v) in ctl.iter_mut().enumerate() {
        (d.connect_port)(h, (2 + i) as c_ulong, v as *mut f32);
    }
    let mut out = Vec::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let mut pos = 0;
    while pos < x.len() {
        let n = rng.random_range(1..=512).min(x.len() - pos);
        buf[..n].copy_from_slice(&x[pos..pos + n]);
        (d.run)(h, n as c_ulong);
        out.extend_from_slice(&buf[..n]);
        pos += n;
    }
    (d.cleanup)(h);
    assert_eq!(out, sep[0]);
}
