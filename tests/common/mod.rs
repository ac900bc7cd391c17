//! Helpers shared by the integration tests (`mod common;` in each file that needs them).
#![allow(dead_code)]

use restoregrad::model::config::ModelConfig;
use restoregrad::model::PriorMode;

/// A model small enough to build and run in milliseconds (64-point STFT, 32 bins), with two
/// frames of y context so that the streaming tests carry its history too.
pub fn tiny_cfg(prior: PriorMode) -> ModelConfig {
    ModelConfig::new()
        .with_n_fft(64)
        .with_hop(16)
        .with_n_freq(32)
        .with_channels1(4)
        .with_channels2(8)
        .with_channels3(8)
        .with_hidden(16)
        .with_prior_channels(4)
        .with_prior(prior)
        .with_y_context(2)
}

/// A deterministic test signal: a slowly modulated tone plus seeded white noise.
pub fn noise_signal(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|i| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let u = ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5;
            0.3 * (i as f32 * 0.031).sin() * (i as f32 * 0.0007).sin() + 0.1 * u
        })
        .collect()
}
