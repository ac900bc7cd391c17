//! Model benchmarks with a randomly initialised default-size model (`ModelConfig::new()`):
//! one training step (forward + backward of `TrainModel::losses` on 4 x 1 s) and one
//! `Enhancer::process` call per chunk of C = 4 and 16 frames for 1, 2, 3 and 6 reverse steps,
//! sequential and (2, 3 and 6 steps) staggered: one batched call runs step i of chunk n - i for
//! every i, so a call is the per-chunk cost in both cases.
//!
//! `cargo bench --bench model`. Names read as `group/case`; model-call throughput is in STFT
//! frames (8 ms each), and a closing table prints time per call and RTF = time / (C * 8 ms).
//! A last table times sequential and staggered calls alternately (paired, so that other load on
//! the machine hits both alike) and prints their medians and ratio.

use std::hint::black_box;
use std::time::{Duration, Instant};

use burn::prelude::*;
use criterion::{BenchmarkId, Criterion, Throughput};
use restoregrad::dsp::Complex32;
use restoregrad::model::diffusion::Schedule;
use restoregrad::model::restoregrad::{TrainBatch, TrainModel};
use restoregrad::model::{ChunkDenoiser, Enhancer, ModelConfig, RestoreGrad};

fn uniform(n: usize, seed: u32, scale: f32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1664525).wrapping_add(1013904223);
            scale * ((s >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
        })
        .collect()
}

fn frames(n: usize, seed: u32) -> Vec<Complex32> {
    let v = uniform(2 * n, seed, 4.0);
    v.chunks(2).map(|p| Complex32::new(p[0], p[1])).collect()
}

/// Mean seconds per call of `f` over about `budget`.
fn per_call(budget: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let t0 = Instant::now();
    let mut n = 0u32;
    while t0.elapsed() < budget || n < 3 {
        f();
        n += 1;
    }
    t0.elapsed().as_secs_f64() / n as f64
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let mut c = Criterion::default().configure_from_args();
    let cfg = ModelConfig::new();
    let mut table: Vec<(String, f64, f64)> = Vec::new(); // (name, ms per call, audio ms per call)

    // One training step: batch 4 x 1 s (125 frames), forward + backward.
    {
        let device = Device::flex().autodiff();
        device.seed(0);
        let schedule = Schedule::new(cfg.train_steps, cfg.beta_start, cfg.beta_end);
        let model = TrainModel::new(&cfg, &device);
        let [b, t, f] = [4, 16000 / cfg.hop, cfg.n_freq];
        let tensor = |seed, scale| Tensor::<4>::from_data(TensorData::new(uniform(b * 2 * t * f, seed, scale), [b, 2, t, f]), &device);
        let clean = tensor(1, 1.0);
        let noisy = clean.clone() + tensor(2, 0.5);
        let z = tensor(3, 3.4);
        let mut step = || {
            let batch = TrainBatch {
                clean: clean.clone(),
                noisy: noisy.clone(),
                z: z.clone(),
                times: vec![5.0, 20.0, 35.0, 45.0],
                start_form: vec![false, false, false, true],
                prior_drawn: vec![],
            };
            let terms = model.losses(&cfg, &schedule, batch);
            let grads = terms.total.backward();
            black_box(grads);
        };
        let mut g = c.benchmark_group("train_step");
        g.sample_size(10).measurement_time(Duration::from_secs(15));
        g.throughput(Throughput::Elements((b * t) as u64));
        g.bench_function("forward_backward_4x1s", |bch| bch.iter(&mut step));
        g.finish();
        if bench_mode {
            table.push(("train_step/forward_backward_4x1s".into(), per_call(Duration::from_secs(2), &mut step) * 1e3, 4000.0));
        }
    }

    // One model call per chunk.
    {
        let device = Device::flex();
        let model = RestoreGrad::new(&cfg, &device);
        let n_bins = cfg.n_fft / 2 + 1;
        let mut g = c.benchmark_group("model_call");
        for cf in [4usize, 16] {
            let input = frames(cf * n_bins, 7);
            let mut out = vec![Complex32::new(0.0, 0.0); input.len()];
            g.throughput(Throughput::Elements(cf as u64));
            for steps in [1usize, 2, 3, 6] {
                let mut enh = Enhancer::new(cfg.clone(), model.clone(), device.clone(), 0);
                let name = format!("C{cf}_steps{steps}");
                g.bench_function(BenchmarkId::from_parameter(&name), |b| {
                    b.iter(|| enh.process(black_box(&input), steps, &mut out))
                });
                if bench_mode {
                    let s = per_call(Duration::from_millis(500), || enh.process(&input, steps, &mut out));
                    table.push((format!("model_call/{name}"), s * 1e3, (cf * cfg.hop) as f64 * 1000.0 / 16000.0));
                }
                if steps > 1 {
                    // Staggered: after S - 1 warm-up calls every call runs S rows (a full wavefront).
                    let mut enh = Enhancer::new(cfg.clone(), model.clone(), device.clone(), 0);
                    enh.set_stagger(Some(steps));
                    let name = format!("C{cf}_steps{steps}_stagger");
                    g.bench_function(BenchmarkId::from_parameter(&name), |b| {
                        b.iter(|| enh.process(black_box(&input), steps, &mut out))
                    });
                    if bench_mode {
                        let s = per_call(Duration::from_millis(500), || enh.process(&input, steps, &mut out));
                        table.push((format!("model_call/{name}"), s * 1e3, (cf * cfg.hop) as f64 * 1000.0 / 16000.0));
                    }
                }
            }
        }
        g.finish();
    }

    // Sequential vs staggered, paired: one call of each per round, in alternating order.
    let mut paired: Vec<(String, f64, f64)> = Vec::new();
    if bench_mode {
        let device = Device::flex();
        let model = RestoreGrad::new(&cfg, &device);
        let n_bins = cfg.n_fft / 2 + 1;
        for (cf, steps) in [(2usize, 2usize), (2, 3), (4, 2), (4, 3), (4, 6), (16, 3)] {
            let input = frames(cf * n_bins, 7);
            let mut out = vec![Complex32::new(0.0, 0.0); input.len()];
            let mut seq = Enhancer::new(cfg.clone(), model.clone(), device.clone(), 0);
            let mut stag = Enhancer::new(cfg.clone(), model.clone(), device.clone(), 0);
            stag.set_stagger(Some(steps));
            let (mut ts, mut tg) = (Vec::new(), Vec::new());
            let mut time = |e: &mut Enhancer, into: &mut Vec<f64>| {
                let t0 = Instant::now();
                e.process(&input, steps, &mut out);
                into.push(t0.elapsed().as_secs_f64() * 1e3);
            };
            for round in 0..(8 + 2400 / (cf * steps)) {
                if round % 2 == 0 {
                    time(&mut seq, &mut ts);
                    time(&mut stag, &mut tg);
                } else {
                    time(&mut stag, &mut tg);
                    time(&mut seq, &mut ts);
                }
            }
            let median = |v: &mut Vec<f64>| {
                let v = &mut v[8..]; // warm-up (and the staggered pipeline filling)
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            paired.push((format!("C{cf} steps{steps}"), median(&mut ts), median(&mut tg)));
        }
    }

    c.final_summary();
    if bench_mode {
        println!("\n{:<40} {:>12} {:>12} {:>8}", "case", "ms per call", "audio ms", "RTF");
        println!("(train_step: RTF = step time per second of batch audio)");
        for (name, ms, audio) in table {
            println!("{name:<40} {ms:>12.3} {audio:>12.0} {:>8.3}", ms / audio);
        }
        println!("\n{:<20} {:>18} {:>18} {:>10}", "paired medians", "sequential ms", "staggered ms", "ratio");
        for (name, seq, stag) in paired {
            println!("{name:<20} {seq:>18.3} {stag:>18.3} {:>10.2}", stag / seq);
        }
    }
}
