//! `restoregrad train --init-from` and the real-pair options: checked before any data is read, so
//! these run without ../shared.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;

fn train(args: &[&str], init_from: &Path, out: &Path) -> assert_cmd::assert::Assert {
    Command::cargo_bin("restoregrad")
        .unwrap()
        .args(["train", "-q", "--data", "no-such-data", "--steps", "1"])
        .args(args)
        .arg("--init-from")
        .arg(init_from)
        .arg("--out")
        .arg(out)
        .assert()
}

#[test]
fn init_from_a_missing_run_names_its_config() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("nothing-here");
    train(&[], &src, &dir.path().join("out"))
        .failure()
        .stderr(predicate::str::contains("nothing-here").and(predicate::str::contains("config.json")));
    assert!(!dir.path().join("out").exists(), "no run folder for a refused start");
}

/// A source run folder `dir/src` holding only the shipped model's config with `y_context` set.
fn source_run(dir: &Path, y_context: usize) -> std::path::PathBuf {
    let src = dir.join("src");
    std::fs::create_dir(&src).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default/config.json");
    let mut cfg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(shipped).unwrap()).unwrap();
    cfg["y_context"] = serde_json::json!(y_context);
    std::fs::write(src.join("config.json"), cfg.to_string()).unwrap();
    src
}

#[test]
fn init_from_keeps_the_source_architecture() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_run(dir.path(), 0);
    train(&["--compress-beta", "0.5"], &src, &dir.path().join("out"))
        .failure()
        .stderr(predicate::str::contains("--init-from keeps the source run's architecture"));
    // A config without a checkpoint beside it: refused, naming the checkpoint, before data is read.
    train(&["--mag-weight", "2"], &src, &dir.path().join("out2"))
        .failure()
        .stderr(predicate::str::contains("cannot start from this checkpoint").and(predicate::str::contains("no-such-data").not()));
}

#[test]
fn init_from_adds_y_context_only_to_a_source_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_run(dir.path(), 3);
    train(&["--y-context", "2"], &src, &dir.path().join("out"))
        .failure()
        .stderr(predicate::str::contains("already has --y-context 3"));
    // The same context is not a change: it goes on to the (missing) checkpoint.
    train(&["--y-context", "3"], &src, &dir.path().join("out2"))
        .failure()
        .stderr(predicate::str::contains("cannot start from this checkpoint"));
}

#[test]
fn init_from_adds_a_dual_path_branch_only_to_a_source_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_run(dir.path(), 0);
    let mut cfg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(src.join("config.json")).unwrap()).unwrap();
    cfg["band_hidden"] = serde_json::json!(32);
    std::fs::write(src.join("config.json"), cfg.to_string()).unwrap();
    train(&["--band-hidden", "16"], &src, &dir.path().join("out"))
        .failure()
        .stderr(predicate::str::contains("already has --band-hidden 32"));
    // A branch the source lacks is added: it goes on to the (missing) checkpoint.
    train(&["--freq-hidden", "32"], &src, &dir.path().join("out2"))
        .failure()
        .stderr(predicate::str::contains("cannot start from this checkpoint"));
}

#[test]
fn real_pair_options_are_checked_before_any_data_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_run(dir.path(), 0);
    let out = dir.path().join("out");
    train(&["--train-pairs", "3", "--validation", "test"], &src, &out)
        .failure()
        .stderr(predicate::str::contains("--train-pairs needs --validation holdout"));
    train(&["--pair-remix", "1.5"], &src, &out).failure().stderr(predicate::str::contains("--pair-remix must be in 0..=1, got 1.5"));
    train(&["--pair-fraction=-0.1"], &src, &out).failure().stderr(predicate::str::contains("--pair-fraction must be in 0..=1"));
    train(&["--pair-cross", "2"], &src, &out).failure().stderr(predicate::str::contains("--pair-cross must be in 0..=1"));
    train(&["--broadband-noise", "1.5"], &src, &out).failure().stderr(predicate::str::contains("--broadband-noise must be in 0..=1"));
    assert!(!out.exists(), "no run folder for a refused start");
}

/// `train` on the generated tiny corpus, small and fast.
fn tiny_train(data: &Path, out: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("restoregrad"));
    c.args(["train", "--batch", "2", "--segment-secs", "0.25", "--hidden", "16", "--val-per-snr", "1", "--val-every", "100000", "--train-pairs", "1", "--data"])
        .arg(data)
        .arg("--out")
        .arg(out);
    c
}

#[test]
fn resume_refuses_a_smaller_total_says_where_it_resumes_and_ctrl_c_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let (data, out) = (dir.path().join("data"), dir.path().join("run"));
    common::write_tiny_corpus(&data);
    // A long run, interrupted once it is training (its log has a step row): checkpoint, exit 130.
    let child = tiny_train(&data, &out).args(["-q", "--steps", "100000", "--ckpt-every", "100000"]).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let started = std::time::Instant::now();
    while !std::fs::read_to_string(out.join("log.csv")).unwrap_or_default().lines().any(|l| l.starts_with("25,")) {
        assert!(started.elapsed().as_secs() < 120, "training did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let done = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted: checkpoint saved at step"), "{err}");
    // Below the recorded total: refused, naming both numbers.
    let low = tiny_train(&data, &out).args(["--resume", "--steps", "10"]).output().unwrap();
    let err = String::from_utf8_lossy(&low.stderr);
    assert_eq!(low.status.code(), Some(1), "{err}");
    assert!(err.contains("--steps 10 is below the run's recorded total of 100000 steps"), "{err}");
    // Resumed without --steps: the recorded total, and a line saying where it resumes.
    let mut child = tiny_train(&data, &out).args(["--resume"]).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stderr.take().unwrap()), &mut first).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(first.starts_with(&format!("resuming {} at step ", out.display())) && first.trim_end().ends_with("of 100000"), "{first}");
}
