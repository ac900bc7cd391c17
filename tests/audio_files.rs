//! Audio file reading and writing: formats, fixtures, every bad input, atomic writes.

use restoregrad::audio::{
    ensure_distinct, read_audio, read_audio_with_report, write_audio, Audio, AudioError, AudioReader,
    SampleFormat, AudioWriter,
};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A deterministic test tone in [-0.9, 0.9].
fn tone(frames: usize, channels: usize, rate: u32) -> Vec<f32> {
    (0..frames * channels)
        .map(|i| {
            let (n, c) = (i / channels, i % channels);
            let t = n as f32 / rate as f32;
            0.9 * (2.0 * std::f32::consts::PI * (440.0 + 110.0 * c as f32) * t).sin()
        })
        .collect()
}

/// A WAV file built by hand: `fmt ` chunk with the given tag, then `data`.
fn wav_bytes(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
    let block_align = channels * bits.div_ceil(8);
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&tag.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * block_align as u32).to_le_bytes());
    fmt.extend_from_slice(&block_align.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    if tag != 1 {
        fmt.extend_from_slice(&0u16.to_le_bytes()); // cbSize
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&((4 + 8 + fmt.len() + 8 + data.len()) as u32).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    out.extend_from_slice(&fmt);
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    out
}

fn f64_wav(channels: u16, rate: u32, samples: &[f64]) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|v| v.to_le_bytes()).collect();
    wav_bytes(3, channels, rate, 64, &data)
}

fn f32_wav(channels: u16, rate: u32, samples: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|v| v.to_le_bytes()).collect();
    wav_bytes(3, channels, rate, 32, &data)
}

/// Asserts that the error's message names `path`, and returns the message.
fn names_file(err: &AudioError, path: &Path) -> String {
    let msg = err.to_string();
    println!("error message: {msg}");
    assert!(
        msg.contains(&path.display().to_string()),
        "message does not name {}: {msg}",
        path.display()
    );
    assert_eq!(err.path(), path);
    msg
}

/// Writes integer PCM with hound and checks `read_audio` returns `value / 2^(bits-1)` exactly.
fn int_round_trip(bits: u16) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("int{bits}.wav"));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let max = (1i64 << (bits - 1)) - 1;
    let values: Vec<i32> = (0..1000i64)
        .map(|i| ((i * 7919 % (2 * max + 1)) - max) as i32)
        .chain([max as i32, -(max as i32) - 1])
        .collect();
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for &v in &values {
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
    let a = read_audio(&path).unwrap();
    assert_eq!(
        (a.sample_rate, a.channels, a.frames()),
        (16_000, 1, values.len())
    );
    let scale = (1u64 << (bits - 1)) as f64;
    for (&v, &s) in values.iter().zip(&a.samples) {
        assert_eq!(s, (v as f64 / scale) as f32, "{bits}-bit sample {v}");
    }
    assert!(a.samples.iter().all(|s| (-1.0..=1.0).contains(s)));
}

#[test]
fn wav_int_8_16_24_32_bit_read_exactly() {
    for bits in [8, 16, 24, 32] {
        int_round_trip(bits);
    }
}

#[test]
fn flac_output_round_trips_through_the_reader_like_pcm16_wav() {
    // Stereo, not a whole number of 4096-frame FLAC blocks, with a clipped and a NaN sample.
    let dir = tempfile::tempdir().unwrap();
    let mut x = tone(10_001, 2, 44_100);
    x[7] = 1.7;
    x[8] = f32::NAN;
    let audio = Audio { sample_rate: 44_100, channels: 2, samples: x };
    let (wav, flac) = (dir.path().join("a.wav"), dir.path().join("a.flac"));
    write_audio(&wav, &audio, SampleFormat::Pcm16).unwrap();
    let rep = write_audio(&flac, &audio, SampleFormat::Pcm16).unwrap();
    assert_eq!((rep.frames, rep.clipped, rep.nonfinite_replaced), (10_001, 1, 1));
    assert_eq!(&std::fs::read(&flac).unwrap()[..4], b"fLaC");
    let back = read_audio(&flac).unwrap();
    assert_eq!((back.sample_rate, back.channels, back.frames()), (44_100, 2, 10_001));
    assert_eq!(back, read_audio(&wav).unwrap());
    // Float samples do not fit FLAC: refused, and nothing is left behind.
    let err = AudioWriter::create(dir.path().join("f.flac"), 16_000, 1, SampleFormat::Float32).unwrap_err();
    assert!(err.to_string().contains("f.flac: ") && err.to_string().contains("integer samples only"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn wav_pcm16_and_float32_round_trip_through_writer() {
    let dir = tempfile::tempdir().unwrap();
    let x = tone(4_000, 1, 16_000);
    let audio = Audio::mono(16_000, x.clone());

    let p16 = dir.path().join("pcm16.wav");
    let rep = write_audio(&p16, &audio, SampleFormat::Pcm16).unwrap();
    assert_eq!(
        (rep.frames, rep.clipped, rep.nonfinite_replaced),
        (4_000, 0, 0)
    );
    let spec = hound::WavReader::open(&p16).unwrap().spec();
    assert_eq!(
        (spec.bits_per_sample, spec.sample_format),
        (16, hound::SampleFormat::Int)
    );
    let back = read_audio(&p16).unwrap();
    assert_eq!(
        (back.sample_rate, back.channels, back.frames()),
        (16_000, 1, 4_000)
    );
    let max_err = x
        .iter()
        .zip(&back.samples)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(max_err <= 0.5 / 32768.0 + 1e-7, "PCM16 error {max_err}");

    let pf = dir.path().join("float.wav");
    write_audio(&pf, &audio, SampleFormat::Float32).unwrap();
    let spec = hound::WavReader::open(&pf).unwrap().spec();
    assert_eq!(
        (spec.bits_per_sample, spec.sample_format),
        (32, hound::SampleFormat::Float)
    );
    assert_eq!(
        read_audio(&pf).unwrap(),
        audio,
        "float32 must round-trip bit-exactly"
    );
}

#[test]
fn pcm16_writer_clamps_and_counts_clipping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.wav");
    let mut w = AudioWriter::create(&path, 16_000, 1, SampleFormat::Pcm16).unwrap();
    w.write(&[0.5, 1.5, -2.0, 1.0, -1.0, f32::NAN]).unwrap();
    assert_eq!(w.clipped(), 2);
    let rep = w.finish().unwrap();
    assert_eq!((rep.clipped, rep.nonfinite_replaced, rep.frames), (2, 1, 6));
    let a = read_audio(&path).unwrap();
    assert_eq!(
        a.samples,
        vec![0.5, 32767.0 / 32768.0, -1.0, 32767.0 / 32768.0, -1.0, 0.0]
    );
}

#[test]
fn wav_float64_written_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f64.wav");
    let x: Vec<f64> = (0..3_000)
        .map(|i| ((i as f64) * 0.01).sin() * 0.75)
        .collect();
    std::fs::write(&path, f64_wav(2, 22_050, &x)).unwrap();
    let a = read_audio(&path).unwrap();
    assert_eq!((a.sample_rate, a.channels, a.frames()), (22_050, 2, 1_500));
    for (&v, &s) in x.iter().zip(&a.samples) {
        assert_eq!(s, v as f32);
    }
}

#[test]
fn flac_fixture_decodes_to_the_right_length() {
    let path = fixtures().join("speechocean762_005940195.flac");
    let a = read_audio(&path).unwrap();
    assert_eq!((a.sample_rate, a.channels), (16_000, 1));
    assert_eq!(a.frames(), 37_792); // 2.362 s, per shared/data/manifest.csv
    assert!(a.samples.iter().any(|&s| s.abs() > 0.01));
    assert!(a.samples.iter().all(|s| (-1.0..=1.0).contains(s)));
}

#[test]
fn vbdemand_fixtures_are_paired() {
    for (name, frames) in [("p232_005", 99_946), ("p287_002", 52_086)] {
        let clean = read_audio(fixtures().join("clean").join(format!("{name}.wav"))).unwrap();
        let noisy = read_audio(fixtures().join("noisy").join(format!("{name}.wav"))).unwrap();
        for a in [&clean, &noisy] {
            assert_eq!(
                (a.sample_rate, a.channels, a.frames()),
                (16_000, 1, frames),
                "{name}"
            );
        }
        assert_ne!(clean.samples, noisy.samples);
    }
}

#[test]
fn stereo_44k1_file_round_trip_and_channels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stereo.wav");
    let left = tone(2_205, 1, 44_100);
    let right: Vec<f32> = left.iter().map(|v| -0.5 * v).collect();
    let audio = Audio::from_channels(44_100, &[left.clone(), right.clone()]);
    write_audio(&path, &audio, SampleFormat::Float32).unwrap();
    let a = read_audio(&path).unwrap();
    assert_eq!((a.sample_rate, a.channels, a.frames()), (44_100, 2, 2_205));
    assert!((a.duration_secs() - 0.05).abs() < 1e-9);
    assert_eq!(a.channel(0), left);
    assert_eq!(a.channel(1), right);
}

#[test]
fn many_channels_and_rate_limits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("six.wav");
    write_audio(
        &path,
        &Audio {
            sample_rate: 8_000,
            channels: 6,
            samples: tone(100, 6, 8_000),
        },
        SampleFormat::Pcm16,
    )
    .unwrap();
    let a = read_audio(&path).unwrap();
    assert_eq!((a.channels, a.frames()), (6, 100));

    let path = dir.path().join("hi.wav");
    write_audio(
        &path,
        &Audio::mono(192_000, tone(100, 1, 192_000)),
        SampleFormat::Pcm16,
    )
    .unwrap();
    assert_eq!(read_audio(&path).unwrap().sample_rate, 192_000);

    for rate in [4_000u32, 7_999, 192_001, 384_000] {
        let path = dir.path().join(format!("rate{rate}.wav"));
        write_audio(
            &path,
            &Audio::mono(rate, vec![0.1; 50]),
            SampleFormat::Pcm16,
        )
        .unwrap();
        let err = read_audio(&path).unwrap_err();
        assert!(
            matches!(err, AudioError::UnsupportedSampleRate { rate: r, .. } if r == rate),
            "{err}"
        );
        let msg = names_file(&err, &path);
        assert!(
            msg.contains(&rate.to_string()) && msg.contains("sample rate"),
            "{msg}"
        );
    }
}

#[test]
fn streaming_reader_matches_read_audio() {
    let path = fixtures().join("noisy/p287_002.wav");
    let whole = read_audio(&path).unwrap();
    for path in [path, fixtures().join("speechocean762_005940195.flac")] {
        let whole = if path.extension().unwrap() == "flac" {
            read_audio(&path).unwrap()
        } else {
            whole.clone()
        };
        let mut r = AudioReader::open(&path).unwrap();
        assert_eq!((r.sample_rate(), r.channels()), (16_000, 1));
        let mut buf = Vec::new();
        let mut all = Vec::new();
        loop {
            let n = r.read_block(&mut buf, 1_000).unwrap();
            assert_eq!(buf.len(), n);
            assert!(n <= 1_000);
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf);
        }
        assert_eq!(all, whole.samples, "{}", path.display());
        assert_eq!(r.frames_read(), whole.frames() as u64);
        assert_eq!(r.read_block(&mut buf, 1_000).unwrap(), 0);
    }
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.wav");
    std::fs::write(&path, b"").unwrap();
    let err = read_audio(&path).unwrap_err();
    assert!(matches!(err, AudioError::Empty { .. }), "{err}");
    assert!(names_file(&err, &path).contains("empty"));
}

#[test]
fn truncated_header() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.wav");
    write_audio(
        &good,
        &Audio::mono(16_000, tone(100, 1, 16_000)),
        SampleFormat::Pcm16,
    )
    .unwrap();
    let bytes = std::fs::read(&good).unwrap();
    for cut in [4usize, 11, 20, 30] {
        let path = dir.path().join(format!("cut{cut}.wav"));
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let err = read_audio(&path).unwrap_err();
        assert!(
            matches!(err, AudioError::TruncatedHeader { .. }),
            "cut at {cut}: {err}"
        );
        assert!(names_file(&err, &path).contains("truncated header"));
    }
    // A FLAC cut inside its header.
    let flac = std::fs::read(fixtures().join("speechocean762_005940195.flac")).unwrap();
    let path = dir.path().join("cut.flac");
    std::fs::write(&path, &flac[..20]).unwrap();
    let err = read_audio(&path).unwrap_err();
    assert!(matches!(err, AudioError::TruncatedHeader { .. }), "{err}");
    names_file(&err, &path);
}

#[test]
fn truncated_data_returns_what_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.wav");
    write_audio(
        &good,
        &Audio::mono(16_000, tone(1_000, 1, 16_000)),
        SampleFormat::Pcm16,
    )
    .unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let path = dir.path().join("short.wav");
    std::fs::write(&path, &bytes[..bytes.len() - 501]).unwrap(); // 250.5 frames missing
    let (a, rep) = read_audio_with_report(&path).unwrap();
    assert!(rep.truncated);
    assert_eq!(a.frames(), 749);
}

#[test]
fn not_audio() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        (
            "notes.wav",
            b"These are meeting notes, not audio at all.\n".repeat(20),
        ),
        (
            "random.bin",
            (0..5_000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 & 0x7f)
                .collect(),
        ),
        ("tiny.flac", b"hi".to_vec()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let err = read_audio(&path).unwrap_err();
        assert!(matches!(err, AudioError::NotAudio { .. }), "{name}: {err}");
        assert!(names_file(&err, &path).contains("not an audio file"));
    }
}

#[test]
fn zero_length_audio() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zero.wav");
    let w = AudioWriter::create(&path, 16_000, 1, SampleFormat::Pcm16).unwrap();
    w.finish().unwrap();
    let err = read_audio(&path).unwrap_err();
    assert!(matches!(err, AudioError::ZeroLength { .. }), "{err}");
    assert!(names_file(&err, &path).contains("zero-length"));

    let path = dir.path().join("zero64.wav");
    std::fs::write(&path, f64_wav(1, 16_000, &[])).unwrap();
    let err = read_audio(&path).unwrap_err();
    assert!(matches!(err, AudioError::ZeroLength { .. }), "{err}");
    names_file(&err, &path);
}

#[test]
fn nan_inf_and_absurd_samples_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Vec<u8>, usize); 5] = [
        ("nan.wav", f32_wav(1, 16_000, &[0.25, 0.5, f32::NAN]), 2),
        ("inf.wav", f32_wav(2, 16_000, &[0.25, 0.5, f32::NEG_INFINITY, 0.0]), 1),
        ("huge.wav", f32_wav(1, 16_000, &[0.1, 1e29, 0.2]), 1),
        ("just_over.wav", f32_wav(1, 16_000, &[0.1, 0.0, 0.0, -1.01e4]), 3),
        ("nan64.wav", f64_wav(1, 16_000, &[0.5, f64::NAN]), 1),
    ];
    for (name, bytes, frame) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = read_audio(&path).unwrap_err();
        assert!(matches!(err, AudioError::BadSample { .. }), "{name}: {err}");
        let msg = names_file(&err, &path);
        assert!(msg.contains(&format!("frame {frame}")) && msg.contains("finite"), "{msg}");
    }
    // Loud but plausible float audio is read as it is.
    let path = dir.path().join("loud.wav");
    std::fs::write(&path, f32_wav(1, 16_000, &[2.0, -9_999.0, 0.5])).unwrap();
    assert_eq!(read_audio(&path).unwrap().samples, vec![2.0, -9_999.0, 0.5]);
}

/// PCM16 WAV bytes with `extra` chunks (id, payload; odd payloads get their pad byte) placed
/// before `fmt ` and between `fmt ` and `data`.
fn wav_with_chunks(samples: &[i16], before: &[(&[u8; 4], &[u8])], between: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
    let plain = wav_bytes(1, 1, 16_000, 16, &samples.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>());
    let chunk = |id: &[u8; 4], body: &[u8]| {
        let mut c = id.to_vec();
        c.extend_from_slice(&(body.len() as u32).to_le_bytes());
        c.extend_from_slice(body);
        if body.len() % 2 == 1 {
            c.push(0); // the RIFF pad byte
        }
        c
    };
    let mut out = plain[..12].to_vec();
    before.iter().for_each(|(id, b)| out.extend(chunk(id, b)));
    out.extend_from_slice(&plain[12..36]); // fmt chunk
    between.iter().for_each(|(id, b)| out.extend(chunk(id, b)));
    out.extend_from_slice(&plain[36..]); // data chunk
    let riff_len = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&riff_len.to_le_bytes());
    out
}

#[test]
fn odd_sized_chunks_with_pad_bytes_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let samples: Vec<i16> = (0..500).map(|i| ((i * 97) % 2000 - 1000) as i16).collect();
    let want: Vec<f32> = samples.iter().map(|&v| v as f32 / 32768.0).collect();
    let cases: [(&str, Vec<u8>); 3] = [
        ("junk_between.wav", wav_with_chunks(&samples, &[], &[(b"JUNK", &b"abc"[..])])),
        ("junk_before.wav", wav_with_chunks(&samples, &[(b"JUNK", &[7u8; 5][..])], &[])),
        ("two_odd.wav", wav_with_chunks(&samples, &[(b"bext", &b"x"[..])], &[(b"LIST", &b"INFOabcde"[..]), (b"fact", &b"1234"[..])])),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let a = read_audio(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((a.sample_rate, a.channels), (16_000, 1), "{name}");
        assert_eq!(a.samples, want, "{name}");
        let mut r = AudioReader::open(&path).unwrap();
        assert_eq!(r.total_frames(), Some(500), "{name}");
        let mut buf = Vec::new();
        assert_eq!(r.read_block(&mut buf, 100).unwrap(), 100);
    }
}

#[test]
fn rf64_and_rifx_are_named_not_called_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let good = wav_bytes(1, 1, 16_000, 16, &[0u8; 400]);
    for (magic, words) in [(b"RF64", "unsupported RF64 WAV"), (b"RIFX", "unsupported big-endian RIFX WAV")] {
        let mut bytes = good.clone();
        bytes[..4].copy_from_slice(magic);
        let path = dir.path().join(format!("{}.wav", String::from_utf8_lossy(magic)));
        std::fs::write(&path, bytes).unwrap();
        let err = read_audio(&path).unwrap_err();
        assert!(matches!(err, AudioError::UnsupportedContainer { .. }), "{err}");
        let msg = names_file(&err, &path);
        assert!(msg.contains(words) && !msg.contains("truncated"), "{msg}");
    }
}

#[test]
fn g711_alaw_and_mulaw_are_decoded_with_16_and_18_byte_fmt() {
    let dir = tempfile::tempdir().unwrap();
    // Known G.711 code words and their 16-bit values.
    let alaw = ([0xD5u8, 0x55, 0xAA, 0x2A], [8i16, -8, 32256, -32256]);
    let mulaw = ([0xFFu8, 0x80, 0x00, 0x7F], [0i16, 32124, -32124, 0]);
    for (tag, (bytes, values)) in [(6u16, alaw), (7, mulaw)] {
        let want: Vec<f32> = values.iter().map(|&v| v as f32 / 32768.0).collect();
        let data: Vec<u8> = bytes.repeat(50);
        let mut fmt16 = wav_bytes(1, 2, 8_000, 8, &data); // a 16-byte fmt chunk ...
        fmt16[20..22].copy_from_slice(&tag.to_le_bytes()); // ... with the G.711 tag
        for (name, file) in [("fmt16", fmt16), ("fmt18", wav_bytes(tag, 2, 8_000, 8, &data))] {
            let path = dir.path().join(format!("g711_{tag}_{name}.wav"));
            std::fs::write(&path, file).unwrap();
            let a = read_audio(&path).unwrap_or_else(|e| panic!("tag {tag} {name}: {e}"));
            assert_eq!((a.sample_rate, a.channels, a.frames()), (8_000, 2, 100), "tag {tag} {name}");
            assert_eq!(&a.samples[..4], &want[..], "tag {tag} {name}");
        }
    }
}

/// One MPEG-1 Layer III frame (44.1 kHz, 128 kbit/s, mono) of silence: a header and zero side
/// information, which decodes to 1152 zero samples.
fn mp3_silent_frame() -> Vec<u8> {
    let mut f = vec![0u8; 417];
    f[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
    f
}

#[test]
fn cut_or_damaged_compressed_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let flac = std::fs::read(fixtures().join("speechocean762_005940195.flac")).unwrap();
    let whole = read_audio(fixtures().join("speechocean762_005940195.flac")).unwrap();
    let mut damaged = flac.clone();
    let mid = flac.len() / 2;
    damaged[mid..mid + 64].iter_mut().for_each(|b| *b ^= 0x5A);
    let mp3_whole = mp3_silent_frame().repeat(40);
    let cases: [(&str, Vec<u8>); 4] = [
        ("cut.flac", flac[..flac.len() * 6 / 10].to_vec()),
        ("damaged.flac", damaged),
        ("cut.mp3", mp3_whole[..mp3_whole.len() - 200].to_vec()),
        ("cut.ogg", ogg_pages(3, false)[..200].to_vec()),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        match read_audio(&path) {
            Err(e @ (AudioError::Truncated { .. } | AudioError::Corrupt { .. })) => {
                names_file(&e, &path);
            }
            Err(e) => panic!("{name}: wrong error: {e}"),
            Ok(a) => panic!("{name}: read {} of {} frames without an error", a.frames(), whole.frames()),
        }
    }
    // The whole MP3 still reads.
    let path = dir.path().join("whole.mp3");
    std::fs::write(&path, &mp3_whole).unwrap();
    let a = read_audio(&path).unwrap();
    assert!(a.frames() >= 38 * 1152 && a.samples.iter().all(|&v| v == 0.0), "{}", a.frames());
}

/// `n` Ogg pages of filler (not a real codec), the last flagged end-of-stream when `eos`.
fn ogg_pages(n: usize, eos: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        out.extend_from_slice(b"OggS\0");
        out.push(match (i, eos && i + 1 == n) {
            (0, _) => 0x02,
            (_, true) => 0x04,
            _ => 0,
        });
        out.extend_from_slice(&(i as u64 * 1000).to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&(i as u32).to_le_bytes());
        out.extend_from_slice(&[0u8; 4]); // CRC, not checked by the end check
        out.push(1);
        out.push(100);
        out.extend_from_slice(&[0x42u8; 100]);
    }
    out
}

#[test]
fn ogg_end_check_passes_a_whole_stream() {
    // A whole stream gets past the end check to the codec probe (filler is no known codec).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("whole.ogg");
    std::fs::write(&path, ogg_pages(3, true)).unwrap();
    let err = read_audio(&path).unwrap_err();
    assert!(!matches!(err, AudioError::Truncated { .. }), "{err}");
    let cut = dir.path().join("cut.ogg");
    std::fs::write(&cut, &ogg_pages(3, true)[..300]).unwrap();
    assert!(matches!(read_audio(&cut).unwrap_err(), AudioError::Truncated { .. }));
}

#[test]
fn unsupported_codec() {
    let dir = tempfile::tempdir().unwrap();
    // An unknown format tag.
    let path = dir.path().join("unknown_tag.wav");
    std::fs::write(&path, wav_bytes(0x2222, 1, 16_000, 16, &[0u8; 200])).unwrap();
    let err = read_audio(&path).unwrap_err();
    assert!(matches!(err, AudioError::UnsupportedCodec { .. }), "{err}");
    assert!(names_file(&err, &path).contains("unsupported codec"));

    // IMA ADPCM (tag 0x11, 4 bits, cbSize 2 + samples per block): understood, but no decoder.
    let path = dir.path().join("adpcm.wav");
    let mut fmt = Vec::new();
    for v in [0x11u16, 1] {
        fmt.extend_from_slice(&v.to_le_bytes());
    }
    fmt.extend_from_slice(&16_000u32.to_le_bytes());
    fmt.extend_from_slice(&8_110u32.to_le_bytes());
    for v in [256u16, 4, 2, 505] {
        fmt.extend_from_slice(&v.to_le_bytes());
    }
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&((4 + 8 + fmt.len() + 8 + 512) as u32).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&fmt);
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&512u32.to_le_bytes());
    bytes.extend_from_slice(&[0u8; 512]);
    std::fs::write(&path, bytes).unwrap();
    let err = read_audio(&path).unwrap_err();
    assert!(matches!(err, AudioError::UnsupportedCodec { .. }), "{err}");
    names_file(&err, &path);
}

#[test]
fn unreadable_paths() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("does_not_exist.wav");
    let err = read_audio(&missing).unwrap_err();
    assert!(matches!(err, AudioError::Io { .. }), "{err}");
    names_file(&err, &missing);

    let err = read_audio(dir.path()).unwrap_err();
    assert!(matches!(err, AudioError::Io { .. }), "{err}");
    assert!(names_file(&err, dir.path()).contains("folder"));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path().join("locked.wav");
        write_audio(
            &path,
            &Audio::mono(16_000, vec![0.0; 10]),
            SampleFormat::Pcm16,
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::File::open(&path).is_err() {
            // (root can read anything; only check where permissions bite.)
            let err = read_audio(&path).unwrap_err();
            assert!(matches!(err, AudioError::Io { .. }), "{err}");
            names_file(&err, &path);
        }
    }
}

#[test]
fn missing_folder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no_such_folder").join("x.wav");
    let err = read_audio(&path).unwrap_err();
    assert!(matches!(err, AudioError::MissingFolder { .. }), "{err}");
    assert!(names_file(&err, &path).contains("does not exist"));

    let err = write_audio(
        &path,
        &Audio::mono(16_000, vec![0.0; 10]),
        SampleFormat::Pcm16,
    )
    .unwrap_err();
    assert!(matches!(err, AudioError::MissingFolder { .. }), "{err}");
    names_file(&err, &path);
    assert!(!path.exists());
}

/// Names in `dir` (to check no temp files are left).
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn failed_or_abandoned_writes_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.wav");

    // Dropped without finish.
    let mut w = AudioWriter::create(&path, 16_000, 1, SampleFormat::Pcm16).unwrap();
    w.write(&tone(1_000, 1, 16_000)).unwrap();
    drop(w);
    assert!(!path.exists());
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));

    // A partial frame at finish fails and leaves nothing.
    let mut w = AudioWriter::create(&path, 16_000, 2, SampleFormat::Float32).unwrap();
    w.write(&[0.1, 0.2, 0.3]).unwrap();
    let err = w.finish().unwrap_err();
    names_file(&err, &path);
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));

    // Writing over a folder fails.
    let sub = dir.path().join("sub.wav");
    std::fs::create_dir(&sub).unwrap();
    let err = write_audio(
        &sub,
        &Audio::mono(16_000, vec![0.0; 10]),
        SampleFormat::Pcm16,
    )
    .unwrap_err();
    names_file(&err, &sub);
    assert_eq!(listing(dir.path()), vec!["sub.wav".to_string()]);

    // An abandoned rewrite keeps the old file intact; a finished one replaces it.
    let old = Audio::mono(16_000, vec![0.5; 10]);
    write_audio(&path, &old, SampleFormat::Pcm16).unwrap();
    let mut w = AudioWriter::create(&path, 16_000, 1, SampleFormat::Pcm16).unwrap();
    w.write(&[0.25; 20]).unwrap();
    drop(w);
    assert_eq!(read_audio(&path).unwrap(), old);
    let new = Audio::mono(16_000, vec![0.25; 20]);
    write_audio(&path, &new, SampleFormat::Pcm16).unwrap();
    assert_eq!(read_audio(&path).unwrap(), new);
    assert_eq!(
        listing(dir.path()),
        vec!["out.wav".to_string(), "sub.wav".to_string()]
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }
}

#[test]
fn output_equal_to_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.wav");
    write_audio(
        &input,
        &Audio::mono(16_000, vec![0.0; 10]),
        SampleFormat::Pcm16,
    )
    .unwrap();

    let err = ensure_distinct(&input, &input).unwrap_err();
    assert!(matches!(err, AudioError::SameFile { .. }), "{err}");
    assert!(err.to_string().contains("in.wav"));

    // The same file through another spelling.
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let other = dir.path().join("sub").join("..").join(".").join("in.wav");
    assert!(ensure_distinct(&input, &other).is_err());
    #[cfg(unix)]
    {
        let link = dir.path().join("link.wav");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        assert!(ensure_distinct(&input, &link).is_err());
        let hard = dir.path().join("hard.wav");
        std::fs::hard_link(&input, &hard).unwrap();
        assert!(ensure_distinct(&input, &hard).is_err());
    }

    ensure_distinct(&input, dir.path().join("out.wav")).unwrap();
    let copy = dir.path().join("copy.wav");
    std::fs::copy(&input, &copy).unwrap();
    ensure_distinct(&input, &copy).unwrap();
}
