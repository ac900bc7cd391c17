//! Threaded engine in file mode: equals the streamer, keeps alignment and length across rates,
//! and degrades (counted) instead of failing when the denoiser is too slow.

use restoregrad::dsp::stft::StftConfig;
use restoregrad::engine::testing::{DelayedIdentity, GainDenoiser, IdentityDenoiser};
use restoregrad::engine::{enhance_mono_16k, run_file, EngineConfig, FileRunOptions, StreamerConfig};
use std::sync::Arc;
use std::time::Duration;

fn signal(len: usize, rate: f32, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..len)
        .map(|i| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let u = ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5;
            let t = i as f32 / rate;
            0.3 * (2.0 * std::f32::consts::PI * 220.0 * t).sin() * (2.0 * std::f32::consts::PI * 1.3 * t).sin()
                + 0.2 * (2.0 * std::f32::consts::PI * 1870.0 * t).sin()
                + 0.02 * u
        })
        .collect()
}

fn run(
    den: Box<dyn restoregrad::model::ChunkDenoiser>,
    cfg: EngineConfig,
    rate: u32,
    x: &[f32],
    opts: FileRunOptions,
) -> (Vec<f32>, restoregrad::engine::FileRunReport) {
    let mut out = Vec::new();
    let rep = run_file(
        den,
        cfg,
        rate,
        Arc::new(x.to_vec()),
        opts,
        |b| {
            out.extend_from_slice(b);
            Ok(())
        },
        |_| {},
    )
    .unwrap();
    (out, rep)
}

#[test]
fn file_mode_equals_streamer_at_16k() {
    let nb = StftConfig::default().n_bins();
    let x = signal(16_000 * 4 + 77, 16_000.0, 5);
    for c in [1usize, 4] {
        let scfg = StreamerConfig::default().with_chunk_frames(c).with_steps(2).with_atten_lim_db(Some(15.0));
        let reference = enhance_mono_16k(&mut GainDenoiser::new(nb), &scfg, &x).unwrap();
        let cfg = EngineConfig { streamer: scfg, ..Default::default() };
        let (y, rep) = run(Box::new(GainDenoiser::new(nb)), cfg, 16_000, &x, FileRunOptions::default());
        assert_eq!(y.len(), x.len());
        assert_eq!(rep.samples_out, x.len());
        assert_eq!(rep.latency.total_out, scfg.latency_samples());
        let d = reference.iter().zip(&y).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(d <= 1e-6, "C={c}: max abs diff {d}");
        assert_eq!(rep.stats.streamer.degraded_chunks + rep.stats.streamer.bypassed_chunks, 0);
        println!(
            "C={c}: file mode (fast) RTF {:.4} (worker busy {:.3} s for {:.2} s audio), wall {:.3} s",
            rep.stats.rtf,
            rep.stats.busy_s,
            rep.stats.audio_s,
            rep.wall.as_secs_f64()
        );
    }
}

#[test]
fn staggered_denoiser_keeps_length_alignment_and_measured_latency() {
    let nb = StftConfig::default().n_bins();
    let scfg = StreamerConfig::default().with_chunk_frames(2).with_steps(3).with_stagger(true);
    for rate in [16_000u32, 48_000] {
        let x = signal(rate as usize * 2 + 31, rate as f32, 9);
        let cfg = EngineConfig { streamer: scfg, ..Default::default() };
        let (y, rep) = run(Box::new(DelayedIdentity::new(nb)), cfg, rate, &x, FileRunOptions::default());
        assert_eq!(y.len(), x.len());
        if rate == 16_000 {
            assert_eq!(rep.latency.total_out, scfg.latency_samples());
        }
        // The same engine without staggering (the delay is all the difference): same output.
        let plain = EngineConfig { streamer: scfg.with_stagger(false), ..Default::default() };
        let (y0, rep0) = run(Box::new(DelayedIdentity::new(nb)), plain, rate, &x, FileRunOptions::default());
        assert_eq!(rep.latency.total_out, rep0.latency.total_out + (2 * 2 * 128) * rate as usize / 16_000);
        let d = y.iter().zip(&y0).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(d <= 1e-5, "{rate} Hz: staggered vs plain max abs diff {d}");
        assert!(y.iter().any(|v| v.abs() > 0.1));
    }
    // The bench's chirp probe through the threaded engine finds the reported latency.
    let probe = restoregrad::bench::measure_engine_latency(Box::new(DelayedIdentity::new(nb)), &scfg, 16_000).unwrap();
    println!("staggered S=3 C=2: algorithmic {:.1} ms, measured {:.1} ms", probe.algorithmic_ms, probe.measured_ms);
    assert_eq!(probe.algorithmic_ms, scfg.latency_samples() as f64 / 16.0);
    assert!((probe.measured_ms - probe.algorithmic_ms).abs() < 0.1, "{probe:?}");
}

#[test]
fn file_mode_is_aligned_at_other_rates() {
    let nb = StftConfig::default().n_bins();
    for rate in [48_000u32, 44_100, 8_000] {
        let x = signal(rate as usize * 2 + 13, rate as f32, 9);
        let cfg = EngineConfig::default();
        let (y, rep) = run(Box::new(IdentityDenoiser { n_bins: nb }), cfg, rate, &x, FileRunOptions::default());
        assert_eq!(y.len(), x.len(), "rate {rate}");
        // Away from the edges the identity engine reproduces the (band-limited) input in place.
        let m = rate as usize / 10;
        let best = (-3i64..=3)
            .map(|lag| {
                let e: f32 = (m..x.len() - m).map(|i| (x[i] - y[(i as i64 + lag) as usize]).powi(2)).sum();
                (lag, e)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        let p: f32 = x[m..x.len() - m].iter().map(|v| v * v).sum();
        let snr = 10.0 * (p / best.1).log10();
        println!(
            "rate {rate}: latency {} samples ({:.2} ms, +{:.1} ms block buffering), best lag {}, SNR {snr:.1} dB",
            rep.latency.total_out,
            rep.latency.total_ms(),
            rep.latency.buffering_ms(),
            best.0
        );
        assert_eq!(best.0, 0, "rate {rate}: misaligned");
        assert!(snr > 25.0, "rate {rate}: SNR {snr}");
    }
}

#[test]
fn slow_denoiser_degrades_and_completes() {
    let nb = StftConfig::default().n_bins();
    let x = signal(16_000 * 3, 16_000.0, 1);
    // C = 4 -> a chunk is 32 ms of audio; a full 4-step call takes 20 + 4*10 = 60 ms (RTF ~1.9),
    // a 2-step call 40 ms: the worker cannot keep up without bypassing some chunks.
    let scfg = StreamerConfig::default().with_steps(4);
    let cfg = EngineConfig { streamer: scfg, ..Default::default() };
    let den = GainDenoiser::slow(nb, Duration::from_millis(20), Duration::from_millis(10));
    let opts = FileRunOptions { realtime: true, ..Default::default() };
    let (y, rep) = run(Box::new(den), cfg, 16_000, &x, opts);
    let s = rep.stats.streamer;
    println!(
        "slow denoiser: wall {:.2} s for {:.2} s audio, chunks {}, degraded {}, bypassed {}, RTF {:.2}",
        rep.wall.as_secs_f64(),
        x.len() as f64 / 16_000.0,
        s.chunks,
        s.degraded_chunks,
        s.bypassed_chunks,
        rep.stats.rtf
    );
    assert_eq!(y.len(), x.len());
    assert!(y.iter().all(|v| v.is_finite()));
    assert!(s.degraded_chunks + s.bypassed_chunks > 0);
    assert!(s.bypassed_chunks > 0);
    assert!(s.chunks > s.bypassed_chunks, "some chunks must still be denoised");
    // Real-time pace with degradation: finishes in about the audio's duration, not 1.9x.
    assert!(rep.wall.as_secs_f64() < 3.0 * 1.5, "wall {:?}", rep.wall);
    // Still aligned: bypassed chunks are the dry input, in place.
    let corr: f32 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
    assert!(corr > 0.0);
}

#[test]
fn fast_denoiser_in_realtime_mode_never_degrades() {
    let nb = StftConfig::default().n_bins();
    let x = signal(16_000, 16_000.0, 2);
    let cfg = EngineConfig::default();
    let opts = FileRunOptions { realtime: true, ..Default::default() };
    let (y, rep) = run(Box::new(GainDenoiser::new(nb)), cfg, 16_000, &x, opts);
    assert_eq!(y.len(), x.len());
    assert_eq!(rep.stats.streamer.degraded_chunks + rep.stats.streamer.bypassed_chunks, 0);
    let reference = enhance_mono_16k(&mut GainDenoiser::new(nb), &cfg.streamer, &x).unwrap();
    let d = reference.iter().zip(&y).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(d <= 1e-6, "max abs diff {d}");
}
