//! Training and validation data from the shared corpus: on-the-fly noisy mixtures.
//!
//! Training mixes speech/train with noise/train (random crops, SNR uniform in -5 dB..`--snr-max` (20 by default), random
//! level, babble from other train speakers, random EQ, band-limiting and speed perturbation) and,
//! unless they are held out for validation, sometimes uses the real VoiceBank-DEMAND p287 pairs. Test speech, test noise and the
//! p232 test pairs are never trained on: they are the evaluation material.
//!
//! Validation ([`Validation::Holdout`], the default for new runs) is carved out of the train
//! split so that nothing is tuned on the evaluation sets: every 16th train speaker (8 of 125),
//! every 8th train noise file (11 of 88) and the six real p287 pairs are held out of training
//! and validated on; `--train-pairs N` moves the first N pairs into training (for a leave-out
//! check, or for a final refit once the recipe is chosen). Runs started before this split validated on the test material
//! ([`Validation::Test`]) and keep doing so when resumed.
//!
//! Every batch is a pure function of (seed, step), so a resumed run sees exactly the data
//! order of an uninterrupted one.

use std::f32::consts::PI;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::audio::read_audio;
use crate::MODEL_RATE;

/// One speech utterance with its speaker.
pub struct Utterance {
    /// Speaker folder name.
    pub speaker: String,
    /// 16 kHz mono samples.
    pub samples: Vec<f32>,
}

/// The training corpus held in memory (about 500 MB of f32 for the shared data).
pub struct Corpus {
    /// speech/train utterances.
    pub speech: Vec<Utterance>,
    /// noise/train recordings.
    pub noise: Vec<Vec<f32>>,
    /// VoiceBank-DEMAND train pairs (clean, noisy).
    pub pairs: Vec<(Vec<f32>, Vec<f32>)>,
    /// How examples are drawn from the material above.
    pub mixing: Mixing,
}

/// How training examples are drawn from a [`Corpus`].
#[derive(Debug, Clone, Copy)]
pub struct Mixing {
    /// Probability that a training example is drawn from a real pair (when there are any).
    pub pair_fraction: f32,
    /// Probability that such an example is a remix of the pair (see [`remix_pair`]) instead of
    /// a crop of it.
    pub pair_remix: f32,
    /// Whether a real-pair crop gets the random level of the synthetic mixtures (−35..−15 dBFS
    /// speech) instead of its recorded one.
    pub pair_level: bool,
    /// Probability that a remix puts the pair's speech under another pair's recorded noise.
    pub pair_cross: f32,
    /// Probability that a synthetic noise is stationary broadband noise with a random tilt
    /// ([`broadband_noise`]) instead of a recording or babble.
    pub broadband: f32,
    /// Upper end of the synthetic mixtures' and remixes' SNR range (dB); the range starts at
    /// [`TRAIN_SNR_MIN_DB`].
    pub snr_max_db: f32,
}

/// The training SNR range's upper end when the options do not say (what runs before
/// `--snr-max` used).
pub const DEFAULT_SNR_MAX_DB: f32 = 20.0;

/// How often a training example is a real pair when the options do not say (what runs before
/// `--pair-fraction` used).
pub const DEFAULT_PAIR_FRACTION: f32 = 0.05;

/// What the validation sets are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Validation {
    /// Speakers, noise files and real pairs held out of the train split (see the module docs).
    Holdout,
    /// speech/test x noise/test and the p232 test pairs: the evaluation material itself (what
    /// the first runs used; kept so that they resume unchanged).
    #[default]
    Test,
}

/// Every `HOLDOUT_SPEAKER_EVERY`-th train speaker (in sorted order, from the first) is held out.
pub const HOLDOUT_SPEAKER_EVERY: usize = 16;
/// Every `HOLDOUT_NOISE_EVERY`-th train noise file (sorted, from index [`HOLDOUT_NOISE_FIRST`])
/// is held out.
pub const HOLDOUT_NOISE_EVERY: usize = 8;
/// The first held-out noise file: not index 0, so that the held-out files are not all the
/// alphabetically first file of each run of a category.
pub const HOLDOUT_NOISE_FIRST: usize = 4;

/// Splits sorted train speech paths into (kept, held out) by speaker. Paths, not audio: each
/// side decodes only what it uses.
fn split_speakers(speech: Vec<PathBuf>) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut speakers: Vec<String> = speech.iter().map(|p| speaker_of(p)).collect();
    speakers.dedup();
    let held: std::collections::HashSet<String> = speakers.into_iter().step_by(HOLDOUT_SPEAKER_EVERY).collect();
    speech.into_iter().partition(|p| !held.contains(&speaker_of(p)))
}

/// Splits sorted train noise paths into (kept, held out).
fn split_noise(noise: Vec<PathBuf>) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (kept, held): (Vec<_>, Vec<_>) = noise.into_iter().enumerate().partition(|(i, _)| i % HOLDOUT_NOISE_EVERY != HOLDOUT_NOISE_FIRST);
    (kept.into_iter().map(|(_, x)| x).collect(), held.into_iter().map(|(_, x)| x).collect())
}

/// Splits sorted real-pair paths (one side) into (trained on, held out): the first `train`.
fn split_pairs(mut paths: Vec<PathBuf>, train: usize) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let held = paths.split_off(train.min(paths.len()));
    (paths, held)
}

/// A manifest row: path, kind, split.
struct Entry {
    path: PathBuf,
    kind: String,
    split: String,
}

/// The folders of the data added after the first shipped model's runs 1-7 (which trained on
/// the corpus without them): what [`manifest`] leaves out when asked to.
pub const EXTRA_DIRS: [&str; 2] = ["speech/train-extra/", "noise/train-extra/"];

/// The rows of `data`'s manifest.csv, less those under [`EXTRA_DIRS`] when `without_extra`.
fn manifest(data: &Path, without_extra: bool) -> Result<Vec<Entry>> {
    let path = data.join("manifest.csv");
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}: cannot read the data manifest", path.display()))?;
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        if cols.len() < 3 {
            bail!("{}: malformed line {line:?}", path.display());
        }
        if without_extra && EXTRA_DIRS.iter().any(|dir| cols[0].starts_with(dir)) {
            continue;
        }
        out.push(Entry { path: data.join(cols[0]), kind: cols[1].into(), split: cols[2].into() });
    }
    Ok(out)
}

/// A file as mono at the model rate (16 kHz).
pub(crate) fn load_mono_16k(path: &Path) -> Result<Vec<f32>> {
    let audio = read_audio(path)?;
    let mono = audio.to_mono();
    Ok(crate::dsp::resample::resample(&mono, audio.sample_rate, MODEL_RATE))
}

fn speaker_of(path: &Path) -> String {
    path.parent().and_then(|p| p.file_name()).map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The paths of every file of `kind` in `split`, sorted.
fn kind_paths(entries: &[Entry], kind: &str, split: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = entries.iter().filter(|e| e.kind == kind && e.split == split).map(|e| e.path.clone()).collect();
    paths.sort();
    paths
}

/// Decodes `paths` (mono, 16 kHz), keeping each path beside its samples.
fn load_paths(paths: Vec<PathBuf>) -> Result<Vec<(PathBuf, Vec<f32>)>> {
    paths
        .into_iter()
        .map(|p| {
            let samples = load_mono_16k(&p)?;
            Ok((p, samples))
        })
        .collect()
}

impl Corpus {
    /// Loads the train split of `data` (the shared data folder with its manifest.csv), less
    /// the held-out validation material when `validation` is [`Validation::Holdout`]. There,
    /// the first `train_pairs` real pairs (sorted) are trained on and the rest held out; with
    /// [`Validation::Test`] every train pair is trained on. `without_extra` leaves out
    /// [`EXTRA_DIRS`].
    pub fn load_train(data: &Path, validation: Validation, train_pairs: usize, without_extra: bool, mixing: Mixing) -> Result<Self> {
        let entries = manifest(data, without_extra)?;
        let mut speech = kind_paths(&entries, "speech", "train");
        let mut noise = kind_paths(&entries, "noise", "train");
        let (mut clean, mut noisy) = (kind_paths(&entries, "clean", "train"), kind_paths(&entries, "noisy", "train"));
        if validation == Validation::Holdout {
            speech = split_speakers(speech).0;
            noise = split_noise(noise).0;
            (clean, noisy) = (split_pairs(clean, train_pairs).0, split_pairs(noisy, train_pairs).0);
        }
        let pairs = load_paths(clean)?.into_iter().zip(load_paths(noisy)?).map(|((_, c), (_, n))| (c, n)).collect();
        let speech = load_paths(speech)?.into_iter().map(|(p, samples)| Utterance { speaker: speaker_of(&p), samples }).collect::<Vec<_>>();
        let noise = load_paths(noise)?.into_iter().map(|(_, s)| s).collect::<Vec<_>>();
        if speech.is_empty() || noise.is_empty() {
            bail!("{}: no train speech or noise listed in manifest.csv", data.display());
        }
        Ok(Self { speech, noise, pairs, mixing })
    }
}

/// A clean/noisy pair of equal length.
pub struct Example {
    /// Clean target.
    pub clean: Vec<f32>,
    /// Noisy input.
    pub noisy: Vec<f32>,
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

/// A random crop of `len` samples (zero-padded at a random offset if `x` is shorter).
fn crop(x: &[f32], len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    if x.len() >= len {
        let start = rng.random_range(0..=x.len() - len);
        x[start..start + len].to_vec()
    } else {
        let mut out = vec![0.0; len];
        let off = rng.random_range(0..=len - x.len());
        out[off..off + x.len()].copy_from_slice(x);
        out
    }
}

/// A random crop of `len` samples, looping `x` if it is shorter.
fn crop_loop(x: &[f32], len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let start = rng.random_range(0..x.len());
    (0..len).map(|i| x[(start + i) % x.len()]).collect()
}

/// Speed perturbation by linear interpolation (changes pitch and tempo together).
fn change_speed(x: &[f32], factor: f32) -> Vec<f32> {
    let n = ((x.len() as f32) / factor) as usize;
    (0..n)
        .map(|i| {
            let p = i as f32 * factor;
            let j = p as usize;
            let w = p - j as f32;
            let a = x[j.min(x.len() - 1)];
            let b = x[(j + 1).min(x.len() - 1)];
            a + w * (b - a)
        })
        .collect()
}

/// A direct-form biquad (RBJ cookbook) applied in place.
fn biquad(x: &mut [f32], b: [f32; 3], a: [f32; 3]) {
    let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
    for v in x.iter_mut() {
        let y = (b[0] * *v + b[1] * x1 + b[2] * x2 - a[1] * y1 - a[2] * y2) / a[0];
        x2 = x1;
        x1 = *v;
        y2 = y1;
        y1 = y;
        *v = y;
    }
}

/// A random peaking EQ (±9 dB at 200 Hz..5 kHz).
fn random_eq(x: &mut [f32], rng: &mut ChaCha8Rng) {
    let f0 = 200.0 * 25f32.powf(rng.random::<f32>());
    let gain_db = rng.random_range(-9.0..9.0f32);
    let q = rng.random_range(0.5..2.0f32);
    let a = 10f32.powf(gain_db / 40.0);
    let w = 2.0 * PI * f0 / MODEL_RATE as f32;
    let alpha = w.sin() / (2.0 * q);
    biquad(x, [1.0 + alpha * a, -2.0 * w.cos(), 1.0 - alpha * a], [1.0 + alpha / a, -2.0 * w.cos(), 1.0 - alpha / a]);
}

/// A random 2nd-order low-pass, twice (band-limiting to 3.5..7 kHz, as a phone or codec would).
fn random_lowpass(x: &mut [f32], rng: &mut ChaCha8Rng) {
    let f0 = rng.random_range(3500.0..7000.0f32);
    let w = 2.0 * PI * f0 / MODEL_RATE as f32;
    let alpha = w.sin() / (2.0 * 0.707);
    let c = w.cos();
    for _ in 0..2 {
        biquad(x, [(1.0 - c) / 2.0, 1.0 - c, (1.0 - c) / 2.0], [1.0 + alpha, -2.0 * c, 1.0 - alpha]);
    }
}

/// Stationary broadband noise: white Gaussian noise through a random shelf (−15..+10 dB above
/// 0.5..4 kHz) and a random peaking EQ, from dark rumble to hiss louder at the top.
///
/// Why: the train recordings are mostly natural, non-stationary sounds; real recordings (fans,
/// engines, air conditioning, VoiceBank-DEMAND's cafés and streets at low SNR) often hold
/// broadband noise that covers speech over whole bands, which they rarely teach.
fn broadband_noise(len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let mut noise: Vec<f32> = (0..len).map(|_| StandardNormal.sample(rng)).collect();
    let f0 = 500.0 * 8f32.powf(rng.random::<f32>());
    let a = 10f32.powf(rng.random_range(-15.0..10.0f32) / 40.0);
    let w = 2.0 * PI * f0 / MODEL_RATE as f32;
    let (c, alpha) = (w.cos(), w.sin() / 2.0 * 2f32.sqrt());
    let sa = 2.0 * a.sqrt() * alpha;
    // RBJ high shelf (slope 1).
    biquad(
        &mut noise,
        [a * ((a + 1.0) + (a - 1.0) * c + sa), -2.0 * a * ((a - 1.0) + (a + 1.0) * c), a * ((a + 1.0) + (a - 1.0) * c - sa)],
        [(a + 1.0) - (a - 1.0) * c + sa, 2.0 * ((a - 1.0) - (a + 1.0) * c), (a + 1.0) - (a - 1.0) * c - sa],
    );
    random_eq(&mut noise, rng);
    noise
}

/// Scales `noise` so that speech-to-noise ratio is `snr_db`, adds it, and sets a random level.
fn mix(clean: Vec<f32>, noise: &[f32], snr_db: f32, level_db: f32) -> Example {
    let (ps, pn) = (rms(&clean).max(1e-5), rms(noise).max(1e-5));
    let k = ps / pn / 10f32.powf(snr_db / 20.0);
    let noisy: Vec<f32> = clean.iter().zip(noise).map(|(s, n)| s + k * n).collect();
    relevel(Example { clean, noisy }, level_db)
}

/// The lower end (dB) of the SNR range of training mixtures and remixes.
pub const TRAIN_SNR_MIN_DB: f32 = -5.0;

impl Mixing {
    /// A random SNR (dB) for a synthetic mixture or a remix.
    fn snr_db(&self, rng: &mut ChaCha8Rng) -> f32 {
        rng.random_range(TRAIN_SNR_MIN_DB..self.snr_max_db)
    }
}
/// The speech level range (dBFS RMS) of training mixtures, remixes and `--pair-level` crops.
const TRAIN_LEVEL_DB: std::ops::Range<f32> = -35.0..-15.0;

/// Draws one training example of `len` samples.
pub fn train_example(corpus: &Corpus, len: usize, rng: &mut ChaCha8Rng) -> Example {
    if !corpus.pairs.is_empty() && rng.random::<f32>() < corpus.mixing.pair_fraction {
        let (c, n) = &corpus.pairs[rng.random_range(0..corpus.pairs.len())];
        if corpus.mixing.pair_remix > 0.0 && rng.random::<f32>() < corpus.mixing.pair_remix {
            return remix_pair(corpus, c, n, len, rng);
        }
        let start = if c.len() > len { rng.random_range(0..=c.len() - len) } else { 0 };
        let take = |x: &[f32]| {
            let mut v = x[start..(start + len).min(x.len())].to_vec();
            v.resize(len, 0.0);
            v
        };
        let ex = Example { clean: take(c), noisy: take(n) };
        return if corpus.mixing.pair_level { relevel(ex, rng.random_range(TRAIN_LEVEL_DB)) } else { ex };
    }
    let (speaker, clean) = synthetic_speech(corpus, len, rng);
    let noise = synthetic_noise(corpus, speaker, len, rng);
    mix(clean, &noise, corpus.mixing.snr_db(rng), rng.random_range(TRAIN_LEVEL_DB))
}

/// `ex` scaled so that its clean speech sits at `level_db` dBFS RMS, less if the noisy peak would
/// pass 0.99 (how [`mix`] sets a mixture's level, and `--pair-level` a real pair's).
fn relevel(mut ex: Example, level_db: f32) -> Example {
    let mut g = 10f32.powf(level_db / 20.0) / rms(&ex.clean).max(1e-5);
    let peak = ex.noisy.iter().fold(0.0f32, |m, v| m.max(v.abs())) * g;
    if peak > 0.99 {
        g *= 0.99 / peak;
    }
    ex.clean.iter_mut().chain(ex.noisy.iter_mut()).for_each(|v| *v *= g);
    ex
}

/// A real pair taken apart and mixed anew, so that a few real recordings teach more than their
/// own crops: half the time its clean speech under a train noise, half the time its noise (the
/// noisy minus the clean signal: the recorded noise alone) under train speech; or, a share
/// `pair_cross` of the time, its clean speech under the recorded noise of a random pair.
fn remix_pair(corpus: &Corpus, clean: &[f32], noisy: &[f32], len: usize, rng: &mut ChaCha8Rng) -> Example {
    let (speech, noise) = if corpus.mixing.pair_cross > 0.0 && rng.random::<f32>() < corpus.mixing.pair_cross {
        // Real speech under real noise: this pair's speech, the recorded noise of a random pair.
        let (c2, n2) = &corpus.pairs[rng.random_range(0..corpus.pairs.len())];
        (crop(clean, len, rng), crop_loop(&recorded_noise(c2, n2), len, rng))
    } else if rng.random::<bool>() {
        let speech = crop(clean, len, rng);
        (speech, synthetic_noise(corpus, "", len, rng))
    } else {
        (synthetic_speech(corpus, len, rng).1, crop_loop(&recorded_noise(clean, noisy), len, rng))
    };
    mix(speech, &noise, corpus.mixing.snr_db(rng), rng.random_range(TRAIN_LEVEL_DB))
}

/// The noise of a real pair alone: noisy minus clean (VoiceBank-DEMAND added it to the clean
/// recording, so the difference is the recorded noise).
fn recorded_noise(clean: &[f32], noisy: &[f32]) -> Vec<f32> {
    noisy.iter().zip(clean).map(|(n, c)| n - c).collect()
}

/// A crop of a random train utterance with speed, EQ and band-limiting perturbations, and its
/// speaker.
fn synthetic_speech<'a>(corpus: &'a Corpus, len: usize, rng: &mut ChaCha8Rng) -> (&'a str, Vec<f32>) {
    let utt = &corpus.speech[rng.random_range(0..corpus.speech.len())];
    let mut speech = if rng.random::<f32>() < 0.3 {
        change_speed(&utt.samples, rng.random_range(0.9..1.1))
    } else {
        utt.samples.clone()
    };
    if rng.random::<f32>() < 0.3 {
        random_eq(&mut speech, rng);
    }
    if rng.random::<f32>() < 0.1 {
        random_lowpass(&mut speech, rng);
    }
    // Prefer a crop with speech in it.
    let mut clean = crop(&speech, len, rng);
    for _ in 0..3 {
        if rms(&clean) > 0.3 * rms(&speech) {
            break;
        }
        clean = crop(&speech, len, rng);
    }
    (&utt.speaker, clean)
}

/// `len` samples of train noise: a recording, or babble of train speakers other than
/// `speaker`, sometimes with a second recording on top, sometimes EQ'd.
fn synthetic_noise(corpus: &Corpus, speaker: &str, len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    // Drawn only when asked for, so that runs without it keep their examples.
    if corpus.mixing.broadband > 0.0 && rng.random::<f32>() < corpus.mixing.broadband {
        return broadband_noise(len, rng);
    }
    let mut noise = if rng.random::<f32>() < 0.15 {
        // Babble: 3..6 other speakers.
        let mut b = vec![0.0; len];
        for _ in 0..rng.random_range(3..=6) {
            let other = &corpus.speech[rng.random_range(0..corpus.speech.len())];
            if other.speaker == speaker {
                continue;
            }
            let c = crop_loop(&other.samples, len, rng);
            let g = 1.0 / rms(&c).max(1e-4);
            b.iter_mut().zip(&c).for_each(|(x, y)| *x += g * y);
        }
        b
    } else {
        crop_loop(&corpus.noise[rng.random_range(0..corpus.noise.len())], len, rng)
    };
    if rng.random::<f32>() < 0.25 {
        let second = crop_loop(&corpus.noise[rng.random_range(0..corpus.noise.len())], len, rng);
        let g = rng.random_range(0.2..1.0f32) * rms(&noise).max(1e-4) / rms(&second).max(1e-4);
        noise.iter_mut().zip(&second).for_each(|(x, y)| *x += g * y);
    }
    if rng.random::<f32>() < 0.2 {
        random_eq(&mut noise, rng);
    }
    noise
}

/// A named validation utterance.
#[derive(Clone)]
pub struct ValItem {
    /// Short name (for logs).
    pub name: String,
    /// Clean reference.
    pub clean: Vec<f32>,
    /// Noisy input.
    pub noisy: Vec<f32>,
}

/// The fixed validation sets: seeded mixtures at 0/5/10/15 dB (`per_snr` each) and real
/// VoiceBank-DEMAND pairs, drawn from held-out train material or from the test material.
pub struct ValidationSets {
    /// Synthetic mixtures of held-out speakers and held-out noises.
    pub mixtures: Vec<ValItem>,
    /// Real recordings.
    pub vbdemand: Vec<ValItem>,
}

impl ValidationSets {
    /// Builds the sets from `data` with a fixed seed. With [`Validation::Holdout`] the real pairs
    /// are the train pairs after the first `train_pairs` (which training uses); `without_extra`
    /// holds out of the corpus without [`EXTRA_DIRS`], as training with it does.
    pub fn load(data: &Path, per_snr: usize, max_secs: f32, validation: Validation, train_pairs: usize, without_extra: bool) -> Result<Self> {
        let entries = manifest(data, without_extra)?;
        let (speech, noise, split) = match validation {
            Validation::Test => (kind_paths(&entries, "speech", "test"), kind_paths(&entries, "noise", "test"), "test"),
            Validation::Holdout => (
                split_speakers(kind_paths(&entries, "speech", "train")).1,
                split_noise(kind_paths(&entries, "noise", "train")).1,
                "train",
            ),
        };
        if speech.is_empty() || noise.is_empty() {
            bail!("{}: no {split} speech or noise listed in manifest.csv", data.display());
        }
        let (speech, noise) = (load_paths(speech)?, load_paths(noise)?);
        let mut rng = ChaCha8Rng::seed_from_u64(0x7e57);
        let mut mixtures = Vec::new();
        let max_len = (max_secs * MODEL_RATE as f32) as usize;
        for snr in [0.0f32, 5.0, 10.0, 15.0] {
            for _ in 0..per_snr {
                let (sp, s) = &speech[rng.random_range(0..speech.len())];
                let (np, n) = &noise[rng.random_range(0..noise.len())];
                let clean: Vec<f32> = s[..s.len().min(max_len)].to_vec();
                let noise = crop_loop(n, clean.len(), &mut rng);
                let ex = mix(clean, &noise, snr, rng.random_range(-30.0..-20.0));
                let stem = |p: &PathBuf| p.file_stem().unwrap_or_default().to_string_lossy().into_owned();
                mixtures.push(ValItem { name: format!("{}+{}@{snr}dB", stem(sp), stem(np)), clean: ex.clean, noisy: ex.noisy });
            }
        }
        let (mut clean, mut noisy) = (kind_paths(&entries, "clean", split), kind_paths(&entries, "noisy", split));
        if validation == Validation::Holdout {
            (clean, noisy) = (split_pairs(clean, train_pairs).1, split_pairs(noisy, train_pairs).1);
        }
        let (clean, noisy) = (load_paths(clean)?, load_paths(noisy)?);
        let vbdemand = clean
            .into_iter()
            .zip(noisy)
            .map(|((p, c), (_, n))| ValItem { name: p.file_stem().unwrap_or_default().to_string_lossy().into_owned(), clean: c, noisy: n })
            .collect();
        Ok(Self { mixtures, vbdemand })
    }
}

/// The RNG of batch `step` of a run seeded `seed`: batches depend only on (seed, step).
pub fn batch_rng(seed: u64, step: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ step.wrapping_mul(0xD1B5_4A32_D192_ED03))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_hits_the_requested_snr() {
        let clean: Vec<f32> = (0..8000).map(|i| (i as f32 * 0.05).sin()).collect();
        let noise: Vec<f32> = (0..8000).map(|i| ((i * 7919) % 13) as f32 / 6.0 - 1.0).collect();
        let ex = mix(clean, &noise, 7.0, -20.0);
        let resid: Vec<f32> = ex.noisy.iter().zip(&ex.clean).map(|(a, b)| a - b).collect();
        let snr = 20.0 * (rms(&ex.clean) / rms(&resid)).log10();
        assert!((snr - 7.0).abs() < 0.01, "{snr}");
        assert!((20.0 * rms(&ex.clean).log10() + 20.0).abs() < 0.01);
    }

    #[test]
    fn holdout_takes_whole_speakers_and_every_eighth_noise() {
        let utt = |spk: usize, u: usize| PathBuf::from(format!("speech/train/S{spk:03}/u{u}.flac"));
        let speech: Vec<_> = (0..40).flat_map(|s| (0..3).map(move |u| utt(s, u))).collect();
        let (kept, held) = split_speakers(speech);
        let held_speakers: std::collections::BTreeSet<String> = held.iter().map(|p| speaker_of(p)).collect();
        assert_eq!(held_speakers.into_iter().collect::<Vec<_>>(), ["S000", "S016", "S032"]);
        assert_eq!((kept.len(), held.len()), (37 * 3, 3 * 3));
        assert!(kept.iter().all(|p| !["S000", "S016", "S032"].contains(&speaker_of(p).as_str())));
        let noise: Vec<_> = (0..17).map(|i| PathBuf::from(format!("n{i:02}"))).collect();
        let (kept, held) = split_noise(noise);
        assert_eq!(held.iter().map(|p| p.to_string_lossy().into_owned()).collect::<Vec<_>>(), ["n04", "n12"]);
        assert_eq!(kept.len(), 15);
    }

    #[test]
    fn without_extra_leaves_out_the_extra_folders_only() {
        let dir = tempfile::tempdir().unwrap();
        let rows = [
            "path,kind,split,seconds,sha256",
            "speech/train/S1/a.flac,speech,train,1,-",
            "speech/train-extra/vctk_p225/b.flac,speech,train,1,-",
            "noise/train/n.flac,noise,train,1,-",
            "noise/train-extra/m.flac,noise,train,1,-",
            "noise/test/t.flac,noise,test,1,-",
        ];
        std::fs::write(dir.path().join("manifest.csv"), rows.join("\n")).unwrap();
        let names = |without_extra| {
            let entries = manifest(dir.path(), without_extra).unwrap();
            entries.iter().map(|e| e.path.strip_prefix(dir.path()).unwrap().to_string_lossy().into_owned()).collect::<Vec<_>>()
        };
        assert_eq!(names(false).len(), 5);
        assert_eq!(names(true), ["speech/train/S1/a.flac", "noise/train/n.flac", "noise/test/t.flac"]);
    }

    #[test]
    fn train_pairs_moves_the_first_pairs_out_of_validation() {
        let pairs: Vec<_> = (1..=6).map(|i| PathBuf::from(format!("p287_00{i}.wav"))).collect();
        let names = |v: &[PathBuf]| v.iter().map(|p| p.to_string_lossy().into_owned()).collect::<Vec<_>>();
        let (train, held) = split_pairs(pairs.clone(), 2);
        assert_eq!(names(&train), ["p287_001.wav", "p287_002.wav"]);
        assert_eq!(held.len(), 4);
        assert_eq!(split_pairs(pairs.clone(), 0).1, pairs);
        let (train, held) = split_pairs(pairs.clone(), 9);
        assert_eq!((train.len(), held.len()), (6, 0));
    }

    /// A corpus whose train noise is a constant and whose one real pair's noise alternates in
    /// sign, so an example's noise (noisy − clean) shows where it came from.
    fn marked_corpus(pair_remix: f32) -> Corpus {
        let tone = |f: f32, n: usize| (0..n).map(|i| 0.3 * (i as f32 * f).sin()).collect::<Vec<f32>>();
        let clean = tone(0.11, 48000);
        let noisy = clean.iter().enumerate().map(|(i, c)| c + if i % 2 == 0 { 0.05 } else { -0.05 }).collect();
        Corpus {
            speech: vec![Utterance { speaker: "S".into(), samples: tone(0.07, 32000) }],
            noise: vec![vec![0.2; 32000]],
            pairs: vec![(clean, noisy)],
            mixing: Mixing { pair_fraction: 1.0, pair_remix, pair_level: false, pair_cross: 0.0, broadband: 0.0, snr_max_db: DEFAULT_SNR_MAX_DB },
        }
    }

    /// [`marked_corpus`] with its mixing changed by `change`.
    fn marked_with(pair_remix: f32, change: impl FnOnce(&mut Mixing)) -> Corpus {
        let mut corpus = marked_corpus(pair_remix);
        change(&mut corpus.mixing);
        corpus
    }

    #[test]
    fn pair_remix_mixes_real_speech_and_real_noise_with_train_material() {
        let (len, mut rng) = (8000, ChaCha8Rng::seed_from_u64(3));
        let mut kinds = [0usize; 2];
        for _ in 0..40 {
            let ex = train_example(&marked_corpus(1.0), len, &mut rng);
            assert_eq!((ex.clean.len(), ex.noisy.len()), (len, len));
            let d: Vec<f32> = ex.noisy.iter().zip(&ex.clean).map(|(n, c)| n - c).collect();
            let snr = 20.0 * (rms(&ex.clean) / rms(&d)).log10();
            assert!((-5.01..20.01).contains(&snr), "SNR {snr}");
            let alternating = d.windows(2).all(|w| w[0] * w[1] < 0.0);
            // A constant noise may be EQ'd, so "train noise" only means "not the pair's".
            kinds[alternating as usize] += 1;
        }
        assert!(kinds[0] > 5 && kinds[1] > 5, "both halves of the remix are drawn: {kinds:?}");
        // Cross remixes: always the pair's speech (its tone crosses zero 0.11/π times a sample, the
        // train speech 0.07/π) under a pair's recorded noise.
        let cross = marked_with(1.0, |m| m.pair_cross = 1.0);
        for _ in 0..10 {
            let ex = train_example(&cross, len, &mut rng);
            let d: Vec<f32> = ex.noisy.iter().zip(&ex.clean).map(|(n, c)| n - c).collect();
            assert!(d.windows(2).all(|w| w[0] * w[1] < 0.0), "the noise is a pair's");
            let crossings = ex.clean.windows(2).filter(|w| w[0] * w[1] < 0.0).count();
            assert!((250..310).contains(&crossings), "the speech is the pair's: {crossings} zero crossings");
        }
        // Without remixing, a real-pair example is a crop of the recording as it is ...
        let ex = train_example(&marked_corpus(0.0), len, &mut rng);
        assert!(ex.noisy.iter().zip(&ex.clean).all(|(n, c)| ((n - c).abs() - 0.05).abs() < 1e-6));
        // ... or, with `pair_level`, that crop at a random level: the same SNR, the speech at -35..-15 dBFS.
        let corpus = marked_with(0.0, |m| m.pair_level = true);
        let mut levels = Vec::new();
        let snr = |ex: &Example| {
            let d: Vec<f32> = ex.noisy.iter().zip(&ex.clean).map(|(n, c)| n - c).collect();
            20.0 * (rms(&ex.clean) / rms(&d)).log10()
        };
        for _ in 0..20 {
            let (ex, recorded) = (train_example(&corpus, len, &mut rng), train_example(&marked_corpus(0.0), len, &mut rng));
            assert!((snr(&ex) - snr(&recorded)).abs() < 0.1, "{} vs {}", snr(&ex), snr(&recorded));
            let speech_db = 20.0 * rms(&ex.clean).log10();
            assert!((-35.01..-14.99).contains(&speech_db), "{speech_db}");
            levels.push(speech_db);
        }
        assert!(levels.iter().cloned().fold(f32::MIN, f32::max) - levels.iter().cloned().fold(f32::MAX, f32::min) > 5.0);
    }

    #[test]
    fn broadband_noise_replaces_the_recordings_and_tilts_at_random() {
        // The marked corpus's noise is a constant and its babble a slow tone (about 360 zero
        // crossings a second), so a noise that swings sign every few samples is `broadband_noise`.
        let (len, mut rng) = (16000, ChaCha8Rng::seed_from_u64(5));
        let off = marked_corpus(0.0);
        let on = marked_with(0.0, |m| m.broadband = 1.0);
        let crossings = |x: &[f32]| x.windows(2).filter(|w| w[0] * w[1] < 0.0).count();
        // Share of energy above 4 kHz, from the first difference: white noise puts about half of
        // its difference energy there; the tilts move it both ways.
        let high = |x: &[f32]| {
            let d: f32 = x.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
            d / (4.0 * x.iter().map(|v| v * v).sum::<f32>())
        };
        let mut shares = Vec::new();
        for _ in 0..30 {
            assert!(crossings(&synthetic_noise(&off, "", len, &mut rng)) < 500, "without it: the recording or babble of the tone");
            let n = synthetic_noise(&on, "", len, &mut rng);
            assert_eq!(n.len(), len);
            assert!(n.iter().all(|v| v.is_finite()) && crossings(&n) > 1000, "broadband noise crosses zero often");
            shares.push(high(&n));
        }
        let (lo, hi) = (shares.iter().cloned().fold(f32::MAX, f32::min), shares.iter().cloned().fold(f32::MIN, f32::max));
        assert!(hi > 2.0 * lo, "the tilt varies: high-band shares {lo:.3}..{hi:.3}");
    }

    #[test]
    fn speed_change_scales_length() {
        let x = vec![0.5; 1000];
        assert_eq!(change_speed(&x, 1.25).len(), 800);
    }
}
