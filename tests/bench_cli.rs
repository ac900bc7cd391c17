//! `restoregrad bench --quick` end to end with a small randomly initialised model: the JSON has
//! restoregrad and RNNoise rows with positive real-time factors, the Markdown table and the plot
//! are written, and the table is printed.

mod common;

use assert_cmd::Command;
use serde_json::Value;

#[test]
fn quick_bench_writes_json_markdown_and_plot_with_rnnoise_beside_restoregrad() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    common::write_tiny_model(&model);
    let out = dir.path().join("results");
    let assert = Command::cargo_bin("restoregrad")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["bench", "--quick", "--plot", "--steps", "1,2", "--max-audio-s", "2", "--model"])
        .arg(&model)
        .arg("--out-dir")
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(stdout.contains("| restoregrad |") && stdout.contains("| rnnoise |"), "table not printed:\n{stdout}");
    assert!(stdout.contains("machine:"), "machine not printed:\n{stdout}");

    let json: Value = serde_json::from_str(&std::fs::read_to_string(out.join("bench.json")).unwrap()).unwrap();
    let rows = json["rows"].as_array().unwrap();
    let of = |sys: &str| rows.iter().filter(|r| r["system"] == sys).collect::<Vec<_>>();
    let (rg, rn) = (of("restoregrad"), of("rnnoise"));
    assert_eq!(rg.len(), 2, "one row per step count");
    assert_eq!(rn.len(), 1);
    assert_eq!(of("noisy").len(), 1);
    for r in rg.iter().chain(&rn) {
        let rtf = r["rtf"].as_f64().unwrap();
        assert!(rtf > 0.0 && rtf.is_finite(), "rtf {rtf}");
        assert!(r["headroom"].as_f64().unwrap() > 0.0);
        assert!(r["chunk_times"]["p99_ms"].as_f64().unwrap() > 0.0);
        assert!(r["si_sdr_db"].as_f64().unwrap().is_finite());
        assert!(r["estoi"].as_f64().unwrap().is_finite());
        assert!(r["algorithmic_latency_ms"].as_f64().unwrap() > 0.0);
        assert!(r["measured_latency_ms"].as_f64().is_some());
    }
    for r in &rg {
        assert!(r["rtf_vs_rnnoise"].as_f64().unwrap() > 0.0);
        // C = 4 with the 512/128 STFT: 48 ms at 16 kHz.
        assert!((r["algorithmic_latency_ms"].as_f64().unwrap() - 48.0).abs() < 1e-6);
    }
    assert!(json["machine"]["logical_cores"].as_u64().unwrap() >= 1);
    let md = std::fs::read_to_string(out.join("bench.md")).unwrap();
    assert!(md.contains("| rnnoise |") && md.contains("RTF ×RNNoise"));
    let png = std::fs::read(out.join("bench.png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
}
