//! `restoregrad live` file mode (no device needed) and the no-`live`-feature errors.

use restoregrad::audio::{read_audio, write_audio, Audio, SampleFormat};
use restoregrad::dsp::stft::StftConfig;
use restoregrad::engine::testing::GainDenoiser;
use restoregrad::engine::{enhance_mono_16k, StreamerConfig};
use std::process::Command;

fn bin() -> std::path::PathBuf {
    std::env::var_os("RESTOREGRAD_TEST_BIN").map_or_else(|| env!("CARGO_BIN_EXE_restoregrad").into(), Into::into)
}

fn signal(len: usize) -> Vec<f32> {
    (0..len).map(|i| 0.3 * (i as f32 * 0.05).sin() * (i as f32 * 0.0011).sin() + 0.05 * (i as f32 * 1.7).sin()).collect()
}

#[test]
fn file_mode_matches_offline_streamer_and_keeps_length() {
    let dir = tempfile::tempdir().unwrap();
    let x = signal(16_000 * 2 + 101);
    let inp = dir.path().join("in.wav");
    let out = dir.path().join("out.wav");
    write_audio(&inp, &Audio::mono(16_000, x.clone()), SampleFormat::Float32).unwrap();
    let res = Command::new(bin())
        .args(["live", "--stand-in", "gain", "--steps", "2", "--chunk-ms", "16", "--float"])
        .arg("--input-file")
        .arg(&inp)
        .arg("--output-file")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&res.stderr);
    println!("{stderr}");
    assert!(res.status.success(), "{stderr}");
    assert!(stderr.contains("algorithmic latency: 32.0 ms"), "{stderr}");
    let y = read_audio(&out).unwrap();
    assert_eq!((y.sample_rate, y.channels), (16_000, 1));
    assert_eq!(y.samples.len(), x.len());
    let cfg = StreamerConfig::default().with_chunk_frames(2).with_steps(2);
    let reference = enhance_mono_16k(&mut GainDenoiser::new(StftConfig::default().n_bins()), &cfg, &x).unwrap();
    let d = reference.iter().zip(&y.samples).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(d < 1e-5, "max abs diff {d}");
}

#[test]
fn file_mode_stereo_44k_keeps_length() {
    let dir = tempfile::tempdir().unwrap();
    let m = signal(44_100 + 7);
    let st: Vec<f32> = m.iter().flat_map(|v| [*v, -*v * 0.5]).collect();
    let inp = dir.path().join("in.wav");
    let out = dir.path().join("out.wav");
    write_audio(&inp, &Audio { sample_rate: 44_100, channels: 2, samples: st }, SampleFormat::Pcm16).unwrap();
    let res = Command::new(bin())
        .args(["live", "--stand-in", "identity", "--realtime"])
        .arg("--input-file")
        .arg(&inp)
        .arg("--output-file")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{stderr}");
    let y = read_audio(&out).unwrap();
    assert_eq!((y.sample_rate, y.channels, y.samples.len()), (44_100, 1, m.len()));
}

#[test]
fn missing_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("in.wav");
    write_audio(&inp, &Audio::mono(16_000, signal(1600)), SampleFormat::Pcm16).unwrap();
    let res = Command::new(bin())
        .args(["live", "--model"])
        .arg(dir.path().join("no-model"))
        .arg("--input-file")
        .arg(&inp)
        .arg("--output-file")
        .arg(dir.path().join("o.wav"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success());
    assert!(stderr.contains("cannot load the model"), "{stderr}");
}

#[cfg(not(feature = "live"))]
#[test]
fn without_live_feature_devices_and_live_explain_how_to_build() {
    for args in [vec!["devices"], vec!["live"]] {
        let res = Command::new(bin()).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert!(!res.status.success());
        assert!(stderr.contains("without the `live` feature"), "{stderr}");
        assert!(stderr.contains("--features live"), "{stderr}");
    }
}

#[test]
fn live_takes_chunk_frames_like_enhance_and_bench() {
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("in.wav"), dir.path().join("out.wav"));
    write_audio(&inp, &Audio::mono(16_000, signal(16_000)), SampleFormat::Pcm16).unwrap();
    let run = |extra: &[&str]| {
        Command::new(bin()).args(["live", "--stand-in", "identity"]).args(extra).arg("--input-file").arg(&inp).arg("--output-file").arg(&out).output().unwrap()
    };
    let res = run(&["--chunk-frames", "4"]);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success() && stderr.contains("chunk of 4 frames = 48.0 ms"), "{stderr}");
    let both = run(&["--chunk-frames", "4", "--chunk-ms", "32"]);
    assert!(!both.status.success(), "--chunk-frames and --chunk-ms together must be refused");
}
