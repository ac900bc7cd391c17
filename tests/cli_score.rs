//! `restoregrad score` end to end on the committed fixtures.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn golden() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/fixtures.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn score() -> Command {
    let mut c = Command::cargo_bin("restoregrad").unwrap();
    c.arg("score");
    c
}

fn read_i16(path: &Path) -> Vec<i16> {
    hound::WavReader::open(path).unwrap().samples::<i16>().map(Result::unwrap).collect()
}

fn write_i16(path: &Path, samples: &[i16]) {
    let spec = hound::WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    samples.iter().for_each(|&s| w.write_sample(s).unwrap());
    w.finalize().unwrap();
}

#[test]
fn folders_table_and_json_match_the_reference() {
    let f = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("scores.json");
    let out = score()
        .arg("--clean")
        .arg(f.join("clean"))
        .arg("--enhanced")
        .arg(f.join("noisy"))
        .arg("--json")
        .arg(&json)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("file") && lines[0].contains("PESQ") && lines[0].contains("ESTOI"), "{table}");
    assert!(lines.iter().any(|l| l.starts_with("p232_005")), "{table}");
    assert!(lines.iter().any(|l| l.starts_with("p287_002")), "{table}");
    assert!(lines.last().unwrap().starts_with("mean (2)"), "{table}");
    // Columns line up: every numeric row has the same ESTOI column end as the header.
    let col = lines[0].find("ESTOI").unwrap() + "ESTOI".len();
    for l in lines.iter().filter(|l| l.starts_with('p') || l.starts_with("mean")) {
        assert!(l[..col].ends_with(|c: char| c.is_ascii_digit()), "misaligned: {l}");
    }

    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["count"], 2);
    assert_eq!(report["failed"].as_array().unwrap().len(), 0);
    let g = golden();
    for (i, row) in g["variants"]["noisy"]["files"].as_array().unwrap().iter().enumerate() {
        let got = &report["files"][i];
        assert_eq!(got["name"], row["name"]);
        let s = &got["scores"];
        assert_eq!(s["delay_samples"], 0);
        for (ours, theirs, tol) in
            [("pesq", "pesq_wb", 0.05), ("stoi", "stoi", 0.01), ("estoi", "estoi", 0.01), ("si_sdr", "si_sdr", 0.01)]
        {
            let (a, b) = (s[ours].as_f64().unwrap(), row[theirs].as_f64().unwrap());
            assert!((a - b).abs() <= tol, "{} {ours}: {a} vs {b}", row["name"]);
        }
    }
    let m = report["mean"]["enhanced"]["estoi"].as_f64().unwrap();
    assert!((m - g["variants"]["noisy"]["mean"]["estoi"].as_f64().unwrap()).abs() < 0.01);
}

#[test]
fn single_files_with_noisy_show_the_improvement() {
    let f = fixtures();
    score()
        .arg("--clean")
        .arg(f.join("clean/p287_002.wav"))
        .arg("--enhanced")
        .arg(f.join("clean/p287_002.wav"))
        .arg("--noisy")
        .arg(f.join("noisy/p287_002.wav"))
        .assert()
        .success()
        .stdout(predicate::str::contains("noisy mean").and(predicate::str::contains("improvement")));
}

#[test]
fn reports_a_constant_delay() {
    let f = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let mut late = vec![0i16; 320]; // 20 ms at 16 kHz
    late.extend(read_i16(&f.join("noisy/p287_002.wav")));
    let path = dir.path().join("p287_002.wav");
    write_i16(&path, &late);
    let json = dir.path().join("out.json");
    score()
        .arg("--clean")
        .arg(f.join("clean/p287_002.wav"))
        .arg("--enhanced")
        .arg(&path)
        .arg("--json")
        .arg(&json)
        .assert()
        .success()
        .stdout(predicate::str::contains("20.00"));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["files"][0]["scores"]["delay_samples"], 320);
}

#[test]
fn a_bad_file_is_named_the_others_scored_and_the_exit_is_nonzero() {
    let f = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let (clean, enh) = (dir.path().join("clean"), dir.path().join("enh"));
    std::fs::create_dir_all(&clean).unwrap();
    std::fs::create_dir_all(&enh).unwrap();
    for s in ["p232_005", "p287_002"] {
        std::fs::copy(f.join(format!("clean/{s}.wav")), clean.join(format!("{s}.wav"))).unwrap();
        std::fs::copy(f.join(format!("noisy/{s}.wav")), enh.join(format!("{s}.wav"))).unwrap();
    }
    std::fs::copy(f.join("clean/p287_002.wav"), clean.join("broken.wav")).unwrap();
    std::fs::write(enh.join("broken.wav"), b"this is not a wav file at all").unwrap();
    std::fs::copy(f.join("noisy/p287_002.wav"), enh.join("orphan.wav")).unwrap();
    let json = dir.path().join("out.json");
    let out = score()
        .arg("--quiet")
        .arg("--clean")
        .arg(&clean)
        .arg("--enhanced")
        .arg(&enh)
        .arg("--json")
        .arg(&json)
        .assert()
        .failure()
        .stdout(predicate::str::contains("p232_005").and(predicate::str::contains("mean (2)")))
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let broken: Vec<&str> = stderr.lines().filter(|l| l.contains("broken")).collect();
    assert_eq!(broken.len(), 1, "{stderr}");
    assert!(broken[0].starts_with("error"), "{stderr}");
    assert!(stderr.lines().any(|l| l.starts_with("error") && l.contains("orphan")), "{stderr}");
    assert!(stderr.contains("2 of 4"), "{stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["count"], 2);
    assert_eq!(report["failed"].as_array().unwrap().len(), 2);
    // Only the JSON itself is left in the folder: the temp file was renamed, not copied.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn mismatched_kinds_and_missing_paths_fail_cleanly() {
    let f = fixtures();
    score()
        .arg("--clean")
        .arg(f.join("clean"))
        .arg("--enhanced")
        .arg(f.join("noisy/p232_005.wav"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("all files or all folders"));
    score()
        .arg("--clean")
        .arg(f.join("nope"))
        .arg("--enhanced")
        .arg(f.join("noisy"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("nope"));
}

#[test]
fn silent_files_are_errors_not_a_perfect_pesq() {
    let f = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let clean = f.join("clean/p232_005.wav");
    let n = read_i16(&clean).len();
    let silent = dir.path().join("silent.wav");
    write_i16(&silent, &vec![0; n]);
    for (c, e) in [(&clean, &silent), (&silent, &clean)] {
        let out = score().arg("--clean").arg(c).arg("--enhanced").arg(e).assert().failure().get_output().clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&silent.display().to_string()) && stderr.contains("silent"), "{stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("4.64"));
    }
}

#[test]
fn a_delay_beyond_the_aligned_range_is_warned_about() {
    let f = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let clean = f.join("clean/p232_005.wav");
    let mut late = vec![0i16; 4_800]; // 300 ms at 16 kHz
    late.extend(read_i16(&clean));
    let path = dir.path().join("late.wav");
    write_i16(&path, &late);
    let out = score().arg("--clean").arg(&clean).arg("--enhanced").arg(&path).assert().success().get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning:") && stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(stderr.contains("late by 300 ms"), "{stderr}");
    // An aligned pair gets no warning.
    let out = score().arg("--clean").arg(&clean).arg("--enhanced").arg(f.join("noisy/p232_005.wav")).assert().success();
    assert!(!String::from_utf8_lossy(&out.get_output().stderr).contains("warning"));
}
