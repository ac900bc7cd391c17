//! Helpers shared by the integration tests (`mod common;` in each file that needs them).
#![allow(dead_code)]

use restoregrad::model::config::ModelConfig;
use restoregrad::model::PriorMode;

/// A model small enough to build and run in milliseconds (64-point STFT, 32 bins), with two
/// frames of y context so that the streaming tests carry its history too. Noise prediction and
/// plain losses at the original data scale: a fresh clean-prediction model is the identity,
/// which would make "the model changes the signal" checks vacuous.
pub fn tiny_cfg(prior: PriorMode) -> ModelConfig {
    ModelConfig::new()
        .with_predict(restoregrad::model::Prediction::Noise)
        .with_compress_beta(0.15)
        .with_gamma(30.0)
        .with_speech_weight(0.0)
        .with_mag_weight(0.0)
        .with_under_weight(1.0)
        .with_estoi_weight(0.0)
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

/// Writes a tiny training data folder shaped like ../shared/data (manifest.csv, three train
/// speakers, six train noises, one real pair; 16 kHz mono WAVs of generated signals), so that
/// training and validation run without the shared data. Returns nothing; `dir` is the folder.
pub fn write_tiny_corpus(dir: &std::path::Path) {
    use restoregrad::audio::{write_audio, Audio, SampleFormat};
    let mut rows = vec!["path,kind,split,seconds,sha256".to_string()];
    let mut put = |rel: String, kind: &str, samples: Vec<f32>| {
        let path = dir.join(&rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let secs = samples.len() as f64 / 16_000.0;
        write_audio(&path, &Audio::mono(16_000, samples), SampleFormat::Pcm16).unwrap();
        rows.push(format!("{rel},{kind},train,{secs},-"));
    };
    let tone = |f: f32, len: usize| (0..len).map(|i| 0.3 * (i as f32 * f).sin() * (i as f32 * 0.001).sin().abs()).collect::<Vec<f32>>();
    for spk in 0..3 {
        for utt in 0..2 {
            put(format!("speech/train/S{spk}/u{utt}.wav"), "speech", tone(0.05 + 0.02 * (spk * 2 + utt) as f32, 24_000));
        }
    }
    for n in 0..6 {
        put(format!("noise/train/n{n}.wav"), "noise", noise_signal(20_000, n as u64 + 1));
    }
    put("vbdemand/clean/p287_001.wav".into(), "clean", tone(0.07, 20_000));
    put("vbdemand/noisy/p287_001.wav".into(), "noisy", tone(0.07, 20_000).iter().zip(noise_signal(20_000, 9)).map(|(s, n)| s + 0.3 * n).collect());
    std::fs::write(dir.join("manifest.csv"), rows.join("\n") + "\n").unwrap();
}

/// Writes a model folder with the shipped STFT geometry but tiny, randomly initialised layers
/// (noise prediction, so its output is not the identity): what CLI tests load with `--model`.
pub fn write_tiny_model(dir: &std::path::Path) {
    let cfg = tiny_cfg(PriorMode::Learned).with_n_fft(512).with_hop(128).with_n_freq(256).with_y_context(0);
    let model = restoregrad::model::RestoreGrad::new(&cfg, &burn::prelude::Device::flex());
    restoregrad::model::save_model(dir, &cfg, &model, Some("test model")).unwrap();
}

/// Training options for the tiny corpus: batch 2 of 0.25 s, checkpoints every step, validation
/// never (it stays inside the warm-up, whose rate does not depend on the run's total).
pub fn tiny_train_options(data: &std::path::Path, steps: u64) -> restoregrad::train::TrainOptions {
    restoregrad::train::TrainOptions {
        data: data.to_path_buf(),
        steps,
        seed: 5,
        batch: 2,
        segment_secs: 0.25,
        lr: 1e-3,
        // The whole test stays inside the warm-up, whose learning rate does not depend on the
        // run's total: the first leg (2 steps) and the full run (4) see the same rates.
        warmup: 200,
        clip: 3.0,
        ema_decay: 0.999,
        val_every: 1000,
        ckpt_every: 1,
        val_sampling_steps: 1,
        val_per_snr: 1,
        fast_fraction: 0.5,
        fast_pool: 3,
        // Exercises the per-item prior draws in the resumed batches too.
        prior_draw_fraction: 0.5,
        init_from: None,
        posterior_start: restoregrad::train::PosteriorStart::Prior,
        validation: restoregrad::train::data::Validation::Holdout,
        train_pairs: 1,
        without_extra: false,
        pair_fraction: 0.3,
        pair_remix: 0.5,
        pair_level: false,
        pair_cross: 0.0,
        broadband_noise: 0.0,
        snr_max_db: 15.0,
    }
}
