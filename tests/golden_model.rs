//! Golden test of what users hear: the shipped model's output on a committed fixture, through
//! the library's `Pipeline` and through `restoregrad enhance`, against a committed golden file.
//!
//! A refactor that changes the output fails here. When the output changes on purpose (a new
//! shipped model, a sampler change), regenerate the golden file and say why in the commit:
//! `RESTOREGRAD_BLESS=1 cargo test --release --test golden_model`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use restoregrad::audio::{read_audio, write_audio, Audio, SampleFormat};
use restoregrad::model::ModelConfig;
use restoregrad::{Model, PipelineBuilder};

/// The noisy fixture (a real VoiceBank-DEMAND train pair, see tests/fixtures/ATTRIBUTION.md).
const FIXTURE: &str = "tests/fixtures/noisy/p287_002.wav";
/// The golden output: the shipped model, default pipeline settings, seed 0, 32-bit float.
const GOLDEN: &str = "tests/golden/shipped_p287_002.wav";
/// Largest allowed difference per sample: float summation order may differ between CPUs'
/// SIMD widths, nothing more (a model or sampler change moves samples by 1e-3 and more).
const TOLERANCE: f32 = 2e-4;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn golden_or_bless(output: &Audio) -> Audio {
    let path = root().join(GOLDEN);
    if std::env::var_os("RESTOREGRAD_BLESS").is_some() {
        write_audio(&path, output, SampleFormat::Float32).unwrap();
    }
    read_audio(&path).unwrap_or_else(|e| panic!("{e}; bless it with RESTOREGRAD_BLESS=1"))
}

#[test]
fn shipped_model_output_matches_the_golden_file() {
    let noisy = read_audio(root().join(FIXTURE)).unwrap();
    let model = Model::shipped().unwrap();
    let mut pipeline = PipelineBuilder::new(noisy.sample_rate, noisy.channels).build(&model).unwrap();
    let enhanced = Audio { samples: pipeline.enhance(&noisy.samples), ..noisy.clone() };
    let golden = golden_or_bless(&enhanced);
    assert_eq!((golden.sample_rate, golden.channels), (noisy.sample_rate, noisy.channels));
    let diff = max_diff(&enhanced.samples, &golden.samples);
    assert!(diff <= TOLERANCE, "the shipped model's output moved by {diff} (see this file's docs)");
    // The output is not the input: the golden file holds a denoised signal.
    assert!(max_diff(&enhanced.samples, &noisy.samples) > 0.01);
}

#[test]
fn enhance_command_gives_the_golden_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wav");
    Command::cargo_bin("restoregrad")
        .unwrap()
        .current_dir(root())
        .args(["-q", "enhance", FIXTURE, "--chunk-frames", "2", "--float", "-o"])
        .arg(&out)
        .assert()
        .success();
    let golden = read_audio(root().join(GOLDEN)).unwrap();
    let diff = max_diff(&read_audio(Path::new(&out)).unwrap().samples, &golden.samples);
    assert!(diff <= TOLERANCE, "enhance differs from the library pipeline by {diff}");
}

#[test]
fn model_config_defaults_are_the_shipped_recipe() {
    assert_eq!(ModelConfig::new(), Model::shipped().unwrap().config);
}
