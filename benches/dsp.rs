//! Signal-path benchmarks: STFT round trip, resampling, the streamer per hop (identity denoiser)
//! and the full file path (`enhance_mono_16k` on a fixture with a tiny random model).
//!
//! `cargo bench --bench dsp`. Names read as `group/case`; throughput is in audio samples, and a
//! closing table prints every case as multiples of real time (`x RT`).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use burn::prelude::Device;
use criterion::{BenchmarkId, Criterion, Throughput};
use restoregrad::dsp::resample::StreamResampler;
use restoregrad::dsp::stft::{StftAnalyzer, StftConfig, StftSynthesizer};
use restoregrad::engine::testing::IdentityDenoiser;
use restoregrad::engine::{enhance_mono_16k, Streamer, StreamerConfig};
use restoregrad::model::{Enhancer, ModelConfig, RestoreGrad};

fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            0.2 * (((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5)
        })
        .collect()
}

/// Times `f` (which processes `audio_s` seconds of audio) for about `budget` and returns the
/// multiple of real time.
fn x_real_time(audio_s: f64, budget: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let t0 = Instant::now();
    let mut n = 0u32;
    while t0.elapsed() < budget || n < 3 {
        f();
        n += 1;
    }
    audio_s * n as f64 / t0.elapsed().as_secs_f64()
}

struct Stft {
    an: StftAnalyzer,
    syn: StftSynthesizer,
    hop: Vec<f32>,
    out: Vec<f32>,
}

impl Stft {
    fn new() -> Self {
        let cfg = StftConfig::default();
        Self { an: StftAnalyzer::new(cfg), syn: StftSynthesizer::new(cfg), hop: vec![0.0; cfg.hop], out: Vec::with_capacity(32000) }
    }
    fn round_trip(&mut self, x: &[f32]) -> usize {
        self.out.clear();
        let (syn, hop, out) = (&mut self.syn, &mut self.hop, &mut self.out);
        self.an.push(x, |frame| {
            syn.push_frame(frame, hop);
            out.extend_from_slice(hop);
        });
        self.out.len()
    }
}

fn tiny_enhancer() -> Enhancer {
    let cfg = ModelConfig::new().with_channels1(4).with_channels2(8).with_channels3(8).with_hidden(16).with_prior_channels(4);
    let device = Device::flex();
    Enhancer::new(cfg.clone(), RestoreGrad::new(&cfg, &device), device, 0)
}

fn fixture() -> Vec<f32> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/noisy/p232_005.wav");
    restoregrad::audio::read_audio(p).expect("fixture").to_mono()
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let mut c = Criterion::default().configure_from_args();
    let mut rt: Vec<(String, f64)> = Vec::new();
    let budget = Duration::from_millis(400);

    // STFT analysis + synthesis, 1 s at 16 kHz.
    let x16 = noise(16000, 1);
    {
        let mut g = c.benchmark_group("stft");
        g.throughput(Throughput::Elements(x16.len() as u64));
        let mut s = Stft::new();
        g.bench_function("round_trip_1s_512_128", |b| b.iter(|| black_box(s.round_trip(black_box(&x16)))));
        g.finish();
        if bench_mode {
            let mut s = Stft::new();
            rt.push(("stft/round_trip_1s_512_128".into(), x_real_time(1.0, budget, || {
                black_box(s.round_trip(&x16));
            })));
        }
    }

    // Streaming resampling in 10 ms blocks, 1 s of audio.
    {
        let mut g = c.benchmark_group("resample");
        for (from, to) in [(48_000u32, 16_000u32), (16_000, 48_000), (44_100, 16_000)] {
            let x = noise(from as usize, 2);
            let block = from as usize / 100;
            let mut rs = StreamResampler::new(from, to, block).unwrap();
            let mut out = Vec::with_capacity(to as usize * 2);
            let mut run = move || {
                out.clear();
                for b in x.chunks(block) {
                    rs.process(b, &mut out);
                }
                out.len()
            };
            let name = format!("{}k_to_{}k_1s", from as f64 / 1000.0, to as f64 / 1000.0);
            g.throughput(Throughput::Elements(from as u64));
            g.bench_function(BenchmarkId::from_parameter(&name), |b| b.iter(|| black_box(run())));
            if bench_mode {
                rt.push((format!("resample/{name}"), x_real_time(1.0, budget, || {
                    black_box(run());
                })));
            }
        }
        g.finish();
    }

    // The streamer per hop (128 samples) with an identity denoiser: STFT + chunking + OLA cost.
    {
        let mut g = c.benchmark_group("streamer_identity");
        let cfg = StreamerConfig::default();
        let hop = cfg.stft.hop;
        for cf in [1usize, 4, 16] {
            let cfg = cfg.with_chunk_frames(cf);
            let mut den = IdentityDenoiser { n_bins: cfg.stft.n_bins() };
            let mut s = Streamer::with_borrowed(&mut den, cfg).unwrap();
            let mut out = Vec::with_capacity(s.max_output_for(hop) * 4);
            let x = noise(hop, 3);
            g.throughput(Throughput::Elements(hop as u64));
            g.bench_function(BenchmarkId::new("per_hop", format!("C{cf}")), |b| {
                b.iter(|| {
                    out.clear();
                    s.feed(black_box(&x), &mut out);
                    black_box(out.len())
                })
            });
            if bench_mode {
                rt.push((format!("streamer_identity/per_hop/C{cf}"), x_real_time(hop as f64 / 16000.0, budget, || {
                    out.clear();
                    s.feed(&x, &mut out);
                })));
            }
        }
        g.finish();
    }

    // The full file path: enhance_mono_16k over the 6.2 s fixture with a tiny random model.
    {
        let x = fixture();
        let secs = x.len() as f64 / 16000.0;
        let mut g = c.benchmark_group("file_path");
        g.sample_size(10).measurement_time(Duration::from_secs(8));
        g.throughput(Throughput::Elements(x.len() as u64));
        let mut enh = tiny_enhancer();
        for (cf, steps) in [(4usize, 2usize), (16, 2)] {
            let cfg = StreamerConfig::default().with_chunk_frames(cf).with_steps(steps);
            let name = format!("enhance_mono_16k_tiny_C{cf}_steps{steps}");
            g.bench_function(BenchmarkId::from_parameter(&name), |b| {
                b.iter(|| black_box(enhance_mono_16k(&mut enh, &cfg, black_box(&x)).unwrap().len()))
            });
            if bench_mode {
                rt.push((format!("file_path/{name}"), x_real_time(secs, Duration::from_secs(1), || {
                    black_box(enhance_mono_16k(&mut enh, &cfg, &x).unwrap());
                })));
            }
        }
        g.finish();
    }

    c.final_summary();
    if bench_mode {
        println!("\n{:<48} {:>12}", "case", "x real time");
        for (name, x) in rt {
            println!("{name:<48} {x:>12.1}");
        }
    }
}
