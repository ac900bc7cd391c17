//! `enhance` never loses or clobbers a file and leaves nothing behind: colliding outputs,
//! special files, signals, failed runs; and it takes folders, pipes and `--jobs`, with a
//! summary line, `-q` and `--json`. Inputs are generated here; a tiny random model keeps it fast.

mod common;

use assert_cmd::Command;
use burn::prelude::Device;
use restoregrad::audio::{read_audio, write_audio, Audio, SampleFormat};
use restoregrad::model::{save_model, ModelConfig, RestoreGrad};
use std::path::{Path, PathBuf};

fn tiny_model(dir: &Path) -> PathBuf {
    let cfg = ModelConfig::new().with_channels1(4).with_channels2(8).with_channels3(8).with_hidden(16).with_prior_channels(4);
    let path = dir.join("model");
    save_model(&path, &cfg, &RestoreGrad::new(&cfg, &Device::flex()), Some("test model")).unwrap();
    path
}

/// A mono 16 kHz WAV of `secs` seconds of the shared test signal.
fn wav(path: &Path, secs: f32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let x = common::noise_signal((secs * 16_000.0) as usize, 7);
    write_audio(path, &Audio::mono(16_000, x), SampleFormat::Pcm16).unwrap();
}

/// `enhance -q --model M` plus `args`.
fn enhance(model: &Path, args: &[&str]) -> Command {
    let mut c = Command::cargo_bin("restoregrad").unwrap();
    c.args(["enhance", "--steps", "1", "--samples", "1", "--model"]).arg(model).args(args);
    c
}

fn stderr_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// Files (recursively) under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            out.extend(tree(&p).into_iter().map(|c| format!("{name}/{c}")));
        } else {
            out.push(name);
        }
    }
    out.sort();
    out
}

#[test]
fn colliding_outputs_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = tiny_model(d);
    wav(&d.join("a/x.wav"), 0.5);
    wav(&d.join("b/x.wav"), 0.5);
    std::fs::copy(d.join("a/x.wav"), d.join("x.flac")).unwrap();
    for inputs in [["a/x.wav", "b/x.wav"], ["x.flac", "a/x.wav"], ["a/x.wav", "a/../a/x.wav"]] {
        let a = enhance(&model, &inputs).args(["--out-dir", "out/new"]).current_dir(d).assert().failure();
        let err = stderr_of(&a);
        assert!(err.contains("would both be written to out/new/x.wav") && err.contains("nothing was enhanced"), "{err}");
        assert!(!d.join("out").exists(), "{inputs:?}: a refused run created its folder");
    }
    // One input's output would overwrite another input.
    let a = enhance(&model, &["b/x.wav", "a/x.wav"]).args(["--out-dir", "a"]).current_dir(d).assert().failure();
    assert!(stderr_of(&a).contains("is an input (a/x.wav)"), "{}", stderr_of(&a));
}

#[test]
fn outputs_are_wav_or_flac_files_devices_or_pipes_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = tiny_model(d);
    let input = d.join("in.wav");
    wav(&input, 0.5);
    for (out, words) in [("x.mp3", "name the output .wav or .flac (got .mp3)"), ("noext", "(got no extension)"), (".", "is a folder")] {
        let a = enhance(&model, &["-o", out]).arg(&input).current_dir(d).assert().failure();
        assert!(stderr_of(&a).contains(words), "{out}: {}", stderr_of(&a));
    }
    // The format follows the extension: FLAC holds the same 16-bit samples as the WAV.
    enhance(&model, &["-q", "-o", "x.wav"]).arg(&input).current_dir(d).assert().success();
    enhance(&model, &["-q", "-o", "x.FLAC"]).arg(&input).current_dir(d).assert().success();
    assert_eq!(&std::fs::read(d.join("x.FLAC")).unwrap()[..4], b"fLaC");
    assert_eq!(read_audio(d.join("x.FLAC")).unwrap(), read_audio(d.join("x.wav")).unwrap());
    let a = enhance(&model, &["--float", "-o", "f.flac"]).arg(&input).current_dir(d).assert().failure();
    assert!(stderr_of(&a).contains("f.flac: FLAC holds integer samples only"), "{}", stderr_of(&a));
    assert!(!d.join("f.flac").exists());
    // A character device is written in place, never replaced by a file.
    enhance(&model, &["-q", "-o", "/dev/null"]).arg(&input).assert().success();
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    // A named pipe gets a WAV stream; a symlink is written through and stays a link.
    let fifo = d.join("fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = { let f = fifo.clone(); std::thread::spawn(move || std::fs::read(f).unwrap()) };
    enhance(&model, &["-q", "-o"]).arg(&fifo).arg(&input).assert().success();
    let bytes = reader.join().unwrap();
    let piped = hound::WavReader::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(piped.duration(), 8000);
    // /dev/stdout is a link to a pipe here: written through it.
    let a = enhance(&model, &["-q", "-o", "/dev/stdout"]).arg(&input).assert().success();
    assert_eq!(hound::WavReader::new(std::io::Cursor::new(a.get_output().stdout.clone())).unwrap().duration(), 8000);
    let (target, link) = (d.join("target.wav"), d.join("link.wav"));
    std::fs::write(&target, b"old").unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    enhance(&model, &["-q", "-o"]).arg(&link).arg(&input).assert().success();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(read_audio(&target).unwrap().frames(), 8000);
}

#[test]
fn stdin_to_stdout_is_a_wav_stream_of_the_input_length() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let input = dir.path().join("in.wav");
    wav(&input, 0.7);
    let a = enhance(&model, &["-q", "-", "-o", "-"]).write_stdin(std::fs::read(&input).unwrap()).assert().success();
    let out = hound::WavReader::new(std::io::Cursor::new(a.get_output().stdout.clone())).unwrap();
    assert_eq!((out.spec().sample_rate, out.spec().channels, out.duration()), (16_000, 1, 11_200));
    // Garbage on stdin is named as stdin, not as a temp file.
    let a = enhance(&model, &["-", "-o", "-"]).write_stdin(b"not audio at all".to_vec()).assert().failure();
    let err = stderr_of(&a);
    assert!(err.contains("error: -: ") && !err.contains(".tmp"), "{err}");
    let a = enhance(&model, &["--json", "-o", "-"]).arg(&input).assert().failure();
    assert!(stderr_of(&a).contains("both write to stdout"));
    let a = enhance(&model, &["-", "--out-dir"]).arg(dir.path()).assert().failure();
    assert!(stderr_of(&a).contains("use -o FILE or -o -"));
}

#[test]
fn folders_are_recursed_and_mirrored_and_jobs_do_not_change_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = tiny_model(d);
    for name in ["in/a.wav", "in/sub/b.WAV", "in/sub/deeper/c.wav", "in/d.wav"] {
        wav(&d.join(name), 0.4);
    }
    std::fs::write(d.join("in/notes.txt"), "not audio").unwrap();
    let out1 = d.join("out1");
    enhance(&model, &["-q", "--jobs", "1", "--out-dir"]).arg(&out1).arg(d.join("in")).assert().success();
    assert_eq!(tree(&out1), ["a.wav", "d.wav", "sub/b.wav", "sub/deeper/c.wav"]);
    let out2 = d.join("out2");
    enhance(&model, &["-q", "--jobs", "3", "--out-dir"]).arg(&out2).arg(d.join("in")).assert().success();
    for f in tree(&out1) {
        assert_eq!(std::fs::read(out1.join(&f)).unwrap(), std::fs::read(out2.join(&f)).unwrap(), "{f}");
    }
    std::fs::create_dir(d.join("empty")).unwrap();
    let a = enhance(&model, &["--out-dir"]).arg(&out1).arg(d.join("empty")).assert().failure();
    assert!(stderr_of(&a).contains("no audio files (wav, flac, mp3, ogg)"));
    let a = enhance(&model, &["-o"]).arg(d.join("x.wav")).arg(d.join("in")).assert().failure();
    assert!(stderr_of(&a).contains("not a folder; use --out-dir"));
}

#[test]
fn summary_line_quiet_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = tiny_model(d);
    wav(&d.join("a.wav"), 1.0);
    let a = enhance(&model, &["--out-dir"]).arg(d.join("o")).arg(d.join("a.wav")).assert().success();
    let err = stderr_of(&a);
    assert!(err.contains("enhanced 1 file, 1.0 s of audio in ") && err.contains("x real time"), "{err}");
    let a = enhance(&model, &["-q", "--out-dir"]).arg(d.join("o")).arg(d.join("a.wav")).assert().success();
    assert_eq!(stderr_of(&a), "");
    std::fs::write(d.join("bad.wav"), b"RIFF....WAVEjunk").unwrap();
    let a = enhance(&model, &["-q", "--json", "--out-dir"]).arg(d.join("o")).arg(d.join("a.wav")).arg(d.join("bad.wav")).assert().failure();
    let v: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    let files = v["files"].as_array().unwrap();
    assert_eq!((files[0]["status"].as_str(), files[0]["seconds"].as_f64()), (Some("ok"), Some(1.0)));
    assert_eq!(files[1]["status"], "error");
    assert!(files[1]["error"].as_str().unwrap().contains("bad.wav"), "{v}");
    assert_eq!((v["ok"].as_u64(), v["failed"].as_u64()), (Some(1), Some(1)));
}

#[test]
fn a_failed_run_removes_the_folders_it_created() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = tiny_model(d);
    std::fs::write(d.join("bad.wav"), b"not a wav").unwrap();
    std::fs::create_dir(d.join("keep")).unwrap();
    enhance(&model, &["-q", "--out-dir"]).arg(d.join("keep/a/b")).arg(d.join("bad.wav")).assert().failure();
    assert!(d.join("keep").is_dir() && !d.join("keep/a").exists());
}

/// Starts `enhance` of a long file, waits for its temp output, sends `signal`, and checks that
/// it exits 130 leaving neither a temp file, an output, nor the folders it created.
fn interrupted_leaves_nothing(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = d.join("long.wav");
    wav(&input, 120.0);
    let out_dir = d.join("new/out");
    // The shipped model: slow enough that the run is still going when the signal comes.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("restoregrad"))
        .args(["enhance", "-q", "--jobs", "1", "--out-dir"])
        .arg(&out_dir)
        .arg(&input)
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !(out_dir.is_dir() && tree(&out_dir).iter().any(|f| f.ends_with(".tmp"))) {
        assert!(started.elapsed().as_secs() < 60, "no temp file appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(std::process::Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{signal}");
    assert!(!d.join("new").exists(), "{signal}: left {:?}", tree(d));
}

#[test]
fn sigint_and_sigterm_remove_temp_files_and_created_folders() {
    interrupted_leaves_nothing("-INT");
    interrupted_leaves_nothing("-TERM");
}
