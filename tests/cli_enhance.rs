//! `restoregrad enhance` end to end, with a small randomly initialised model (the shipped
//! model's quality is measured by `scripts/evaluate.sh`, not here).

mod common;

use assert_cmd::Command;
use restoregrad::audio::{read_audio, write_audio, Audio, SampleFormat};
use std::path::Path;

fn tiny_model(dir: &Path) {
    common::write_tiny_model(dir);
}

fn fixture() -> Audio {
    read_audio(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/noisy/p232_005.wav")).unwrap()
}

fn cmd() -> Command {
    Command::cargo_bin("restoregrad").unwrap()
}

#[test]
fn output_matches_input_rate_channels_length_and_alignment() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    tiny_model(&model);
    // A stereo 48 kHz input made from the fixture (second channel attenuated).
    let x = fixture();
    let mono48 = restoregrad::dsp::resample::resample(&x.samples, 16_000, 48_000);
    let right: Vec<f32> = mono48.iter().map(|v| 0.5 * v).collect();
    let input = dir.path().join("in.wav");
    write_audio(&input, &Audio::from_channels(48_000, &[mono48.clone(), right]), SampleFormat::Float32).unwrap();
    // With a 0 dB attenuation limit nothing may be removed: the output is the input, aligned.
    let out = dir.path().join("out.wav");
    cmd().args(["enhance", "-q", "--atten-lim-db", "0", "--model"]).arg(&model).arg(&input).arg("-o").arg(&out).assert().success();
    let y = read_audio(&out).unwrap();
    assert_eq!((y.sample_rate, y.channels, y.frames()), (48_000, 2, mono48.len()));
    let left = y.channel(0);
    let edge = 4800;
    let err: f32 = left[edge..left.len() - edge].iter().zip(&mono48[edge..]).map(|(a, b)| (a - b).powi(2)).sum();
    let sig: f32 = mono48[edge..mono48.len() - edge].iter().map(|a| a * a).sum();
    assert!((err / sig).sqrt() < 0.05, "relative error {}", (err / sig).sqrt());
    // Enhanced output: same shape, finite, and the same seed reproduces it exactly.
    let (a, b) = (dir.path().join("a.wav"), dir.path().join("b.wav"));
    for o in [&a, &b] {
        cmd().args(["enhance", "-q", "--steps", "2", "--seed", "3", "--model"]).arg(&model).arg(&input).arg("-o").arg(o).assert().success();
    }
    let (ya, yb) = (read_audio(&a).unwrap(), read_audio(&b).unwrap());
    assert_eq!(ya.frames(), mono48.len());
    assert!(ya.samples.iter().all(|v| v.is_finite()));
    assert_eq!(ya.samples, yb.samples);
}

#[test]
fn batch_with_a_bad_file_reports_it_and_enhances_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    tiny_model(&model);
    let good = dir.path().join("good.wav");
    write_audio(&good, &fixture(), SampleFormat::Pcm16).unwrap();
    let bad = dir.path().join("bad.wav");
    std::fs::write(&bad, b"RIFF this is not audio").unwrap();
    let out = dir.path().join("out");
    cmd()
        .args(["enhance", "-q", "--model"])
        .arg(&model)
        .arg(&bad)
        .arg(&good)
        .arg("--out-dir")
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicates::str::contains("bad.wav"));
    assert!(out.join("good.wav").is_file());
    assert!(!out.join("bad.wav").exists(), "no partial output for a failed file");
}

#[test]
fn refuses_to_overwrite_the_input_and_reports_a_missing_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    tiny_model(&model);
    let input = dir.path().join("in.wav");
    write_audio(&input, &fixture(), SampleFormat::Pcm16).unwrap();
    let before = std::fs::read(&input).unwrap();
    cmd().args(["enhance", "-q", "--model"]).arg(&model).arg(&input).arg("-o").arg(&input).assert().failure();
    assert_eq!(before, std::fs::read(&input).unwrap());
    cmd()
        .args(["enhance", "-q", "--model", "/nonexistent/model"])
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("o.wav"))
        .assert()
        .failure()
        .stderr(predicates::str::contains("/nonexistent/model"));
}

#[test]
fn samples_one_and_two_give_different_outputs_and_other_counts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    tiny_model(&model);
    let input = dir.path().join("in.wav");
    write_audio(&input, &fixture(), SampleFormat::Pcm16).unwrap();
    let run = |samples: &str| {
        let out = dir.path().join(format!("s{samples}.wav"));
        cmd().args(["enhance", "-q", "--float", "--samples", samples, "--model"]).arg(&model).arg(&input).arg("-o").arg(&out).assert().success();
        restoregrad::audio::read_audio(&out).unwrap().samples
    };
    let (one, two) = (run("1"), run("2"));
    assert_eq!(one.len(), two.len());
    assert!(one.iter().zip(&two).any(|(a, b)| (a - b).abs() > 1e-4), "--samples must change the output");
    let refused = dir.path().join("s3.wav");
    cmd()
        .args(["enhance", "-q", "--samples", "3", "--model"])
        .arg(&model)
        .arg(&input)
        .arg("-o")
        .arg(&refused)
        .assert()
        .failure()
        .stderr(predicates::str::contains("expected 1 or 2"));
    assert!(!refused.exists());
}
