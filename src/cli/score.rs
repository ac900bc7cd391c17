//! `restoregrad score`: PESQ-WB, STOI, ESTOI, SI-SDR, SNR and segmental SNR of enhanced audio
//! against clean references.
//!
//! Two files, or two folders matched by file stem. Every file is downmixed to mono and resampled
//! to 16 kHz (PESQ-WB's rate); a constant delay within ±100 ms is found by cross-correlation,
//! removed and reported. The table goes to stdout; progress, notes and per-file errors go to
//! stderr. A file that cannot be scored is named on one line, the others are still scored, and
//! the command exits non-zero at the end.

use super::Globals;
use crate::metrics::{self, Scores};
use anyhow::{bail, Context};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The rate everything is scored at.
const RATE: u32 = crate::MODEL_RATE;
/// File extensions picked up in folders.
const AUDIO_EXTS: [&str; 4] = ["wav", "flac", "mp3", "ogg"];

/// Arguments of `restoregrad score`.
#[derive(clap::Args, Debug)]
pub struct ScoreArgs {
    /// Clean reference: a file, or a folder whose files are matched to `--enhanced` by stem.
    #[arg(long, value_name = "PATH")]
    pub clean: PathBuf,
    /// Enhanced audio to score: a file, or a folder (every audio file in it is scored).
    #[arg(long, value_name = "PATH")]
    pub enhanced: PathBuf,
    /// The noisy inputs (file or folder, matched by stem): also scored, and the improvement shown.
    #[arg(long, value_name = "PATH")]
    pub noisy: Option<PathBuf>,
    /// Also write every score as JSON to this file (written atomically).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// One file to score.
#[derive(Debug, Clone)]
struct Job {
    name: String,
    clean: PathBuf,
    enhanced: PathBuf,
    noisy: Option<PathBuf>,
}

/// One scored file, as written to JSON.
#[derive(Debug, Clone, Serialize)]
struct FileReport {
    name: String,
    clean: PathBuf,
    enhanced: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    noisy: Option<PathBuf>,
    /// The enhanced file's scores.
    scores: Scores,
    #[serde(skip_serializing_if = "Option::is_none")]
    noisy_scores: Option<Scores>,
    /// `scores - noisy_scores`.
    #[serde(skip_serializing_if = "Option::is_none")]
    improvement: Option<Scores>,
}

/// A file that could not be scored.
#[derive(Debug, Clone, Serialize)]
struct Failure {
    name: String,
    error: String,
}

/// Means over the scored files.
#[derive(Debug, Clone, Serialize)]
struct Means {
    enhanced: Scores,
    #[serde(skip_serializing_if = "Option::is_none")]
    noisy: Option<Scores>,
    #[serde(skip_serializing_if = "Option::is_none")]
    improvement: Option<Scores>,
}

/// The whole `--json` document.
#[derive(Debug, Clone, Serialize)]
struct Report {
    sample_rate: u32,
    count: usize,
    files: Vec<FileReport>,
    failed: Vec<Failure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mean: Option<Means>,
}

/// Runs `restoregrad score`.
pub fn run(args: ScoreArgs, g: Globals) -> anyhow::Result<()> {
    let (jobs, mut failed) = plan(&args)?;
    if jobs.is_empty() {
        for f in &failed {
            crate::diag!("error: {}: {}", f.name, f.error);
        }
        bail!("nothing to score: no {} file matched a clean reference", args.enhanced.display());
    }
    for f in &failed {
        crate::diag!("error: {}: {}", f.name, f.error);
    }

    let pb = if g.quiet || jobs.len() < 2 {
        indicatif::ProgressBar::hidden()
    } else {
        let pb = indicatif::ProgressBar::new(jobs.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{spinner} scoring [{bar:30}] {pos}/{len} {wide_msg}")
                .expect("static template")
                .progress_chars("=> "),
        );
        pb
    };
    let mut files = Vec::with_capacity(jobs.len());
    for job in &jobs {
        pb.set_message(job.name.clone());
        match score_job(job) {
            Ok((report, notes)) => {
                for n in notes {
                    match n.strip_prefix("warning: ") {
                        Some(w) => pb.suspend(|| crate::diag!("warning: {w}")),
                        None if !g.quiet => pb.suspend(|| crate::diag!("note: {}: {n}", job.name)),
                        None => {}
                    }
                }
                files.push(report);
            }
            Err(e) => {
                pb.suspend(|| crate::diag!("error: {}", crate::cli::describe(&e, Some(&job.name))));
                failed.push(Failure { name: job.name.clone(), error: crate::cli::describe(&e, None) });
            }
        }
        pb.inc(1);
    }
    pb.finish_and_clear();

    let mean = Scores::mean(&files.iter().map(|f| f.scores).collect::<Vec<_>>()).map(|enhanced| {
        let noisy_all: Vec<Scores> = files.iter().filter_map(|f| f.noisy_scores).collect();
        let impr_all: Vec<Scores> = files.iter().filter_map(|f| f.improvement).collect();
        Means { enhanced, noisy: Scores::mean(&noisy_all), improvement: Scores::mean(&impr_all) }
    });
    let report = Report { sample_rate: RATE, count: files.len(), files, failed, mean };

    let table = render_table(&report);
    let mut out = std::io::stdout().lock();
    out.write_all(table.as_bytes())?;
    out.flush()?;

    if let Some(path) = &args.json {
        write_json_atomic(path, &report)?;
        if !g.quiet {
            crate::diag!("wrote {}", path.display());
        }
    }
    if !report.failed.is_empty() {
        bail!(
            "{} of {} file(s) could not be scored",
            report.failed.len(),
            report.failed.len() + report.count
        );
    }
    Ok(())
}

/// Pairs the inputs: two files, or two folders by stem. Enhanced files without a clean (or,
/// with `--noisy`, a noisy) partner are returned as failures.
fn plan(args: &ScoreArgs) -> anyhow::Result<(Vec<Job>, Vec<Failure>)> {
    for (flag, p) in [("--clean", Some(&args.clean)), ("--enhanced", Some(&args.enhanced)), ("--noisy", args.noisy.as_ref())] {
        if let Some(p) = p {
            if !p.exists() {
                bail!("{flag} {}: no such file or folder", p.display());
            }
        }
    }
    let dirs = [args.clean.is_dir(), args.enhanced.is_dir()];
    let noisy_dir = args.noisy.as_ref().map(|p| p.is_dir());
    if dirs[0] != dirs[1] || noisy_dir.is_some_and(|d| d != dirs[0]) {
        bail!("--clean, --enhanced (and --noisy) must be all files or all folders");
    }
    if !dirs[0] {
        let job = Job {
            name: stem(&args.enhanced),
            clean: args.clean.clone(),
            enhanced: args.enhanced.clone(),
            noisy: args.noisy.clone(),
        };
        return Ok((vec![job], Vec::new()));
    }
    let clean = list_audio(&args.clean)?;
    let enhanced = list_audio(&args.enhanced)?;
    let noisy = args.noisy.as_deref().map(list_audio).transpose()?;
    if enhanced.is_empty() {
        bail!("{}: no audio files ({})", args.enhanced.display(), AUDIO_EXTS.join(", "));
    }
    let (mut jobs, mut failed) = (Vec::new(), Vec::new());
    for (name, enh) in enhanced {
        let Some(c) = clean.get(&name) else {
            failed.push(Failure { name, error: format!("no clean reference with this stem in {}", args.clean.display()) });
            continue;
        };
        let n = match &noisy {
            None => None,
            Some(map) => match map.get(&name) {
                Some(p) => Some(p.clone()),
                None => {
                    let dir = args.noisy.as_ref().expect("noisy map implies --noisy").display();
                    failed.push(Failure { name, error: format!("no noisy file with this stem in {dir}") });
                    continue;
                }
            },
        };
        jobs.push(Job { name, clean: c.clone(), enhanced: enh, noisy: n });
    }
    Ok((jobs, failed))
}

/// A file's stem as a display name.
fn stem(p: &Path) -> String {
    p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| p.display().to_string())
}

/// Audio files directly in `dir`, by stem (sorted).
fn list_audio(dir: &Path) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
        if path.is_file() && ext.is_some_and(|e| AUDIO_EXTS.contains(&e.as_str())) {
            out.insert(stem(&path), path);
        }
    }
    Ok(out)
}

/// Reads a file as mono at [`RATE`].
fn load(path: &Path) -> anyhow::Result<Vec<f32>> {
    let audio = crate::audio::read_audio(path)?;
    let mono = audio.to_mono();
    if mono.is_empty() {
        bail!("{}: no samples", path.display());
    }
    if audio.sample_rate == RATE {
        return Ok(mono);
    }
    Ok(crate::dsp::resample::resample(&mono, audio.sample_rate, RATE))
}

/// The delay searched for a warning, beyond the ±[`metrics::MAX_DELAY_MS`] that is aligned.
const WARN_DELAY_SEARCH_MS: usize = 2_000;

/// Refuses a silent file: every score against or of silence is meaningless (PESQ would even
/// give the best score to a silent enhanced file).
fn refuse_silence(path: &Path, x: &[f32], what: &str) -> anyhow::Result<()> {
    if x.iter().all(|&v| v == 0.0) {
        bail!("{}: the {what} is silent (every sample is zero); it cannot be scored", path.display());
    }
    Ok(())
}

/// A warning when `x` lines up with `clean` only at a delay beyond the aligned range: the
/// scores are then those of misaligned signals.
fn misalignment(clean: &[f32], x: &[f32], path: &Path) -> Option<String> {
    let wide = metrics::align_delay(clean, x, RATE as usize * WARN_DELAY_SEARCH_MS / 1000);
    let ms = wide as f64 * 1000.0 / RATE as f64;
    (ms.abs() > metrics::MAX_DELAY_MS as f64).then(|| {
        format!(
            "{}: seems {} by {:.0} ms against the clean reference, beyond the ±{} ms that is aligned; its scores are not meaningful",
            path.display(),
            if ms > 0.0 { "late" } else { "early" },
            ms.abs(),
            metrics::MAX_DELAY_MS
        )
    })
}

/// Scores one job; returns the report and notes worth telling the user (PESQ refusals,
/// misalignment warnings, the latter starting with "warning:").
fn score_job(job: &Job) -> anyhow::Result<(FileReport, Vec<String>)> {
    let clean = load(&job.clean)?;
    refuse_silence(&job.clean, &clean, "clean reference")?;
    let enhanced = load(&job.enhanced)?;
    refuse_silence(&job.enhanced, &enhanced, "enhanced file")?;
    let mut notes = Vec::new();
    let mut score = |what: &str, x: &[f32], path: &Path| {
        notes.extend(misalignment(&clean, x, path).map(|w| format!("warning: {w}")));
        let s = metrics::score_pair(&clean, x, RATE);
        if s.pesq.is_none() {
            let (c, e) = metrics::apply_delay(&clean, x, s.delay_samples);
            let why = metrics::pesq_wb(c, e, RATE).err().map(|e| e.to_string()).unwrap_or_default();
            notes.push(format!("{what}: no PESQ ({why})"));
        }
        s
    };
    let scores = score("enhanced", &enhanced, &job.enhanced);
    let noisy_scores = match &job.noisy {
        Some(p) => Some(score("noisy", &load(p)?, p)),
        None => None,
    };
    let report = FileReport {
        name: job.name.clone(),
        clean: job.clean.clone(),
        enhanced: job.enhanced.clone(),
        noisy: job.noisy.clone(),
        scores,
        noisy_scores,
        improvement: noisy_scores.map(|n| scores.minus(&n)),
    };
    Ok((report, notes))
}

/// The aligned text table: per-file rows, then the mean (and noisy mean and improvement).
fn render_table(r: &Report) -> String {
    let width = r.files.iter().map(|f| f.name.len()).chain([12, "improvement".len()]).max().unwrap_or(12);
    let mut s = String::new();
    s += &format!(
        "{:<width$} {:>6} {:>6} {:>6} {:>8} {:>8} {:>8} {:>9}\n",
        "file", "PESQ", "STOI", "ESTOI", "SI-SDR", "SNR", "segSNR", "delay"
    );
    s += format!("{:<width$} {:>6} {:>6} {:>6} {:>8} {:>8} {:>8} {:>9}", "", "", "", "", "dB", "dB", "dB", "ms")
        .trim_end();
    s += "\n";
    let row = |name: &str, sc: &Scores, delay: bool| {
        let pesq = sc.pesq.map_or_else(|| "-".to_string(), |p| format!("{p:.3}"));
        let delay = if delay { format!("{:.2}", sc.delay_samples as f64 * 1000.0 / RATE as f64) } else { String::new() };
        let line = format!(
            "{name:<width$} {pesq:>6} {:>6.3} {:>6.3} {:>8.2} {:>8.2} {:>8.2} {delay:>9}",
            sc.stoi, sc.estoi, sc.si_sdr, sc.snr, sc.seg_snr
        );
        format!("{}\n", line.trim_end())
    };
    for f in &r.files {
        s += &row(&f.name, &f.scores, true);
    }
    if let Some(m) = &r.mean {
        s += &format!("{}\n", "-".repeat(width + 58));
        s += &row(&format!("mean ({})", r.count), &m.enhanced, false);
        if let Some(n) = &m.noisy {
            s += &row("noisy mean", n, false);
        }
        if let Some(i) = &m.improvement {
            s += &row("improvement", i, false);
        }
    }
    s
}

/// Writes `report` as pretty JSON to a temp file next to `path`, then renames it into place.
fn write_json_atomic(path: &Path, report: &Report) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write {}: cannot create a temp file in {}", path.display(), dir.display()))?;
    serde_json::to_writer_pretty(&mut tmp, report)?;
    tmp.write_all(b"\n")?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(v: f64) -> Scores {
        Scores { pesq: Some(v), stoi: 0.5, estoi: 0.4, si_sdr: v, snr: v, seg_snr: v, delay_samples: 16 }
    }

    #[test]
    fn table_has_rows_means_and_improvement() {
        let f = FileReport {
            name: "a".into(),
            clean: "c/a.wav".into(),
            enhanced: "e/a.wav".into(),
            noisy: Some("n/a.wav".into()),
            scores: scores(3.0),
            noisy_scores: Some(scores(1.0)),
            improvement: Some(scores(3.0).minus(&scores(1.0))),
        };
        let mean = Means { enhanced: scores(3.0), noisy: Some(scores(1.0)), improvement: f.improvement };
        let r = Report { sample_rate: RATE, count: 1, files: vec![f], failed: vec![], mean: Some(mean) };
        let t = render_table(&r);
        assert!(t.contains("mean (1)") && t.contains("noisy mean") && t.contains("improvement"), "{t}");
        assert!(t.lines().nth(2).unwrap().trim_end().ends_with("1.00"), "{t}"); // 16 samples = 1 ms
        let widths: Vec<usize> = t.lines().filter(|l| !l.starts_with('-')).map(|l| l.trim_end().len()).collect();
        assert!(widths[2..].iter().all(|&w| w <= widths[0]), "{t}");
    }
}
