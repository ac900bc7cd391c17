//! `restoregrad enhance --plot`: the PNG of one file's spectrograms, gain and prior map.

use assert_cmd::Command;
use burn::prelude::Device;
use restoregrad::model::{save_model, ModelConfig, PriorMode, RestoreGrad};
use std::path::{Path, PathBuf};

fn cmd() -> Command {
    Command::cargo_bin("restoregrad").unwrap()
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/noisy.wav")
}

/// Checks the PNG signature and the IHDR size, and that it is more than a blank canvas.
fn assert_png(path: &Path, min_bytes: usize) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}: not a PNG", path.display());
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    let (w, h) = (be(16), be(20));
    assert!(w >= 800 && h >= 800, "{w}x{h}: four stacked panels expected");
    assert!(bytes.len() > min_bytes, "{}: only {} bytes", path.display(), bytes.len());
}

#[test]
fn plot_of_the_example_with_the_shipped_model_is_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let (out, png) = (dir.path().join("out.wav"), dir.path().join("out.png"));
    cmd().args(["enhance", "-q"]).arg(example()).arg("-o").arg(&out).arg("--plot").arg(&png).assert().success();
    assert!(out.is_file());
    // Four heatmaps of thousands of coloured cells compress to far more than a blank canvas.
    assert_png(&png, 100_000);
    // No temporary file is left beside it.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 2, "{left:?}");
}

#[test]
fn plot_with_a_learned_prior_runs_the_prior_net() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    let cfg = ModelConfig::new().with_channels1(4).with_channels2(8).with_channels3(8).with_hidden(16).with_prior_channels(4).with_prior(PriorMode::Learned);
    save_model(&model, &cfg, &RestoreGrad::new(&cfg, &Device::flex()), Some("test model")).unwrap();
    let (out, png) = (dir.path().join("out.wav"), dir.path().join("p.png"));
    cmd().args(["enhance", "-q", "--model"]).arg(&model).arg(example()).arg("-o").arg(&out).arg("--plot").arg(&png).assert().success();
    assert_png(&png, 50_000);
}

#[test]
fn plot_with_two_inputs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("p.png");
    let out = cmd()
        .args(["enhance", "-q"])
        .arg(example())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/noisy/p287_002.wav"))
        .arg("--out-dir")
        .arg(dir.path().join("o"))
        .arg("--plot")
        .arg(&png)
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("--plot") && err.contains("2 inputs"), "{err}");
    assert!(!png.exists() && !dir.path().join("o").exists(), "nothing may be written");
}

#[test]
fn plot_onto_the_output_or_the_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wav");
    let a = cmd().args(["enhance", "-q"]).arg(example()).arg("-o").arg(&out).arg("--plot").arg(&out).assert().failure();
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("--plot") && err.contains("out.wav"), "{err}");
    assert!(!out.exists());
    let a = cmd().args(["enhance", "-q"]).arg(example()).arg("-o").arg(&out).arg("--plot").arg(example()).assert().failure();
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("noisy.wav"), "{err}");
}

#[test]
fn plot_into_a_missing_folder_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let (out, png) = (dir.path().join("out.wav"), dir.path().join("nope/p.png"));
    let a = cmd().args(["enhance", "-q"]).arg(example()).arg("-o").arg(&out).arg("--plot").arg(&png).assert().failure();
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("p.png") && err.contains("does not exist"), "{err}");
    assert!(!out.exists(), "refused before enhancing");
}
