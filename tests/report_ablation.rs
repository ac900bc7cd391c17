//! `restoregrad plot-ablation` on tiny synthetic logs, and `restoregrad eval` on the committed
//! fixtures with the shipped model.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    Command::cargo_bin("restoregrad").unwrap()
}

const HEADER: &str = "step,elapsed_s,steps_per_s,lr,loss,l_dm,l_lr,l_pm,l_clean,val_sisdr_mix,val_estoi_mix,val_sisdr_vb,val_estoi_vb";

/// A log.csv as the trainer writes it: noisy row, training rows every 25 steps, validation
/// rows every 100 steps with SI-SDR `sisdr(step)`.
fn log(sisdr: impl Fn(u64) -> f64) -> String {
    let mut s = format!("{HEADER}\nnoisy,0,,,,,,,,7.500,0.6000,10.000,0.8200\n");
    for step in (25..=300).step_by(25) {
        s += &format!("{step},{:.1},1.9,0.0005,0.5,0.01,0,0,0.001,,,,\n", step as f64 * 0.5);
        if step % 100 == 0 {
            let v = sisdr(step);
            s += &format!("{step},{:.1},,,,,,,,{v:.3},{:.4},{:.3},{:.4}\n", step as f64 * 0.5, 0.5 + v / 100.0, v + 2.0, 0.7 + v / 100.0);
        }
    }
    s
}

const STEPS_CSV: &str = "set,system,steps,items,si_sdr,estoi,stoi,pesq_wb,pesq_items
mix,noisy,0,16,7.5,0.6,0.8,1.5,16
mix,restoregrad,1,16,6.0,0.58,0.79,1.6,16
mix,restoregrad,2,16,5.5,0.57,0.78,1.62,16
mix,restoregrad,3,16,5.0,0.56,0.77,,0
mix,restoregrad,6,16,4.5,0.55,0.76,1.7,16
";

fn png_size(p: &Path) -> (u32, u32) {
    let b = std::fs::read(p).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", p.display());
    let be = |i: usize| u32::from_be_bytes(b[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn plot_ablation_copies_logs_draws_pngs_and_tables() {
    let dir = tempfile::tempdir().unwrap();
    let (runs, out) = (dir.path().join("runs"), dir.path().join("out"));
    for (name, f) in [("standard", 0.0), ("learned", 2.0)] {
        std::fs::create_dir_all(runs.join(name)).unwrap();
        std::fs::write(runs.join(name).join("log.csv"), log(|s| s as f64 / 100.0 * f - 1.0)).unwrap();
        std::fs::write(runs.join(name).join("train.json"), r#"{"val_sampling_steps": 2}"#).unwrap();
    }
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("learned_steps.csv"), STEPS_CSV).unwrap();
    bin()
        .args(["plot-ablation", "--names", "standard,energy,learned", "--sisdr-levels", "0,noisy-3", "--estoi-levels", "0.5"])
        .arg("--runs")
        .arg(&runs)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains("energy"));
    assert_eq!(std::fs::read_to_string(out.join("learned_log.csv")).unwrap(), log(|s| s as f64 / 50.0 - 1.0));
    assert!(out.join("standard_train.json").is_file() && !out.join("standard_config.json").exists());
    // Two sets x (full range, second half).
    assert_eq!(png_size(&out.join("val_sisdr.png")), (1520, 960));
    assert_eq!(png_size(&out.join("val_estoi.png")), (1520, 960));
    // One set (mix) x three metrics.
    assert_eq!(png_size(&out.join("steps_quality.png")), (1800, 440));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    // learned: -1 + 2·step/100 -> 1, 3, 5 dB at steps 100, 200, 300; standard stays at -1.
    assert!(md.contains("| learned | 300 | 5.00 | 0.550 | 7.00 | 0.750 | 5.00 (300) |"), "{md}");
    assert!(md.contains("| standard | 300 | -1.00 |"), "{md}");
    assert!(md.contains("SI-SDR mix ≥ 4.50 (noisy-3)"), "{md}");
    assert!(md.contains("| learned | 100 | 300 | 100 |"), "{md}");
    assert!(md.contains("| standard | – | – | – |"), "{md}");
    assert!(md.contains("| learned | best | 3 | 5.00 | 0.560 | 0.770 | – |"), "{md}");
    assert!(md.contains("| noisy input | | | 7.50 | 0.600 | 0.800 | 1.50 |"), "{md}");
    assert!(md.contains("| 300 | -1.00 | 5.00 | 0.490 | 0.550 |"), "{md}");

    // Without --runs the copies in --out are read; no steps CSV -> no steps plot.
    let out2 = dir.path().join("out2");
    std::fs::create_dir_all(&out2).unwrap();
    std::fs::copy(out.join("standard_log.csv"), out2.join("standard_log.csv")).unwrap();
    bin().args(["plot-ablation", "-q", "--names", "standard"]).arg("--out").arg(&out2).assert().success();
    assert!(out2.join("val_sisdr.png").is_file() && !out2.join("steps_quality.png").exists());
}

#[test]
fn plot_ablation_fails_on_logs_without_validation_or_bad_numbers() {
    let dir = tempfile::tempdir().unwrap();
    for (rows, error) in [
        ("25,13.7,1.8,0.0001,11.4,0.16,0,0,0.11,,,,", "no run logs with validation rows"),
        ("100,1,,,,,,,,abc,0.5,1,0.5", "bad number"),
    ] {
        std::fs::write(dir.path().join("standard_log.csv"), format!("{HEADER}\n{rows}\n")).unwrap();
        bin()
            .args(["plot-ablation", "--names", "standard"])
            .arg("--out")
            .arg(dir.path())
            .assert()
            .failure()
            .stderr(predicate::str::contains(error));
    }
}

#[test]
fn eval_on_fixtures_writes_baseline_and_step_rows() {
    let dir = tempfile::tempdir().unwrap();
    let f = root().join("tests/fixtures");
    let run = |csv: &Path| {
        bin()
            .args(["eval", "-q", "--steps", "1,2"])
            .arg("--model")
            .arg(root().join("models/default"))
            .arg("--clean")
            .arg(f.join("clean"))
            .arg("--noisy")
            .arg(f.join("noisy"))
            .arg("--out")
            .arg(csv)
            .assert()
            .success()
            .stdout(predicate::str::contains("restoregrad"));
        std::fs::read_to_string(csv).unwrap()
    };
    let text = run(&dir.path().join("a.csv"));
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(lines[0].join(","), "set,system,steps,items,si_sdr,estoi,stoi,pesq_wb,pesq_items");
    assert_eq!(lines.len(), 5, "{text}");
    assert_eq!(&lines[1][..4], ["files", "noisy", "0", "2"]);
    assert_eq!(&lines[2][..4], ["files", "rnnoise", "0", "2"]);
    assert_eq!(&lines[3][..4], ["files", "restoregrad", "1", "2"]);
    assert_eq!(&lines[4][..4], ["files", "restoregrad", "2", "2"]);
    // The noisy row agrees with the reference packages (tests/golden/fixtures.json).
    let g: Value = serde_json::from_str(&std::fs::read_to_string(root().join("tests/golden/fixtures.json")).unwrap()).unwrap();
    let m = &g["variants"]["noisy"]["mean"];
    let num = |s: &str| s.parse::<f64>().unwrap();
    assert!((num(lines[1][4]) - m["si_sdr"].as_f64().unwrap()).abs() < 0.01, "{text}");
    assert!((num(lines[1][5]) - m["estoi"].as_f64().unwrap()).abs() < 0.01, "{text}");
    assert!((num(lines[1][7]) - m["pesq_wb"].as_f64().unwrap()).abs() < 0.02, "{text}");
    // RNNoise and the model rows: scored, and each changes the input.
    for l in &lines[2..] {
        assert!(l[4..8].iter().all(|v| num(v).is_finite()) && l[8] == "2", "{text}");
        assert!(num(l[4]) != num(lines[1][4]), "{} changed nothing: {text}", l[1]);
    }
    // Seeded: the same command gives the same file.
    assert_eq!(run(&dir.path().join("b.csv")), text);
}

#[test]
fn eval_rejects_bad_steps_and_mixed_sources() {
    bin().args(["eval", "--data", "x", "--steps", "0,7"]).assert().failure().stderr(predicate::str::contains("1 to 6"));
    bin().args(["eval", "--data", "x", "--clean", "a", "--noisy", "b"]).assert().failure();
    bin().args(["eval", "--steps", "1"]).assert().failure();
}
