//! `restoregrad eval` says when its real-pair validation set holds pairs the model trained on.

mod common;

use assert_cmd::Command;

fn eval(model: &std::path::Path, data: &std::path::Path, train_pairs: &str) -> String {
    let out = Command::cargo_bin("restoregrad")
        .unwrap()
        .args(["eval", "--sets", "vb", "--steps", "1", "--samples", "1", "--train-pairs", train_pairs, "--model"])
        .arg(model)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn eval_warns_when_the_validation_pairs_were_trained_on() {
    let dir = tempfile::tempdir().unwrap();
    let (model, data) = (dir.path().join("model"), dir.path().join("data"));
    common::write_tiny_corpus(&data);
    common::write_tiny_model(&model);
    std::fs::write(model.join("train.json"), r#"{"validation": "holdout", "train_pairs": 1}"#).unwrap();
    let warned = eval(&model, &data, "0");
    assert!(warned.contains("trained on the first 1 real p287 pairs") && warned.contains("--train-pairs 1"), "{warned}");
    assert!(!eval(&model, &data, "1").contains("warning: the model trained"));
}
