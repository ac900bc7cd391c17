//! PNG line plots of an ablation with plotters: validation SI-SDR / ESTOI against training
//! step, and quality against sampling steps. One colour per run; the noisy input is a dashed
//! grey line. Labels need a TrueType font ([`crate::bench::report::find_font`]); without one the
//! plots are drawn without text.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::vallog::Metric;
use super::RunReport;

/// One line of a panel.
#[derive(Debug, Clone)]
pub struct Line {
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// Points in x order.
    pub points: Vec<(f64, f64)>,
    /// Dashed (a reference or secondary line) instead of solid with markers.
    pub dashed: bool,
}

/// One chart of a figure.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Title above the chart.
    pub title: String,
    /// X-axis description.
    pub xdesc: String,
    /// Y-axis description.
    pub ydesc: String,
    /// The lines.
    pub lines: Vec<Line>,
    /// Fixed x tick positions (e.g. the step counts 1, 2, 3, 6); `None` for automatic ticks.
    pub xticks: Option<Vec<f64>>,
}

/// The colour of a run by name: standard blue, energy orange, learned green, others cycling.
pub fn run_color(name: &str, index: usize) -> RGBColor {
    match name {
        "standard" => RGBColor(31, 119, 180),
        "energy" => RGBColor(255, 127, 14),
        "learned" => RGBColor(44, 160, 44),
        _ => [RGBColor(214, 39, 40), RGBColor(148, 103, 189), RGBColor(140, 86, 75), RGBColor(227, 119, 194)][index % 4],
    }
}

/// The noisy-input reference colour.
pub const NOISY_COLOR: RGBColor = RGBColor(110, 110, 110);

/// Whether a TrueType font is registered for labels (registers one on the first call).
pub(crate) fn font_registered() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        crate::bench::report::find_font().is_some_and(|bytes| {
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
        })
    })
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("plot: {e}")
}

/// The range of `v` padded by `below` and `above` times its span; (0, 1) when empty.
fn range(v: impl Iterator<Item = f64>, below: f64, above: f64) -> (f64, f64) {
    let (lo, hi) = v.filter(|x| x.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(1e-3 * hi.abs().max(1.0));
    (lo - below * span, hi + above * span)
}

/// Decimals that tell apart ticks about `span / 8` apart.
fn decimals(span: f64) -> usize {
    let step = (span / 8.0).max(1e-9);
    (-step.log10()).ceil().clamp(0.0, 4.0) as usize
}

/// Draws one panel into `area`.
pub fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Panel, labels: bool) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (x0, x1) = range(p.lines.iter().flat_map(|l| l.points.iter().map(|q| q.0)), 0.04, 0.04);
    // Room at the bottom for the legend (lower right), a line of text per entry.
    let shown = p.lines.iter().filter(|l| !l.points.is_empty()).count();
    let below = if labels { 0.08 + 0.075 * shown as f64 } else { 0.06 };
    let (y0, y1) = range(p.lines.iter().flat_map(|l| l.points.iter().map(|q| q.1)), below, 0.06);
    let mut b = ChartBuilder::on(area);
    b.margin(14);
    if labels {
        b.caption(&p.title, ("sans-serif", 20)).x_label_area_size(42).y_label_area_size(60);
    }
    let mut chart = b.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?;
    if labels {
        let xticks = p.xticks.clone();
        let (xd, yd) = (decimals(x1 - x0), decimals(y1 - y0));
        let xfmt = move |v: &f64| match &xticks {
            Some(t) if t.iter().any(|k| (k - v).abs() < 1e-9) => format!("{v:.0}"),
            Some(_) => String::new(),
            None => format!("{v:.xd$}"),
        };
        let yfmt = move |v: &f64| format!("{v:.yd$}");
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(p.xdesc.as_str())
            .y_desc(p.ydesc.as_str())
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .y_labels(8)
            .light_line_style(RGBColor(238, 238, 238))
            .x_label_formatter(&xfmt)
            .y_label_formatter(&yfmt);
        // With fixed ticks, ask for one label per integer so that exactly those get text.
        match &p.xticks {
            Some(_) => mesh.x_labels(((x1 - x0).ceil() as usize + 1).max(2)),
            None => mesh.x_labels(8),
        };
        mesh.draw().map_err(err)?;
    } else {
        chart.configure_mesh().disable_x_mesh().disable_y_mesh().x_labels(0).y_labels(0).draw().map_err(err)?;
    }
    for l in p.lines.iter().filter(|l| !l.points.is_empty()) {
        let c = l.color;
        if l.dashed {
            let s = chart
                .draw_series(DashedLineSeries::new(l.points.clone(), 8, 6, c.stroke_width(2)))
                .map_err(err)?;
            if labels {
                s.label(l.label.clone())
                    .legend(move |(x, y)| plotters::element::DashedPathElement::new(vec![(x, y), (x + 20, y)], 6, 4, c.stroke_width(2)));
            }
        } else {
            let s = chart.draw_series(LineSeries::new(l.points.clone(), c.stroke_width(2))).map_err(err)?;
            if labels {
                s.label(l.label.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
            }
            chart.draw_series(l.points.iter().map(|&q| Circle::new(q, 3, c.filled()))).map_err(err)?;
        }
    }
    if labels {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// Draws `panels` side by side (`cols` per row) into a PNG of `cell` pixels per panel.
/// Returns whether text was drawn (a font was found).
pub fn draw_grid(path: &Path, panels: &[Panel], cols: usize, cell: (u32, u32)) -> Result<bool> {
    let labels = font_registered();
    let cols = cols.max(1);
    let rows = panels.len().div_ceil(cols).max(1);
    let root = BitMapBackend::new(path, (cell.0 * cols as u32, cell.1 * rows as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let areas = root.split_evenly((rows, cols));
    for (a, p) in areas.iter().zip(panels) {
        draw_panel(a, p, labels)?;
    }
    root.present().map_err(|e| anyhow!("plot: {}: {e}", path.display()))?;
    Ok(labels)
}

/// The panels (synthetic mixtures, VoiceBank-DEMAND) of one validation metric against
/// training step, one line per run, plus the noisy input of the first run that logged it.
/// With `zoom`, a second row shows the second half of training only (the first validations
/// are far below the rest and flatten the full-range plot).
pub fn val_panels(runs: &[RunReport], mix: Metric, vb: Metric, ydesc: &str, what: &str, sampling_steps: Option<usize>, zoom: bool) -> Vec<Panel> {
    let at = sampling_steps.map_or(String::new(), |s| format!(", {s}-step sampling"));
    let last = runs.iter().filter_map(|r| r.log.last().map(|p| p.step)).max().unwrap_or(0) as f64;
    let sets: Vec<(Metric, &str)> = [(mix, "mixtures"), (vb, "VoiceBank-DEMAND")]
        .into_iter()
        .filter(|(m, _)| runs.iter().any(|r| !r.log.curve(*m).is_empty()))
        .collect();
    let mut panels = Vec::new();
    for from in if zoom { vec![0.0, (last / 2.0).floor()] } else { vec![0.0] } {
        for &(m, set) in &sets {
            let mut lines: Vec<Line> = runs
                .iter()
                .enumerate()
                .map(|(i, r)| Line {
                    label: r.name.clone(),
                    color: run_color(&r.name, i),
                    points: r.log.curve(m).into_iter().filter(|p| p.0 >= from).collect(),
                    dashed: false,
                })
                .collect();
            if let Some(v) = runs.iter().find_map(|r| r.log.noisy.and_then(|n| n.get(m))) {
                lines.push(Line { label: "noisy input".into(), color: NOISY_COLOR, points: vec![(from, v), (last.max(from + 1.0), v)], dashed: true });
            }
            let part = if from > 0.0 { format!(" (steps {from:.0}+)") } else { String::new() };
            panels.push(Panel {
                title: format!("validation {what}, {set}{at}{part}"),
                xdesc: "training step".into(),
                ydesc: ydesc.into(),
                lines,
                xticks: None,
            });
        }
    }
    panels
}

/// Which score a quality-vs-steps panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepsMetric {
    /// SI-SDR, dB.
    SiSdr,
    /// ESTOI.
    Estoi,
    /// PESQ-WB.
    Pesq,
}

impl StepsMetric {
    fn get(self, r: &super::steps::StepsRow) -> Option<f64> {
        match self {
            StepsMetric::SiSdr => Some(r.si_sdr),
            StepsMetric::Estoi => Some(r.estoi),
            StepsMetric::Pesq => r.pesq_wb,
        }
    }

    fn name(self) -> &'static str {
        match self {
            StepsMetric::SiSdr => "SI-SDR dB",
            StepsMetric::Estoi => "ESTOI",
            StepsMetric::Pesq => "PESQ-WB",
        }
    }
}

/// Quality against sampling steps: for each set measured, one panel per metric, one solid
/// line per run (its `steps` table), a dashed line per run for `steps_last` when present,
/// and the noisy input dashed grey.
pub fn steps_panels(runs: &[RunReport], metrics: &[StepsMetric], set_titles: &[(&str, &str)]) -> Vec<Panel> {
    let sets = super::measured_sets(runs);
    let mut panels = Vec::new();
    for set in &sets {
        let title = super::set_title(set, set_titles);
        for &m in metrics {
            let mut lines = Vec::new();
            let mut xs: Vec<f64> = Vec::new();
            for (i, r) in runs.iter().enumerate() {
                for (table, dashed, suffix) in [(&r.steps, false, " (best)"), (&r.steps_last, true, " (last)")] {
                    let Some(t) = table else { continue };
                    let pts: Vec<(f64, f64)> = t.model_rows(set).iter().filter_map(|row| Some((row.steps as f64, m.get(row)?))).collect();
                    xs.extend(pts.iter().map(|p| p.0));
                    let label = if r.steps_last.is_some() { format!("{}{suffix}", r.name) } else { r.name.clone() };
                    if !pts.is_empty() {
                        lines.push(Line { label, color: run_color(&r.name, i), points: pts, dashed });
                    }
                }
            }
            if lines.is_empty() {
                continue;
            }
            xs.sort_by(f64::total_cmp);
            xs.dedup();
            let noisy = runs.iter().filter_map(|r| r.steps.as_ref()?.noisy(set)).find_map(|n| m.get(n));
            if let (Some(v), Some(&lo), Some(&hi)) = (noisy, xs.first(), xs.last()) {
                lines.push(Line { label: "noisy input".into(), color: NOISY_COLOR, points: vec![(lo, v), (hi, v)], dashed: true });
            }
            panels.push(Panel {
                title: format!("{} vs sampling steps, {title}", m.name()),
                xdesc: "reverse diffusion steps".into(),
                ydesc: m.name().into(),
                lines,
                xticks: Some(xs),
            });
        }
    }
    panels
}
