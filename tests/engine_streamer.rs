//! Streaming core: latency (impulse), streaming == offline, post-filter, attenuation limit, bypass,
//! flush.

mod common;

use common::noise_signal;
use restoregrad::dsp::stft::StftConfig;
use restoregrad::engine::testing::{DelayedIdentity, GainDenoiser, IdentityDenoiser};
use restoregrad::engine::{enhance_mono_16k, Degrade, Streamer, StreamerConfig};
use restoregrad::model::ChunkDenoiser;

/// Pseudo-random block sizes in 1..=max.
fn blocks(total: usize, seed: u64, max: usize) -> Vec<usize> {
    let mut s = seed;
    let mut v = Vec::new();
    let mut left = total;
    while left > 0 {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let b = ((s >> 33) as usize % max + 1).min(left);
        v.push(b);
        left -= b;
    }
    v
}

fn xcorr_peak(x: &[f32], y: &[f32], max_lag: usize) -> usize {
    (0..max_lag)
        .max_by(|&a, &b| {
            let c = |lag: usize| x.iter().zip(&y[lag.min(y.len())..]).map(|(p, q)| p * q).sum::<f32>();
            c(a).total_cmp(&c(b))
        })
        .unwrap()
}

#[test]
fn impulse_latency_matches_latency_samples() {
    let stft = StftConfig::default();
    for c in [1usize, 2, 3, 4, 8] {
        let cfg = StreamerConfig::default().with_chunk_frames(c);
        let mut s = Streamer::new(Box::new(IdentityDenoiser { n_bins: stft.n_bins() }), cfg).unwrap();
        let mut x = vec![0.0f32; 8000];
        let pos = 1234;
        x[pos] = 1.0;
        let mut y = Vec::new();
        for chunk in x.chunks(97) {
            s.feed(chunk, &mut y);
        }
        let lag = xcorr_peak(&x, &y, 4000);
        let lat = s.latency_samples();
        println!("C={c}: latency_samples={lat} ({:.1} ms), impulse peak lag={lag}", lat as f32 / 16.0);
        assert_eq!(lat, stft.latency() + (c - 1) * stft.hop);
        assert_eq!(lag, lat, "C={c}");
        // Identity denoiser: the output is the input delayed, exactly (up to float error).
        assert!((y[pos + lat] - 1.0).abs() < 1e-4);
        let e: f32 = y.iter().enumerate().filter(|(i, _)| *i != pos + lat).map(|(_, v)| v.abs()).fold(0.0, f32::max);
        assert!(e < 1e-4, "residual {e}");
        // Constant-delay stream: output never lags the input by more than a hop.
        assert!(y.len() + stft.hop > x.len(), "{} vs {}", y.len(), x.len());
    }
}

#[test]
fn impulse_latency_with_staggering_includes_the_delayed_chunks() {
    // A staggered denoiser returns each chunk S-1 calls later; the streamer must report that and
    // the impulse must come out exactly that late, including the start of a second stream.
    let stft = StftConfig::default();
    for (c, s) in [(1usize, 2usize), (2, 2), (2, 3), (4, 3), (3, 6)] {
        let cfg = StreamerConfig::default().with_chunk_frames(c).with_steps(s).with_stagger(true);
        let mut st = Streamer::new(Box::new(DelayedIdentity::new(stft.n_bins())), cfg).unwrap();
        let lat = st.latency_samples();
        assert_eq!(lat, stft.latency() + (c - 1) * stft.hop + (s - 1) * c * stft.hop);
        assert_eq!(lat, cfg.latency_samples());
        for _stream in 0..2 {
            let mut x = vec![0.0f32; 8000];
            let pos = 1234;
            x[pos] = 1.0;
            let mut y = Vec::new();
            for chunk in x.chunks(97) {
                st.feed(chunk, &mut y);
            }
            let lag = xcorr_peak(&x, &y, 4000);
            println!("C={c} S={s} staggered: latency_samples={lat} ({:.1} ms), impulse peak lag={lag}", lat as f32 / 16.0);
            assert_eq!(lag, lat, "C={c} S={s}");
            assert!((y[pos + lat] - 1.0).abs() < 1e-4);
            let e: f32 = y.iter().enumerate().filter(|(i, _)| *i != pos + lat).map(|(_, v)| v.abs()).fold(0.0, f32::max);
            assert!(e < 1e-4, "residual {e}");
            // flush emits the delayed tail: exactly fed + latency samples in all.
            st.flush(&mut y);
            assert_eq!(y.len(), x.len() + lat);
        }
    }
    // Staggering off gives the undelayed figure with the same denoiser.
    let cfg = StreamerConfig::default().with_chunk_frames(2).with_steps(3);
    let st = Streamer::new(Box::new(DelayedIdentity::new(stft.n_bins())), cfg).unwrap();
    assert_eq!(st.latency_samples(), stft.latency() + stft.hop);
}

#[test]
fn staggered_bypass_and_attenuation_use_the_delayed_frames() {
    // Output frames are mixed with, or replaced by, the noisy frames of the chunk they belong
    // to, not of the chunk just fed; switching bypass mid-stream keeps the delay constant.
    let stft = StftConfig::default();
    let x = noise_signal(16_000, 4);
    let cfg = StreamerConfig::default().with_chunk_frames(2).with_steps(3).with_stagger(true).with_atten_lim_db(Some(6.0));
    let mut st = Streamer::new(Box::new(DelayedIdentity::new(stft.n_bins())), cfg).unwrap();
    let lat = st.latency_samples();
    let mut y = Vec::new();
    let third = x.len() / 3;
    st.feed(&x[..third], &mut y);
    st.set_degrade(Degrade::Bypass);
    st.feed(&x[third..2 * third], &mut y);
    st.set_degrade(Degrade::None);
    st.feed(&x[2 * third..], &mut y);
    assert!(st.stats().bypassed_chunks > 0);
    st.flush(&mut y);
    assert_eq!(y.len(), x.len() + lat);
    // Identity output mixed with its own dry frames, or dry frames alone: the input, delayed.
    let d = x.iter().zip(&y[lat..]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(d < 1e-4, "max abs diff {d}");
    // Steps above the construction-time count are clamped (the delay cannot grow).
    st.set_steps(6);
    assert_eq!(st.config().steps, 3);
    assert_eq!(st.latency_samples(), lat);
}

#[test]
fn identity_offline_reproduces_input() {
    let stft = StftConfig::default();
    let x = noise_signal(10_001, 3);
    let mut d = IdentityDenoiser { n_bins: stft.n_bins() };
    let y = enhance_mono_16k(&mut d, &StreamerConfig::default(), &x).unwrap();
    assert_eq!(y.len(), x.len());
    let err = x.iter().zip(&y).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(err < 1e-5, "max err {err}");
}

#[test]
fn streaming_random_blocks_equals_offline() {
    let stft = StftConfig::default();
    let x = noise_signal(16_000 * 3 + 333, 7);
    for (c, steps) in [(1usize, 1usize), (4, 3), (5, 2)] {
        let cfg = StreamerConfig::default().with_chunk_frames(c).with_steps(steps).with_atten_lim_db(Some(9.0));
        let mut d = GainDenoiser::new(stft.n_bins());
        let offline = enhance_mono_16k(&mut d, &cfg, &x).unwrap();
        assert_eq!(offline.len(), x.len());
        for seed in [1u64, 2, 3] {
            let mut s = Streamer::new(Box::new(GainDenoiser::new(stft.n_bins())), cfg).unwrap();
            let lat = s.latency_samples();
            let mut y = Vec::new();
            let mut pos = 0;
            for b in blocks(x.len(), seed, 700) {
                s.feed(&x[pos..pos + b], &mut y);
                pos += b;
            }
            s.flush(&mut y);
            assert_eq!(y.len(), x.len() + lat);
            let d = offline.iter().zip(&y[lat..]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(d <= 1e-4, "C={c} seed={seed}: max abs diff {d}");
            // The stream is reusable after flush and gives the same answer again.
            let mut y2 = Vec::new();
            s.feed(&x, &mut y2);
            s.flush(&mut y2);
            assert_eq!(y, y2);
        }
        // The gain denoiser actually changed the signal.
        let diff = x.iter().zip(&offline).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(diff > 1e-3);
    }
}

#[test]
fn feed_does_not_grow_a_reserved_vec() {
    let stft = StftConfig::default();
    let mut s = Streamer::new(Box::new(GainDenoiser::new(stft.n_bins())), StreamerConfig::default()).unwrap();
    let x = noise_signal(4000, 1);
    let mut out = Vec::with_capacity(s.max_output_for(160));
    let cap = out.capacity();
    for b in x.chunks(160) {
        out.clear();
        s.feed(b, &mut out);
        assert_eq!(out.capacity(), cap);
    }
}

#[test]
fn attenuation_limit_and_bypass() {
    let stft = StftConfig::default();
    let x = noise_signal(8000, 11);
    /// Removes everything: the attenuation limit alone decides the output.
    struct Zero(usize);
    impl ChunkDenoiser for Zero {
        fn n_bins(&self) -> usize {
            self.0
        }
        fn process(&mut self, _n: &[restoregrad::dsp::Complex32], _s: usize, out: &mut [restoregrad::dsp::Complex32]) {
            out.iter_mut().for_each(|v| *v = Default::default());
        }
        fn reset(&mut self) {}
    }
    let mut z = Zero(stft.n_bins());
    let y = enhance_mono_16k(&mut z, &StreamerConfig::default().with_atten_lim_db(Some(20.0)), &x).unwrap();
    for (a, b) in x.iter().zip(&y) {
        assert!((a * 0.1 - b).abs() < 1e-5);
    }
    let y = enhance_mono_16k(&mut z, &StreamerConfig::default().with_bypass(true), &x).unwrap();
    for (a, b) in x.iter().zip(&y) {
        assert!((a - b).abs() < 1e-5);
    }
    // Degradation bypass is dry too and is counted.
    // Three steps, so that degrading to one step is a real reduction.
    let mut s = Streamer::new(Box::new(Zero(stft.n_bins())), StreamerConfig::default().with_steps(3)).unwrap();
    s.set_degrade(Degrade::Bypass);
    let mut out = Vec::new();
    s.feed(&x, &mut out);
    assert!(s.stats().bypassed_chunks > 0);
    assert_eq!(s.stats().bypassed_chunks, s.stats().chunks);
    let lat = s.latency_samples();
    for (a, b) in x.iter().zip(&out[lat..]) {
        assert!((a - b).abs() < 1e-5);
    }
    s.set_degrade(Degrade::Steps(1));
    s.feed(&x, &mut out);
    assert!(s.stats().degraded_chunks > 0);
}

/// Scales every bin by one gain: the post-filter's G is then that gain in every bin.
struct ConstGain(usize, f32);
impl ChunkDenoiser for ConstGain {
    fn n_bins(&self) -> usize {
        self.0
    }
    fn process(&mut self, noisy: &[restoregrad::dsp::Complex32], _s: usize, out: &mut [restoregrad::dsp::Complex32]) {
        out.iter_mut().zip(noisy).for_each(|(o, n)| *o = *n * self.1);
    }
    fn reset(&mut self) {}
}

/// The largest |y - k·x|.
fn max_dev(x: &[f32], y: &[f32], k: f32) -> f32 {
    x.iter().zip(y).map(|(a, b)| (a * k - b).abs()).fold(0.0, f32::max)
}

#[test]
fn post_filter_scales_attenuated_bins_by_gain_to_the_p() {
    let stft = StftConfig::default();
    let x = noise_signal(8000, 5);
    let off = StreamerConfig::default().with_post_filter(0.0);
    // A gain of 0.5 with p = 1 becomes 0.5 * 0.5^1, with p = 2 0.5 * 0.5^2; off, it stays 0.5.
    for (p, k) in [(0.0, 0.5), (1.0, 0.25), (2.0, 0.125)] {
        let y = enhance_mono_16k(&mut ConstGain(stft.n_bins(), 0.5), &off.with_post_filter(p), &x).unwrap();
        assert!(max_dev(&x, &y, k) < 1e-5, "p={p}: {}", max_dev(&x, &y, k));
    }
    // Bins the model made louder are left alone.
    let y = enhance_mono_16k(&mut ConstGain(stft.n_bins(), 1.5), &off.with_post_filter(2.0), &x).unwrap();
    assert!(max_dev(&x, &y, 1.5) < 1e-5);
    // The attenuation limit still bounds the total removal: 0.5^3 = -18 dB, limited to -12 dB.
    let g = 10f32.powf(-12.0 / 20.0);
    let cfg = off.with_post_filter(2.0).with_atten_lim_db(Some(12.0));
    let y = enhance_mono_16k(&mut ConstGain(stft.n_bins(), 0.5), &cfg, &x).unwrap();
    assert!(max_dev(&x, &y, 0.125 * (1.0 - g) + g) < 1e-5);
    // Out-of-range exponents are refused.
    for p in [-0.1, StreamerConfig::MAX_POST_FILTER + 0.1, f32::NAN] {
        assert!(off.with_post_filter(p).validate().is_err(), "p={p}");
    }
}

#[test]
fn rejects_bad_settings() {
    let mut d = IdentityDenoiser { n_bins: 100 };
    assert!(enhance_mono_16k(&mut d, &StreamerConfig::default(), &[0.0; 10]).is_err());
    let mut d = IdentityDenoiser { n_bins: 257 };
    assert!(enhance_mono_16k(&mut d, &StreamerConfig::default().with_steps(0), &[0.0; 10]).is_err());
    assert!(enhance_mono_16k(&mut d, &StreamerConfig::default().with_chunk_frames(0), &[0.0; 10]).is_err());
    assert!(enhance_mono_16k(&mut d, &StreamerConfig::default(), &[]).unwrap().is_empty());
}
