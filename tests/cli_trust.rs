//! The command line refuses what it cannot do in words: size flags out of range, an empty
//! `RESTOREGRAD_MODEL`, a closed stderr; and its diagnostics are plain text in a pipe.

mod common;

use assert_cmd::Command;
use std::path::Path;

fn cmd() -> Command {
    Command::cargo_bin("restoregrad").unwrap()
}

/// A short mono 16 kHz PCM16 WAV of the shared test signal.
fn write_audio(path: &Path, frames: usize) {
    let spec = hound::WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for v in common::noise_signal(frames, 1) {
        w.write_sample((v * 20_000.0) as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// Runs `args`, expecting clap to refuse them (exit 2) with a message containing `words`.
fn refused(args: &[&str], words: &str) {
    let out = cmd().args(args).assert().code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(words), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
}

#[test]
fn size_and_step_flags_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.wav");
    write_audio(&input, 1_600);
    let (i, o) = (input.to_str().unwrap(), dir.path().join("out.wav"));
    let o = o.to_str().unwrap();
    for frames in ["18446744073709551615", "100000", "513", "0"] {
        refused(&["enhance", i, "-o", o, "--chunk-frames", frames], "--chunk-frames");
    }
    let live = ["live", "--input-file", i, "--output-file", o, "--stand-in", "identity"];
    for (flag, value) in [("--chunk-ms", "1e9"), ("--chunk-ms", "inf"), ("--chunk-ms", "NaN"), ("--chunk-ms", "0"), ("--steps", "7"), ("--steps", "0"), ("--duration", "-1"), ("--atten-lim-db", "-5")] {
        refused(&[&live[..], &[flag, value]].concat(), flag);
    }
    assert!(!Path::new(o).exists(), "a refused run must not write");
}

#[test]
fn an_empty_model_variable_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.wav");
    write_audio(&input, 1_600);
    let out = cmd()
        .env("RESTOREGRAD_MODEL", "")
        .args(["enhance", "-q"])
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("out.wav"))
        .assert()
        .failure()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("RESTOREGRAD_MODEL") && stderr.contains("empty"), "{stderr}");
    assert!(!stderr.contains(": : "), "{stderr}");
}

#[test]
fn a_closed_stderr_is_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wav");
    let runs: [&[&str]; 2] = [
        &["score", "--clean", "no-such-clean.wav", "--enhanced", "no-such-enhanced.wav"],
        &["enhance", "no-such-input.wav", "-o", out.to_str().unwrap()],
    ];
    for args in runs {
        // The reader end is closed before the program starts, so every write to stderr fails.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let status = std::process::Command::new(assert_cmd::cargo::cargo_bin("restoregrad"))
            .args(args)
            .stderr(writer)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(1), "{args:?}: {status}");
    }
}

#[test]
fn diagnostics_in_a_pipe_have_no_colour_codes_and_no_decoder_chatter() {
    let dir = tempfile::tempdir().unwrap();
    // A WAV cut short warns through the log; an untagged MP3 makes the decoder library log
    // "estimating duration" at info level.
    let cut = dir.path().join("cut.wav");
    write_audio(&cut, 16_000);
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 1_001]).unwrap();
    let mp3 = dir.path().join("silence.mp3");
    let mut frame = vec![0u8; 417];
    frame[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
    std::fs::write(&mp3, frame.repeat(40)).unwrap();
    let out = cmd().args(["score", "-v", "--clean"]).arg(&cut).arg("--enhanced").arg(&mp3).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ends before the length in its header"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "colour codes in a pipe: {stderr:?}");
    assert!(!stderr.contains("estimating duration"), "decoder info lines: {stderr}");
}

#[test]
fn a_failed_file_is_named_once_with_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.flac");
    std::fs::write(&junk, b"junk").unwrap();
    let missing = dir.path().join("missing.wav");
    for (input, cause) in [(&junk, "not an audio file"), (&missing, "No such file or directory")] {
        let out = cmd().args(["enhance", "-o"]).arg(dir.path().join("out.wav")).arg(input).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or_default();
        let name = input.display().to_string();
        assert!(first.starts_with(&format!("error: {name}: ")), "{stderr}");
        assert_eq!(first.matches(&name).count(), 1, "path said twice: {first}");
        assert_eq!(first.matches(cause).count(), 1, "cause missing or said twice: {first}");
        // The decoder library's own log lines stay out of the user's way.
        assert!(!stderr.contains("symphonia"), "{stderr}");
    }
}
