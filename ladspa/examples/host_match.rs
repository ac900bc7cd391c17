//! Helpers for the real-host checks in `.ci/run` (ladspa/ci/hosts.sh).
//!
//! `host_match latency RATE`: prints the plugin's constant latency at host rate RATE (what its
//! `latency` port reports), in samples and milliseconds.
//!
//! `host_match resample IN OUT RATE`: writes IN resampled to RATE Hz as a 32-bit float WAV.
//!
//! `host_match dry-or-wet INPUT PLUGIN_OUT REFERENCE TOLERANCE`: checks that every output
//! sample after the latency is either the wet one (REFERENCE) or the dry one (INPUT), both
//! delayed by the reported latency, as in real-time mode when the host runs faster than real
//! time; prints how many were dry.
//!
//! `host_match find INPUT RECORDING REFERENCE`: for a recording through a live host (PipeWire)
//! at an unknown delay: finds the delay at which RECORDING best matches REFERENCE (energy
//! envelopes, then sample by sample) and prints the error SNR against REFERENCE (wet) and against
//! INPUT (dry) there. A live plugin has been running before the file starts, so its sampler noise
//! differs from REFERENCE's and the match is not exact; it must still be closer to the wet signal
//! than to the dry one by 3 dB (a plugin that underran throughout would be the dry one).
//!
//! `host_match compare INPUT PLUGIN_OUT REFERENCE TOLERANCE`: checks that a LADSPA host's output
//! (PLUGIN_OUT, from the mono plugin over INPUT) is REFERENCE (`restoregrad enhance` over INPUT)
//! delayed by the plugin's reported latency at INPUT's rate: prints the latency, max |diff| and
//! the error SNR over REFERENCE's length, and exits 1 if max |diff| exceeds TOLERANCE.

use anyhow::{bail, ensure, Context};
use restoregrad::audio::{read_audio, write_audio, Audio, SampleFormat};

fn mono(path: &str) -> anyhow::Result<Audio> {
    let a = read_audio(path).with_context(|| format!("reading {path}"))?;
    ensure!(a.channels == 1, "{path}: expected mono, got {} channels", a.channels);
    Ok(a)
}

fn resample(input: &str, output: &str, rate: u32) -> anyhow::Result<()> {
    let a = mono(input)?;
    let samples = restoregrad::dsp::resample::resample(&a.samples, a.sample_rate, rate);
    write_audio(output, &Audio { sample_rate: rate, channels: 1, samples }, SampleFormat::Float32)?;
    Ok(())
}

fn compare(input: &str, plugin: &str, reference: &str, tol: f64) -> anyhow::Result<()> {
    let rate = mono(input)?.sample_rate;
    let (y, r) = (mono(plugin)?, mono(reference)?);
    ensure!(y.sample_rate == rate && r.sample_rate == rate, "sample rates differ");
    let lat = restoregrad_ladspa::Instance::new(1, rate as u64)?.latency();
    ensure!(y.samples.len() >= r.samples.len() + lat, "the host's output is shorter than the reference plus the latency {lat}");
    let (mut e, mut s, mut maxd) = (0f64, 0f64, 0f64);
    for (t, &want) in r.samples.iter().enumerate() {
        let d = (y.samples[t + lat] - want) as f64;
        e += d * d;
        s += (want as f64) * (want as f64);
        maxd = maxd.max(d.abs());
    }
    let snr = 10.0 * (s / e.max(1e-30)).log10();
    println!("{plugin}: {rate} Hz, latency {lat} samples, {} samples compared, max |diff| {maxd:.2e} (tolerance {tol:.1e}), error SNR {snr:.1} dB", r.samples.len());
    if maxd > tol {
        bail!("{plugin} differs from {reference} after removing the latency: max |diff| {maxd:.2e} > {tol:.1e}");
    }
    Ok(())
}

fn dry_or_wet(input: &str, plugin: &str, reference: &str, tol: f32) -> anyhow::Result<()> {
    let x = mono(input)?;
    let (y, r) = (mono(plugin)?, mono(reference)?);
    let lat = restoregrad_ladspa::Instance::new(1, x.sample_rate as u64)?.latency();
    ensure!(y.samples.len() >= r.samples.len() + lat, "the host's output is shorter than the reference plus the latency {lat}");
    let (mut dry, mut neither) = (0usize, 0usize);
    for (t, (&w, &d)) in r.samples.iter().zip(&x.samples).enumerate() {
        let v = y.samples[t + lat];
        if (v - w).abs() <= tol {
            continue;
        }
        if (v - d).abs() <= tol {
            dry += 1;
        } else {
            neither += 1;
        }
    }
    println!("{plugin}: latency {lat} samples, {} samples: {dry} dry, {neither} neither wet nor dry", r.samples.len());
    ensure!(neither == 0, "{neither} output samples are neither the wet nor the dry signal at the reported latency");
    Ok(())
}

/// Error SNR (dB) of `y[t + d]` against `r[t]` over `r`'s length.
fn snr_at(y: &[f32], r: &[f32], d: usize) -> f64 {
    let (mut e, mut s) = (0f64, 0f64);
    for (t, &want) in r.iter().enumerate() {
        let v = y.get(t + d).copied().unwrap_or(0.0) as f64;
        e += (v - want as f64).powi(2);
        s += (want as f64).powi(2);
    }
    10.0 * (s / e.max(1e-30)).log10()
}

/// Energy per block of `b` samples.
fn envelope(x: &[f32], b: usize) -> Vec<f64> {
    x.chunks(b).map(|c| c.iter().map(|v| (*v as f64).powi(2)).sum()).collect()
}

fn find(input: &str, rec: &str, reference: &str) -> anyhow::Result<()> {
    let (x, y, r) = (mono(input)?, mono(rec)?, mono(reference)?);
    ensure!(y.samples.len() > r.samples.len(), "the recording is shorter than the reference");
    let b = 48;
    let (ey, er) = (envelope(&y.samples, b), envelope(&r.samples, b));
    let score = |d: usize| -> f64 { er.iter().enumerate().map(|(i, e)| e * ey.get(i + d).copied().unwrap_or(0.0)).sum() };
    let coarse = (0..ey.len() - er.len()).max_by(|&a, &c| score(a).total_cmp(&score(c))).unwrap_or(0) * b;
    let lo = coarse.saturating_sub(2 * b);
    let d = (lo..coarse + 2 * b).max_by(|&a, &c| snr_at(&y.samples, &r.samples, a).total_cmp(&snr_at(&y.samples, &r.samples, c))).unwrap_or(0);
    let (wet, dry) = (snr_at(&y.samples, &r.samples, d), snr_at(&y.samples, &x.samples, d));
    let lat = restoregrad_ladspa::Instance::new(1, x.sample_rate as u64)?.latency();
    println!("{rec}: delay {d} samples (plugin latency {lat}), error SNR vs enhanced {wet:.1} dB, vs dry input {dry:.1} dB");
    ensure!(wet > dry + 3.0, "the recording is not the enhanced signal (error SNR {wet:.1} dB vs the enhanced, {dry:.1} dB vs the dry input)");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["latency", rate] => {
            let rate: u32 = rate.parse()?;
            let lat = restoregrad_ladspa::Instance::new(1, rate as u64)?.latency();
            println!("{lat} samples ({:.1} ms) at {rate} Hz", lat as f64 * 1000.0 / rate as f64);
            Ok(())
        }
        ["resample", i, o, rate] => resample(i, o, rate.parse()?),
        ["compare", i, p, r, tol] => compare(i, p, r, tol.parse()?),
        ["find", i, p, r] => find(i, p, r),
        ["dry-or-wet", i, p, r, tol] => dry_or_wet(i, p, r, tol.parse()?),
        _ => bail!("usage: host_match latency RATE | resample IN OUT RATE | compare|dry-or-wet INPUT PLUGIN_OUT REFERENCE TOLERANCE | find INPUT RECORDING REFERENCE"),
    }
}
