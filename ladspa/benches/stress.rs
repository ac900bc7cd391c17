//! Stress bench: a host simulator that calls the plugin's `run` at real-time pace.
//!
//! For each quantum (32, 64, 128, 256, 1024 frames at 48 kHz, mono, default settings) it
//! instantiates the plugin, then calls `run` once per quantum, sleeping until each quantum's
//! deadline, for `$RESTOREGRAD_STRESS_SECS` seconds (default 60), while a second thread spins
//! at full speed to compete for the CPU. It prints a markdown table: underruns, worst and p99
//! `run` time, the constant latency, the worker's slowest pipeline call and the host thread's
//! worst wake-up lateness.
//!
//! `cargo bench -p restoregrad-ladspa --bench stress` (5 minutes);
//! `RESTOREGRAD_STRESS_SECS=5 cargo bench -p restoregrad-ladspa --bench stress` for a quick run;
//! `$RESTOREGRAD_STRESS_QUANTA=32,1024` picks quanta; with `$RESTOREGRAD_STRESS_BASELINE` set the
//! timed call is a plain copy of the block instead of `run` (the machine's own timing noise). The host thread asks for SCHED_FIFO
//! (as PipeWire's data thread gets through RTKit) and says whether it got it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use restoregrad_ladspa::{Instance, Settings};

const RATE: u32 = 48_000;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

/// A speech-like test signal: a 140 Hz harmonic series, syllable-rate modulation, noise.
fn signal(n: usize) -> Vec<f32> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|i| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let noise = (seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
            let t = i as f32 / RATE as f32;
            let env = 0.5 + 0.5 * (2.0 * std::f32::consts::PI * 3.0 * t).sin();
            let v: f32 = (1..=12).map(|h| (2.0 * std::f32::consts::PI * 140.0 * h as f32 * t).sin() / h as f32).sum();
            0.15 * env * v + 0.03 * noise
        })
        .collect()
}

/// Asks for SCHED_FIFO priority 80 for the calling thread; whether it was granted.
fn realtime_priority() -> bool {
    let p = libc::sched_param { sched_priority: 80 };
    unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &p) == 0 }
}

struct Row {
    quantum: usize,
    secs: f64,
    blocks: usize,
    underruns: u64,
    worst_us: f64,
    p99_us: f64,
    latency: usize,
    worker_ms: f64,
    late_ms: f64,
    /// When the worst call came, seconds into the run.
    worst_at_s: f64,
    /// Calls over 50 µs.
    over_50us: usize,
    p999_us: f64,
}

/// Runs one quantum for `secs` seconds at real-time pace.
/// With `baseline`, the timed call only copies the input to the output: the machine's own
/// timing noise at the same pace, under the same competition.
fn run_quantum(quantum: usize, secs: f64, x: &[f32], baseline: bool) -> Row {
    let mut inst = Instance::new(1, RATE as u64).expect("instantiate");
    inst.set_controls(Settings::default());
    let blocks = (secs * RATE as f64 / quantum as f64).ceil() as usize;
    let mut times = Vec::with_capacity(blocks);
    let mut out = vec![1f32; quantum];
    let mut late = Duration::ZERO;
    let start = Instant::now();
    for k in 0..blocks {
        let due = start + Duration::from_secs_f64((k * quantum) as f64 / RATE as f64);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        late = late.max(Instant::now().saturating_duration_since(due));
        let pos = (k * quantum) % (x.len() - quantum);
        let t0 = Instant::now();
        if baseline {
            out.copy_from_slice(std::hint::black_box(&x[pos..pos + quantum]));
        } else {
            inst.run(&[&x[pos..pos + quantum]], &mut [&mut out[..]], false);
        }
        times.push(t0.elapsed());
    }
    let secs = start.elapsed().as_secs_f64();
    let worst_k = (0..times.len()).max_by_key(|&k| times[k]).unwrap_or(0);
    let over_50us = times.iter().filter(|d| d.as_micros() > 50).count();
    times.sort_unstable();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    Row {
        quantum,
        secs,
        blocks,
        underruns: inst.underruns(),
        worst_us: us(times[times.len() - 1]),
        p99_us: us(times[(times.len() - 1) * 99 / 100]),
        latency: inst.latency(),
        worker_ms: inst.max_worker_call().as_secs_f64() * 1e3,
        late_ms: late.as_secs_f64() * 1e3,
        worst_at_s: (worst_k * quantum) as f64 / RATE as f64,
        over_50us,
        p999_us: us(times[(times.len() - 1) * 999 / 1000]),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let secs: f64 = env_or("RESTOREGRAD_STRESS_SECS", 60.0);
    let quanta: Vec<usize> = std::env::var("RESTOREGRAD_STRESS_QUANTA")
        .ok()
        .map(|v| v.split(',').filter_map(|q| q.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![32, 64, 128, 256, 1024]);
    let baseline = std::env::var_os("RESTOREGRAD_STRESS_BASELINE").is_some();
    let x = signal(10 * RATE as usize);
    let stop = Arc::new(AtomicBool::new(false));
    let busy = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut a = 1.0f64;
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..10_000 {
                    a = std::hint::black_box(a * 1.000_000_1 + 1e-9);
                }
            }
            a
        })
    };
    let rt = realtime_priority();
    eprintln!(
        "stress: 48 kHz mono, default settings, {secs} s per quantum, a busy thread competing, host thread SCHED_FIFO: {}{}",
        if rt { "yes" } else { "no (not permitted)" },
        if baseline { "; BASELINE: the timed call is a copy, not run()" } else { "" }
    );
    println!("| quantum (frames) | duration (s) | blocks | underruns (samples) | worst run() (µs) | worst at (s) | calls > 50 µs | p99.9 run() (µs) | p99 run() (µs) | latency (samples / ms) | worker's slowest call (ms) | host's worst wake-up lateness (ms) |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for q in quanta {
        let r = run_quantum(q, secs, &x, baseline);
        println!(
            "| {} | {:.1} | {} | {} | {:.1} | {:.2} | {} | {:.1} | {:.1} | {} / {:.1} | {:.1} | {:.2} |",
            r.quantum,
            r.secs,
            r.blocks,
            r.underruns,
            r.worst_us,
            r.worst_at_s,
            r.over_50us,
            r.p999_us,
            r.p99_us,
            r.latency,
            r.latency as f64 * 1000.0 / RATE as f64,
            r.worker_ms,
            r.late_ms
        );
    }
    stop.store(true, Ordering::Relaxed);
    let _ = busy.join();
}
