//! What a run did: one line on stderr, or (`--json`) a machine-readable summary on stdout.

use serde::Serialize;

/// The result of one file.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The input as given (`-` for stdin).
    pub input: String,
    /// The output as given (`-` for stdout).
    pub output: String,
    /// Seconds of audio enhanced (0 on error).
    pub seconds: f64,
    /// Wall-clock seconds spent on the file.
    pub wall_seconds: f64,
    /// `ok` or `error`.
    pub status: &'static str,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The `--json` document.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    files: &'a [Outcome],
    ok: usize,
    failed: usize,
    audio_seconds: f64,
    wall_seconds: f64,
    /// Audio seconds per wall second (higher is faster).
    realtime_factor: f64,
}

fn totals(outcomes: &[Outcome]) -> (usize, f64) {
    let ok = outcomes.iter().filter(|o| o.error.is_none()).count();
    (ok, outcomes.iter().map(|o| o.seconds).sum())
}

/// The one-line summary, e.g. `enhanced 3 files, 30.0 s of audio in 2.1 s (14.3x real time)`.
pub fn line(outcomes: &[Outcome], wall: f64) -> String {
    let (ok, audio) = totals(outcomes);
    let failed = outcomes.len() - ok;
    let files = if ok == 1 { "file" } else { "files" };
    let mut s = format!("enhanced {ok} {files}, {audio:.1} s of audio in {wall:.1} s ({:.1}x real time)", audio / wall.max(1e-9));
    if failed > 0 {
        s += &format!("; {failed} failed");
    }
    s
}

/// The `--json` summary.
pub fn json(outcomes: &[Outcome], wall: f64) -> String {
    let (ok, audio) = totals(outcomes);
    let summary = Summary { files: outcomes, ok, failed: outcomes.len() - ok, audio_seconds: audio, wall_seconds: wall, realtime_factor: audio / wall.max(1e-9) };
    serde_json::to_string_pretty(&summary).expect("plain data serializes")
}
