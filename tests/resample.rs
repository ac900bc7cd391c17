//! Resampler quality, alignment and streaming/offline equivalence.

use restoregrad::dsp::resample::{resample, resampled_len, StreamResampler};

/// Sum of sines below 6 kHz with a slow envelope, band-limited for every rate used here.
fn test_signal(rate: u32, len: usize) -> Vec<f32> {
    let freqs = [110.0, 317.0, 853.0, 1_499.0, 2_711.0, 4_003.0, 5_521.0];
    (0..len)
        .map(|n| {
            let t = n as f64 / rate as f64;
            let env = 0.6 + 0.4 * (2.0 * std::f64::consts::PI * 1.3 * t).sin();
            let s: f64 = freqs
                .iter()
                .enumerate()
                .map(|(k, f)| (2.0 * std::f64::consts::PI * f * t + k as f64).sin())
                .sum();
            (env * s / freqs.len() as f64 * 0.9) as f32
        })
        .collect()
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

/// Lag (in samples, `y` relative to `x`) of the cross-correlation peak within `±max_lag`.
fn xcorr_peak(x: &[f32], y: &[f32], max_lag: i64) -> i64 {
    let n = x.len().min(y.len()) as i64;
    let mut best = (f64::MIN, 0);
    for lag in -max_lag..=max_lag {
        let mut acc = 0.0f64;
        for i in 0..n {
            let j = i + lag;
            if (0..n).contains(&j) {
                acc += x[i as usize] as f64 * y[j as usize] as f64;
            }
        }
        if acc > best.0 {
            best = (acc, lag);
        }
    }
    best.1
}

/// Deterministic block sizes in 1..=max.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, max: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        1 + ((self.0 >> 33) as usize % max)
    }
}

#[test]
fn round_trip_44k1_16k_44k1_is_aligned_and_accurate() {
    let x = test_signal(44_100, 44_100 * 2);
    let down = resample(&x, 44_100, 16_000);
    assert_eq!(down.len(), 32_000);
    let back = resample(&down, 16_000, 44_100);
    assert_eq!(back.len(), x.len());

    // Exclude ~50 ms at each edge (start-up and end transients of the filters).
    let edge = 2_205;
    let (xs, ys) = (&x[edge..x.len() - edge], &back[edge..back.len() - edge]);
    assert_eq!(
        xcorr_peak(xs, ys, 20),
        0,
        "cross-correlation peak must be at lag 0"
    );
    let err: Vec<f32> = xs.iter().zip(ys).map(|(a, b)| a - b).collect();
    let rel = rms(&err) / rms(xs);
    println!("44.1k->16k->44.1k round trip: error RMS / signal RMS = {rel:.3e}");
    // Required: < 1% of RMS. Measured about 4.5e-7, so guard against regressions much tighter.
    assert!(
        rel < 1e-4,
        "round-trip error {rel:.3e} (required < 1e-2, measured ~4.5e-7 when written)"
    );

    // The downsampled signal is aligned too: compare with the same sines generated at 16 kHz.
    let direct = test_signal(16_000, 32_000);
    let e = 800;
    let err: Vec<f32> = direct[e..32_000 - e]
        .iter()
        .zip(&down[e..32_000 - e])
        .map(|(a, b)| a - b)
        .collect();
    let rel_down = rms(&err) / rms(&direct[e..32_000 - e]);
    println!("44.1k->16k against the signal synthesised at 16 kHz: {rel_down:.3e}");
    assert!(rel_down < 0.01, "downsampled error {rel_down:.3e}");
}

#[test]
fn streaming_in_random_blocks_matches_offline() {
    for &(from, to) in &[
        (44_100u32, 16_000u32),
        (16_000, 48_000),
        (48_000, 16_000),
        (16_000, 44_100),
    ] {
        let x = test_signal(from, from as usize * 3 / 2 + 37);
        let offline = resample(&x, from, to);

        let max_block = 700;
        let mut rs = StreamResampler::new(from, to, max_block).unwrap();
        let delay = rs.delay_out();
        println!(
            "{from} -> {to}: block {} -> {}, delay_out {delay} samples",
            rs.block_in(),
            rs.block_out()
        );
        let mut out =
            Vec::with_capacity(offline.len() + delay + rs.max_flush_len() + rs.output_capacity());
        let cap = out.capacity();
        let mut lcg = Lcg(from as u64 * 31 + to as u64);
        let mut pos = 0;
        while pos < x.len() {
            let n = lcg.next(max_block).min(x.len() - pos);
            let before = out.len();
            rs.process(&x[pos..pos + n], &mut out);
            assert!(out.len() - before <= rs.max_output_len(n));
            pos += n;
        }
        rs.flush(&mut out);
        assert_eq!(
            out.capacity(),
            cap,
            "streaming must not reallocate a buffer with room"
        );
        assert!(out.len() >= delay + offline.len());
        let stream = &out[delay..delay + offline.len()];
        let max_diff = stream
            .iter()
            .zip(&offline)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            max_diff <= 1e-4,
            "{from}->{to}: streaming differs from offline by {max_diff}"
        );

        // After flush the resampler is reset: a second pass gives the same output.
        let mut again = Vec::new();
        rs.process(&x, &mut again);
        rs.flush(&mut again);
        assert_eq!(again, out);
    }
}

#[test]
fn lengths_48k_16k() {
    for len in [0usize, 1, 2, 3, 100, 47_999, 48_000, 48_001, 96_017] {
        let y = resample(&vec![0.1; len], 48_000, 16_000);
        assert_eq!(
            y.len(),
            (len as f64 / 3.0).round() as usize,
            "48k->16k len {len}"
        );
        assert_eq!(y.len(), resampled_len(len, 48_000, 16_000));
    }
    for len in [0usize, 1, 5, 16_000, 16_001, 31_999] {
        let y = resample(&vec![0.1; len], 16_000, 48_000);
        assert_eq!(y.len(), len * 3, "16k->48k len {len}");
    }
    assert_eq!(resample(&vec![0.0; 44_100], 44_100, 16_000).len(), 16_000);
    assert_eq!(resample(&vec![0.0; 16_000], 16_000, 44_100).len(), 44_100);
}

#[test]
fn impulse_is_not_shifted() {
    // An impulse at an instant that exists on both grids lands on the matching output sample.
    for &(from, to) in &[
        (48_000u32, 16_000u32),
        (16_000, 48_000),
        (44_100, 16_000),
        (16_000, 44_100),
    ] {
        let g = {
            let (mut a, mut b) = (from, to);
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a
        };
        let step_in = (from / g) as usize;
        let k = 40;
        let mut x = vec![0.0f32; step_in * 2 * k];
        x[step_in * k] = 1.0;
        let y = resample(&x, from, to);
        let peak = y
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.partial_cmp(b.1).unwrap())
            .unwrap()
            .0;
        assert_eq!(peak, (to / g) as usize * k, "{from}->{to}");
    }
}

#[test]
fn dc_gain_is_unity() {
    let x = vec![0.5f32; 48_000];
    let y = resample(&x, 48_000, 16_000);
    for &v in &y[500..y.len() - 500] {
        assert!((v - 0.5).abs() < 1e-3, "{v}");
    }
}

mod no_alloc {
    use super::*;
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static ALLOCS: Cell<usize> = const { Cell::new(0) };
    }

    /// Counts allocations made by the current thread.
    struct Counting;

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    fn allocs() -> usize {
        ALLOCS.with(|c| c.get())
    }

    #[test]
    fn process_and_flush_do_not_allocate() {
        // The counter works.
        let a0 = allocs();
        drop(std::hint::black_box(Vec::<u8>::with_capacity(8)));
        assert!(allocs() > a0);

        for &(from, to) in &[(48_000u32, 16_000u32), (16_000, 44_100), (44_100, 16_000)] {
            let x = test_signal(from, 20_000);
            let max_block = 480;
            let mut rs = StreamResampler::new(from, to, max_block).unwrap();
            let mut out = Vec::with_capacity(rs.output_capacity().max(rs.max_flush_len()));
            let mut lcg = Lcg(7);
            let before = allocs();
            let mut pos = 0;
            while pos < x.len() {
                let n = lcg.next(max_block).min(x.len() - pos);
                out.clear();
                rs.process(&x[pos..pos + n], &mut out);
                pos += n;
            }
            out.clear();
            rs.flush(&mut out);
            rs.reset();
            assert_eq!(
                allocs() - before,
                0,
                "{from}->{to}: the streaming path allocated"
            );
        }
    }
}
