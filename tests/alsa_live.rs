//! Live path through cpal and ALSA on a virtual device (feature `live`).
//!
//! A temporary HOME holds an `.asoundrc` whose `default` PCM is ALSA's `file` plugin over the
//! `null` slave: capture reads `infile`, playback writes `file`. Both are named pipes (FIFOs)
//! served by threads of this test at real-time pace, so the "device" runs at 48 kHz wall-clock
//! speed (plain files would make it unpaced: gigabytes per second). The binary runs
//! `restoregrad live` for a bounded time with a stand-in denoiser; the test checks a clean exit,
//! the printed latency and counters, and that the input signal comes out of the output device.
#![cfg(feature = "live")]

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RATE: usize = 48_000;
const CH: usize = 2;

fn test_signal(n: usize) -> Vec<f32> {
    // Twenty incommensurate sines below 6 kHz with random phases: band-limited (survives the
    // 16 kHz model rate) and without a short period (a unique cross-correlation peak).
    let mut s = 12345u64;
    let mut rnd = || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let comps: Vec<(f64, f64)> = (0..20).map(|_| (100.0 + 5900.0 * rnd(), 6.283 * rnd())).collect();
    (0..n)
        .map(|i| {
            let t = i as f64 / RATE as f64;
            (comps.iter().map(|(f, p)| (6.283185307 * f * t + p).sin()).sum::<f64>() * 0.03) as f32
        })
        .collect()
}

/// The binary under test; `RESTOREGRAD_TEST_BIN` overrides it (useful when a shared target
/// folder may hold a build without the `live` feature).
fn bin() -> std::path::PathBuf {
    std::env::var_os("RESTOREGRAD_TEST_BIN").map_or_else(|| env!("CARGO_BIN_EXE_restoregrad").into(), Into::into)
}

fn mkfifo(p: &Path) {
    let st = Command::new("mkfifo").arg(p).status().expect("mkfifo");
    assert!(st.success(), "mkfifo {p:?} failed");
}

/// Feeds `signal` (then silence) into the capture FIFO at real-time pace; reopens after the
/// reader goes away (cpal opens the PCM more than once while probing).
fn spawn_writer(path: std::path::PathBuf, signal: Arc<Vec<f32>>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let t0 = Instant::now();
        let mut pos = 0usize;
        let blk = RATE / 100;
        while !stop.load(Ordering::Relaxed) {
            let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&path) else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let mut bytes = Vec::with_capacity(blk * CH * 4);
                for k in 0..blk {
                    let v = signal.get(pos + k).copied().unwrap_or(0.0);
                    for _ in 0..CH {
                        bytes.extend_from_slice(&v.to_le_bytes());
                    }
                }
                if f.write_all(&bytes).is_err() {
                    break; // reader closed: reopen
                }
                pos += blk;
                let due = Duration::from_secs_f64(pos as f64 / RATE as f64);
                if let Some(d) = due.checked_sub(t0.elapsed()) {
                    std::thread::sleep(d);
                }
            }
        }
    });
}

/// Drains the playback FIFO at real-time pace into `out` (channel 0 only).
fn spawn_reader(path: std::path::PathBuf, out: Arc<Mutex<Vec<f32>>>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let t0 = Instant::now();
        let mut frames = 0usize;
        let mut buf = vec![0u8; RATE / 100 * CH * 4];
        let mut pending: Vec<u8> = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let Ok(mut f) = std::fs::File::open(&path) else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            loop {
                let n = match f.read(&mut buf) {
                    Ok(0) | Err(_) => break, // writer closed: reopen
                    Ok(n) => n,
                };
                pending.extend_from_slice(&buf[..n]);
                let whole = pending.len() / (CH * 4) * (CH * 4);
                let mut o = out.lock().unwrap();
                for fr in pending[..whole].chunks_exact(CH * 4) {
                    o.push(f32::from_le_bytes(fr[..4].try_into().unwrap()));
                }
                drop(o);
                frames += whole / (CH * 4);
                pending.drain(..whole);
                let due = Duration::from_secs_f64(frames as f64 / RATE as f64);
                if let Some(d) = due.checked_sub(t0.elapsed()) {
                    std::thread::sleep(d);
                }
            }
        }
    });
}

fn asoundrc(dir: &Path) {
    let rc = format!(
        r#"pcm.!default {{
    type asym
    playback.pcm {{
        type file
        slave.pcm "null"
        file "{out}"
        format "raw"
    }}
    capture.pcm {{
        type file
        slave.pcm "null"
        file "/dev/null"
        infile "{inp}"
        format "raw"
    }}
}}
"#,
        out = dir.join("out.fifo").display(),
        inp = dir.join("in.fifo").display()
    );
    std::fs::write(dir.join(".asoundrc"), rc).unwrap();
}

#[test]
fn live_engine_runs_on_alsa_file_plugin() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    asoundrc(dir);
    mkfifo(&dir.join("in.fifo"));
    mkfifo(&dir.join("out.fifo"));
    let signal = Arc::new(test_signal(RATE * 4));
    let stop = Arc::new(AtomicBool::new(false));
    let out = Arc::new(Mutex::new(Vec::new()));
    spawn_writer(dir.join("in.fifo"), signal.clone(), stop.clone());
    spawn_reader(dir.join("out.fifo"), out.clone(), stop.clone());

    let t0 = Instant::now();
    let res = Command::new(bin())
        .args(["live", "--stand-in", "identity", "--duration", "3", "--chunk-ms", "32"])
        .env("HOME", dir)
        .env_remove("ALSA_CONFIG_PATH")
        .output()
        .expect("run restoregrad");
    let wall = t0.elapsed();
    stop.store(true, Ordering::SeqCst);
    let stderr = String::from_utf8_lossy(&res.stderr);
    println!("{stderr}");
    assert!(res.status.success(), "live failed: {stderr}");
    assert!(wall < Duration::from_secs(20), "took {wall:?}");
    assert!(stderr.contains("algorithmic latency: 64.0 ms"), "{stderr}");
    assert!(stderr.contains("(48000 Hz, 2 ch, f32) -> output"), "unexpected device format: {stderr}");
    assert!(stderr.contains("done: "), "{stderr}");

    std::thread::sleep(Duration::from_millis(100));
    let y = out.lock().unwrap().clone();
    let x = &signal[..];
    println!("captured {} output frames ({:.2} s)", y.len(), y.len() as f64 / RATE as f64);
    assert!(y.len() > RATE * 2, "too little output: {} frames", y.len());
    // Find where the input shows up in the output (identity stand-in: same waveform, delayed).
    let win = RATE / 4;
    let start = RATE / 2;
    let xw = &x[start..start + win];
    let ex: f64 = xw.iter().map(|v| (*v as f64).powi(2)).sum();
    let (mut best, mut best_lag) = (0.0f64, 0usize);
    for lag in 0..(RATE / 2).min(y.len().saturating_sub(start + win)) {
        let yw = &y[start + lag..start + lag + win];
        let c: f64 = xw.iter().zip(yw).map(|(a, b)| (*a as f64) * (*b as f64)).sum();
        let ey: f64 = yw.iter().map(|v| (*v as f64).powi(2)).sum();
        let r = c / (ex * ey).sqrt().max(1e-12);
        if r > best {
            best = r;
            best_lag = lag;
        }
    }
    println!(
        "input -> output delay through ALSA pipes: {best_lag} frames ({:.1} ms), normalized correlation {best:.4}",
        best_lag as f64 * 1000.0 / RATE as f64
    );
    assert!(best > 0.95, "the input signal did not come through (corr {best})");
    // The delay includes the pipes' buffering (up to 64 KiB each way), so only bound it loosely.
    assert!(best_lag >= 3072, "delay {best_lag} below the algorithmic latency");
}

#[test]
fn unknown_device_is_a_clean_error() {
    let home = tempfile::tempdir().unwrap();
    asoundrc(home.path());
    let res = Command::new(bin())
        .args(["live", "--stand-in", "identity", "--input", "no-such-device", "--duration", "1"])
        .env("HOME", home.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success());
    assert!(stderr.contains("unknown input device \"no-such-device\""), "{stderr}");
    assert!(stderr.contains("restoregrad devices") && stderr.contains("--input-file"), "no hint: {stderr}");
    let res = Command::new(bin())
        .args(["live", "--stand-in", "identity", "--output", "99", "--duration", "1"])
        .env("HOME", home.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success());
    assert!(stderr.contains("no output device with index 99"), "{stderr}");
    let res = Command::new(bin()).arg("devices").env("HOME", home.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(res.status.success());
    assert!(stdout.contains("default"), "{stdout}");
}

#[test]
fn no_sound_card_gives_a_hint() {
    // The default PCM names a card that does not exist: what a machine without a sound card sees.
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join(".asoundrc"), "pcm.!default { type hw card 97 }\nctl.!default { type hw card 97 }\n").unwrap();
    let res = Command::new(bin())
        .args(["live", "--stand-in", "identity", "--duration", "1"])
        .env("HOME", home.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success(), "{stderr}");
    assert!(stderr.contains("restoregrad devices") && stderr.contains("--input-file"), "no hint: {stderr}");
}
