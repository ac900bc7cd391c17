//! The bench report: rows, JSON, the Markdown table and the latency / RTF / quality plot.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::{ChunkTimes, Machine};

/// The system a row measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum System {
    /// This crate's model through the streaming engine.
    Restoregrad,
    /// RNNoise (`nnnoiseless`), the reference.
    Rnnoise,
    /// The unprocessed noisy input (quality baseline only).
    Noisy,
}

impl std::fmt::Display for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            System::Restoregrad => "restoregrad",
            System::Rnnoise => "rnnoise",
            System::Noisy => "noisy input",
        })
    }
}

/// One measured setting.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// What was measured.
    pub system: System,
    /// Human-readable setting, e.g. `steps=2 C=4 thr=2 cpu`.
    pub setting: String,
    /// Reverse diffusion steps (restoregrad).
    pub steps: Option<usize>,
    /// STFT frames per model call (restoregrad).
    pub chunk_frames: Option<usize>,
    /// Compute threads (rayon pool size).
    pub threads: Option<usize>,
    /// Compute device.
    pub device: Option<String>,
    /// Lookahead in ms (0: both systems are causal; restoregrad has no lookahead setting).
    pub lookahead_ms: f64,
    /// Audio per model call, ms (the real-time budget of one call).
    pub chunk_audio_ms: Option<f64>,
    /// Algorithmic latency from the configuration, ms.
    pub algorithmic_latency_ms: Option<f64>,
    /// End-to-end latency measured with a chirp by cross-correlation, ms.
    pub measured_latency_ms: Option<f64>,
    /// Worst-case resampler block buffering on top of the stream delay, ms (0 at 16 kHz).
    pub buffering_ms: Option<f64>,
    /// Normalised correlation at the measured delay (confidence of the measurement).
    pub latency_correlation: Option<f64>,
    /// Per-call processing time after warm-up.
    pub chunk_times: Option<ChunkTimes>,
    /// Real-time factor: processing time / audio time.
    pub rtf: Option<f64>,
    /// Headroom, 1/RTF: how many times faster than real time.
    pub headroom: Option<f64>,
    /// Peak resident memory of the process during this measurement, MiB.
    pub peak_rss_mib: Option<f64>,
    /// Mean SI-SDR over the audio set, dB.
    pub si_sdr_db: f64,
    /// Mean ESTOI over the audio set.
    pub estoi: f64,
    /// This row's RTF divided by RNNoise's.
    pub rtf_vs_rnnoise: Option<f64>,
    /// This row's measured latency divided by RNNoise's.
    pub latency_vs_rnnoise: Option<f64>,
    /// This row's SI-SDR minus RNNoise's, dB.
    pub si_sdr_vs_rnnoise_db: Option<f64>,
}

/// The audio the quality and speed figures come from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AudioSet {
    /// The folder.
    pub dir: String,
    /// File names.
    pub files: Vec<String>,
    /// Total seconds per setting.
    pub seconds: f64,
}

/// Everything `restoregrad bench` measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// restoregrad version.
    pub version: String,
    /// Unix time of the run, seconds.
    pub unix_time: u64,
    /// Whether this was a `--quick` run.
    pub quick: bool,
    /// The model folder.
    pub model: String,
    /// The machine.
    pub machine: Machine,
    /// The audio set.
    pub audio: AudioSet,
    /// The rate of the latency probe, Hz.
    pub probe_rate: u32,
    /// The rows: restoregrad settings, then RNNoise, then the noisy input.
    pub rows: Vec<Row>,
    /// Remarks (contention, unsupported measurements).
    pub notes: Vec<String>,
}

impl Report {
    /// Fills the `*_vs_rnnoise` ratios of every row from the RNNoise row.
    pub fn compute_ratios(&mut self) {
        let Some(rn) = self.rows.iter().find(|r| r.system == System::Rnnoise).cloned() else { return };
        for r in &mut self.rows {
            if r.system == System::Noisy {
                continue;
            }
            r.rtf_vs_rnnoise = r.rtf.zip(rn.rtf).filter(|(_, b)| *b > 0.0).map(|(a, b)| a / b);
            r.latency_vs_rnnoise =
                r.measured_latency_ms.zip(rn.measured_latency_ms).filter(|(_, b)| *b > 0.0).map(|(a, b)| a / b);
            r.si_sdr_vs_rnnoise_db = Some(r.si_sdr_db - rn.si_sdr_db);
        }
    }

    /// The Markdown table (with the machine and notes above it).
    pub fn markdown(&self) -> String {
        let f = |v: Option<f64>, d: usize| v.map_or("–".to_string(), |v| format!("{v:.d$}"));
        let mut s = String::new();
        s += &format!("# restoregrad bench{}\n\n", if self.quick { " (quick)" } else { "" });
        s += &format!("- machine: {}\n", self.machine.summary());
        s += &format!("- model: {}\n", self.model);
        s += &format!(
            "- audio: {} file(s), {:.1} s per setting ({}); latency probe at {} Hz\n",
            self.audio.files.len(),
            self.audio.seconds,
            self.audio.dir,
            self.probe_rate
        );
        for n in &self.notes {
            s += &format!("- note: {n}\n");
        }
        s += "\n";
        s += "| system | setting | chunk ms | alg. latency ms | measured latency ms | median ms | p90 ms | p99 ms | max ms | RTF | 1/RTF | peak RSS MiB | SI-SDR dB | ESTOI | RTF ×RNNoise | latency ×RNNoise |\n";
        s += "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
        for r in &self.rows {
            let ct = r.chunk_times;
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.3} | {} | {} |\n",
                r.system,
                r.setting,
                f(r.chunk_audio_ms, 0),
                f(r.algorithmic_latency_ms, 1),
                f(r.measured_latency_ms, 1),
                f(ct.map(|c| c.median_ms), 2),
                f(ct.map(|c| c.p90_ms), 2),
                f(ct.map(|c| c.p99_ms), 2),
                f(ct.map(|c| c.max_ms), 2),
                f(r.rtf, 3),
                f(r.headroom, 1),
                f(r.peak_rss_mib, 0),
                r.si_sdr_db,
                r.estoi,
                f(r.rtf_vs_rnnoise, 1),
                f(r.latency_vs_rnnoise, 1),
            );
        }
        s += "\nchunk ms: audio per model call (the real-time budget of one call; RNNoise: one 10 ms frame). \
              Latencies: algorithmic from the configuration, measured with a chirp through the threaded engine \
              (RNNoise: through its streaming resampler + frame loop) by cross-correlation; resampler block \
              buffering (`buffering_ms` in the JSON, 0 when the probe rate is 16 kHz for restoregrad / 48 kHz for RNNoise) comes on top for a live device. \
              Per-call times after warm-up; RTF = processing time / audio time over the whole streaming path; \
              1/RTF is the headroom. Quality: mean over the audio set, outputs aligned by the known delay.\n";
        s
    }

    /// Writes the JSON report atomically (temporary file, then rename).
    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(self)?;
        write_atomic(path, json.as_bytes())
    }

    /// Writes the Markdown table atomically.
    pub fn write_markdown(&self, path: &Path) -> anyhow::Result<()> {
        write_atomic(path, self.markdown().as_bytes())
    }

    /// Draws latency vs RTF (left) and RTF vs SI-SDR (right) as a PNG; restoregrad points are
    /// blue, RNNoise red. Text is drawn when a TrueType font is found on the system (see
    /// [`find_font`]); otherwise the plot has no labels. Returns whether labels were drawn.
    pub fn plot_png(&self, path: &Path) -> anyhow::Result<bool> {
        plot::draw(self, path)
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))
}

/// A TrueType font for plot labels: `$RESTOREGRAD_FONT`, else the first of a few common system
/// fonts (DejaVu Sans, Liberation Sans, Arial). Nothing is downloaded.
pub fn find_font() -> Option<Vec<u8>> {
    let mut c: Vec<std::path::PathBuf> = Vec::new();
    if let Ok(p) = std::env::var("RESTOREGRAD_FONT") {
        c.push(p.into());
    }
    for p in [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
        "/Library/Fonts/Arial.ttf",
        "/System/Library/Fonts/Supplemental/Arial.ttf",
        "C:\\Windows\\Fonts\\arial.ttf",
    ] {
        c.push(p.into());
    }
    c.into_iter().find_map(|p| std::fs::read(p).ok())
}

mod plot {
    use super::{Report, System};
    use plotters::prelude::*;
    use std::path::Path;
    use std::sync::OnceLock;

    fn font_registered() -> bool {
        static OK: OnceLock<bool> = OnceLock::new();
        *OK.get_or_init(|| {
            super::find_font().is_some_and(|bytes| {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
            })
        })
    }

    type Pt = (f64, f64, System, String);

    fn fmt_num(v: &f64) -> String {
        let a = v.abs();
        if a >= 10.0 || a == 0.0 {
            format!("{v:.0}")
        } else if a >= 1.0 {
            format!("{v:.1}")
        } else if a >= 0.1 {
            format!("{v:.2}")
        } else {
            format!("{v:.3}")
        }
    }

    fn label(system: System, setting: &str) -> String {
        match system {
            System::Restoregrad => setting.replace(" cpu", "").replace("steps=", "s").replace(" C=", " C").replace(" thr=", " t"),
            other => other.to_string(),
        }
    }

    fn range(v: impl Iterator<Item = f64> + Clone, log: bool) -> (f64, f64) {
        let lo = v.clone().fold(f64::INFINITY, f64::min);
        let hi = v.fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() {
            return if log { (0.01, 1.0) } else { (0.0, 1.0) };
        }
        if log {
            (lo.max(1e-4) / 1.6, hi.max(1e-4) * 1.6)
        } else {
            let pad = ((hi - lo) * 0.12).max(1.0);
            (lo - pad, hi + pad)
        }
    }

    fn color(s: System) -> RGBColor {
        match s {
            System::Restoregrad => RGBColor(31, 119, 180),
            System::Rnnoise => RGBColor(214, 39, 40),
            System::Noisy => RGBColor(120, 120, 120),
        }
    }

    fn panel<DB: DrawingBackend>(
        area: &DrawingArea<DB, plotters::coord::Shift>,
        pts: &[Pt],
        labels: bool,
        caption: &str,
        xdesc: &str,
        ydesc: &str,
        xlog: bool,
    ) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let (x0, x1) = range(pts.iter().map(|p| p.0), xlog);
        let (y0, y1) = range(pts.iter().map(|p| p.1), !xlog);
        let mut b = ChartBuilder::on(area);
        b.margin(16);
        if labels {
            b.caption(caption, ("sans-serif", 20)).x_label_area_size(40).y_label_area_size(56);
        }
        let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("plot: {e}");
        macro_rules! body {
            ($chart:expr, $tx:expr, $ty:expr) => {{
                let mut chart = $chart;
                if labels {
                    chart
                        .configure_mesh()
                        .x_desc(xdesc)
                        .y_desc(ydesc)
                        .x_labels(8)
                        .y_labels(8)
                        .light_line_style(WHITE)
                        .x_label_formatter(&fmt_num)
                        .y_label_formatter(&fmt_num)
                        .draw().map_err(|e| err(&e))?;
                } else {
                    chart.configure_mesh().disable_x_mesh().disable_y_mesh().x_labels(0).y_labels(0).draw().map_err(|e| err(&e))?;
                }
                for p in pts {
                    let c = color(p.2);
                    chart
                        .draw_series(std::iter::once(Circle::new(($tx(p.0), $ty(p.1)), 5, c.filled())))
                        .map_err(|e| err(&e))?;
                    if labels {
                        chart
                            .draw_series(std::iter::once(Text::new(
                                p.3.clone(),
                                ($tx(p.0), $ty(p.1)),
                                ("sans-serif", 11).into_font().color(&c),
                            )))
                            .map_err(|e| err(&e))?;
                    }
                }
            }};
        }
        if xlog {
            let chart = b.build_cartesian_2d((x0..x1).log_scale(), y0..y1).map_err(|e| err(&e))?;
            body!(chart, |v: f64| v, |v: f64| v);
        } else {
            let chart = b.build_cartesian_2d(x0..x1, (y0..y1).log_scale()).map_err(|e| err(&e))?;
            body!(chart, |v: f64| v, |v: f64| v);
        }
        Ok(())
    }

    pub(super) fn draw(r: &Report, path: &Path) -> anyhow::Result<bool> {
        let labels = font_registered();
        let rows: Vec<_> = r.rows.iter().filter(|r| r.system != System::Noisy && r.rtf.is_some()).collect();
        let lat_rtf: Vec<Pt> = rows
            .iter()
            .filter_map(|x| {
                let lat = x.measured_latency_ms.or(x.algorithmic_latency_ms)?;
                Some((lat, x.rtf?, x.system, format!(" {} {:.1}dB", label(x.system, &x.setting), x.si_sdr_db)))
            })
            .collect();
        let rtf_q: Vec<Pt> =
            rows.iter().map(|x| (x.rtf.unwrap_or(0.0), x.si_sdr_db, x.system, format!(" {}", label(x.system, &x.setting)))).collect();
        let root = BitMapBackend::new(path, (1400, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow::anyhow!("plot: {e}"))?;
        let (left, right) = root.split_horizontally(700);
        // Left: x latency (linear), y RTF (log). Right: x RTF (log), y SI-SDR (linear).
        panel(&left, &lat_rtf, labels, "latency vs real-time factor", "latency ms", "RTF (log)", false)?;
        panel(&right, &rtf_q, labels, "real-time factor vs SI-SDR", "RTF (log)", "SI-SDR dB", true)?;
        root.present().map_err(|e| anyhow::anyhow!("plot: {}: {e}", path.display()))?;
        Ok(labels)
    }
}
