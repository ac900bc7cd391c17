//! `enhance --plot`: one file's time-frequency picture as a PNG of four stacked panels, (1) the noisy
//! spectrogram, (2) the enhanced spectrogram, (3) the per-bin gain |enhanced| / |noisy| in dB (what
//! was removed), and (4) the model's prior log-variance map log Σ_prior(y).
//!
//! Everything is computed at 16 kHz with the model's own STFT ([`crate::dsp::stft::stft`]) on the
//! first `n_freq` bins (the Nyquist bin, which the network never sees, is dropped), so the four
//! panels share one grid. Multichannel files are averaged to mono. The prior map is
//! [`RestoreGrad::prior_logvar`] on the compressed noisy planes `[1, 2, T, F]`, exactly what the
//! sampler scales its noise with.

use std::path::Path;

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::dsp::stft::stft;
use crate::model::features::compress;
use crate::model::{ModelConfig, PriorMode, RestoreGrad};
use crate::MODEL_RATE;

/// Most cells drawn per panel along time and frequency: finer grids are averaged down to this.
/// Why: one rectangle per cell keeps plotters simple, and more cells than pixels only costs time.
pub const MAX_CELLS: (usize, usize) = (800, 256);

/// Dynamic range of the spectrogram panels below the louder file's peak, dB.
const SPEC_RANGE_DB: f32 = 80.0;
/// Colour range of the gain panel, dB (cuts deeper than -40 dB all look "removed").
const GAIN_RANGE_DB: (f32, f32) = (-40.0, 10.0);

/// A time-frequency map, frame-major: `v[t * n_freq + f]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TfMap {
    /// Frames.
    pub n_frames: usize,
    /// Frequency bins.
    pub n_freq: usize,
    /// Values, `n_frames * n_freq`.
    pub v: Vec<f32>,
}

impl TfMap {
    /// Averages blocks of cells so that the map has at most `max_t` frames and `max_f` bins.
    pub fn pooled(&self, max_t: usize, max_f: usize) -> TfMap {
        let gt = self.n_frames.div_ceil(max_t.max(1)).max(1);
        let gf = self.n_freq.div_ceil(max_f.max(1)).max(1);
        let (nt, nf) = (self.n_frames.div_ceil(gt), self.n_freq.div_ceil(gf));
        let mut v = vec![0.0; nt * nf];
        let mut count = vec![0u32; nt * nf];
        for t in 0..self.n_frames {
            for f in 0..self.n_freq {
                let i = (t / gt) * nf + f / gf;
                v[i] += self.v[t * self.n_freq + f];
                count[i] += 1;
            }
        }
        v.iter_mut().zip(&count).for_each(|(x, &c)| *x /= c.max(1) as f32);
        TfMap { n_frames: nt, n_freq: nf, v }
    }

    /// (min, max) of the finite values; (0, 0) when there are none.
    pub fn range(&self) -> (f32, f32) {
        let (lo, hi) = self.v.iter().filter(|x| x.is_finite()).fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        if lo.is_finite() { (lo, hi) } else { (0.0, 0.0) }
    }
}

/// Reads `path` as mono (channel mean) at 16 kHz.
fn mono_16k(path: &Path) -> Result<Vec<f32>> {
    let audio = crate::audio::read_audio(path)?;
    if audio.frames() == 0 {
        bail!("{}: zero-length audio, nothing to plot", path.display());
    }
    Ok(crate::dsp::resample::resample(&audio.to_mono(), audio.sample_rate, MODEL_RATE))
}

/// The model's STFT of `x` on its first `n_freq` bins.
fn spectrum(cfg: &ModelConfig, x: &[f32]) -> (usize, Vec<crate::dsp::Complex32>) {
    let spec = stft(&cfg.stft(), x);
    let frames = (0..spec.n_frames).flat_map(|t| spec.frame(t)[..cfg.n_freq].iter().copied()).collect();
    (spec.n_frames, frames)
}

/// 20·log10 |X| per bin (floored at -200 dB so that silence stays finite).
fn db(cfg: &ModelConfig, n_frames: usize, frames: &[crate::dsp::Complex32]) -> TfMap {
    let v = frames.iter().map(|c| 20.0 * c.norm().max(1e-10).log10()).collect();
    TfMap { n_frames, n_freq: cfg.n_freq, v }
}

/// Per-bin gain |enhanced| / |noisy| in dB. Bins where the noisy input is below the plotted range
/// read 0 dB: their ratio is of two near-zero numbers and would only paint noise.
fn gain_db(noisy: &TfMap, enhanced: &TfMap, floor_db: f32) -> TfMap {
    let v = noisy.v.iter().zip(&enhanced.v).map(|(&n, &e)| if n < floor_db { 0.0 } else { e - n }).collect();
    TfMap { n_frames: noisy.n_frames, n_freq: noisy.n_freq, v }
}

/// log Σ_prior(y) per bin of the noisy spectrum `frames` (`n_frames * n_freq`).
fn prior_map(cfg: &ModelConfig, model: &RestoreGrad, device: &Device, n_frames: usize, frames: &[crate::dsp::Complex32]) -> Result<TfMap> {
    let n = n_frames * cfg.n_freq;
    let mut planes = vec![0.0; 2 * n];
    let (re, im) = planes.split_at_mut(n);
    compress(frames, cfg.n_freq, cfg.n_freq, cfg.compress_alpha as f32, cfg.compress_beta as f32, re, im);
    let y = Tensor::<4>::from_data(TensorData::new(planes, [1, 2, n_frames, cfg.n_freq]), device); // [1,2,T,F]
    let logvar = model.prior_logvar(cfg, y); // [1,1,T,F]
    let v: Vec<f32> = logvar.into_data().try_into_vec().map_err(|e| anyhow::anyhow!("prior log-variance: {e:?}"))?;
    Ok(TfMap { n_frames, n_freq: cfg.n_freq, v })
}

/// The title of the prior panel, saying which prior made it.
fn prior_title(prior: PriorMode) -> &'static str {
    match prior {
        PriorMode::Standard => "prior log-variance log Σ_prior(y) per bin — standard prior: Σ = I (all zeros)",
        PriorMode::Energy => "prior log-variance log Σ_prior(y) per bin — energy prior (floored noisy bin power)",
        PriorMode::Learned => "prior log-variance log Σ_prior(y) per bin — learned Prior Net",
    }
}

/// Refuses a `--plot` that would draw more than one file or overwrite `input` or `output`.
pub fn check_plot_target(inputs: &[std::path::PathBuf], output: &Path, png: &Path) -> Result<()> {
    if inputs.len() != 1 {
        bail!("--plot {} draws one file; got {} inputs (enhance them one at a time)", png.display(), inputs.len());
    }
    for (what, path) in [("input", &inputs[0] as &Path), ("output", output)] {
        if crate::audio::ensure_distinct(path, png).is_err() {
            bail!("--plot {}: is the same file as the {what} {}; give the PNG its own name", png.display(), path.display());
        }
    }
    png_folder(png).map(|_| ())
}

/// The existing folder `png` goes into, or an error naming both.
fn png_folder(png: &Path) -> Result<&Path> {
    let dir = match png.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!("--plot {}: folder {} does not exist", png.display(), dir.display());
    }
    Ok(dir)
}

/// Draws the four panels for `noisy` and its enhanced version `enhanced` (aligned sample for
/// sample, as `enhance` writes it) into the PNG `png`, atomically (temp file + rename).
pub fn plot_enhancement(noisy: &Path, enhanced: &Path, cfg: &ModelConfig, model: &RestoreGrad, device: &Device, png: &Path) -> Result<()> {
    let (x, y) = (mono_16k(noisy)?, mono_16k(enhanced)?);
    let ((tn, fx), (te, fy)) = (spectrum(cfg, &x), spectrum(cfg, &y));
    if tn != te {
        bail!("{}: {te} frames but the input {} has {tn}: not an aligned enhancement", enhanced.display(), noisy.display());
    }
    let prior = prior_map(cfg, model, device, tn, &fx).with_context(|| format!("{}: prior map", noisy.display()))?;
    let panels = panels(db(cfg, tn, &fx), db(cfg, te, &fy), prior, cfg.prior);
    let seconds = (tn * cfg.hop) as f64 / MODEL_RATE as f64;
    write_png_atomic(png, |path| draw(path, &panels, seconds))
}

/// The four panels from the noisy and enhanced dB maps and the prior map.
fn panels(mut nx: TfMap, mut ny: TfMap, prior: TfMap, mode: PriorMode) -> [Heat; 4] {
    // Relative to the louder file's peak: the STFT is unnormalised, so absolute dB would mean little.
    let top = nx.range().1.max(ny.range().1);
    nx.v.iter_mut().chain(ny.v.iter_mut()).for_each(|v| *v -= top);
    let spec_range = (-SPEC_RANGE_DB, 0.0);
    let gain = gain_db(&nx, &ny, spec_range.0);
    let prior_range = padded(prior.range());
    [
        Heat { title: "noisy spectrogram, dB re peak".into(), map: nx, range: spec_range, cmap: Cmap::Magma },
        Heat { title: "enhanced spectrogram, dB re the same peak".into(), map: ny, range: spec_range, cmap: Cmap::Magma },
        Heat { title: "gain |enhanced| / |noisy| per bin, dB (blue: removed, red: added)".into(), map: gain, range: GAIN_RANGE_DB, cmap: Cmap::Diverging },
        Heat { title: prior_title(mode).into(), map: prior, range: prior_range, cmap: Cmap::Viridis },
    ]
}

/// A colour range of at least 2 (a constant map, e.g. the standard prior's zeros, gets ±1).
fn padded((lo, hi): (f32, f32)) -> (f32, f32) {
    if hi - lo < 1e-6 { (lo - 1.0, hi + 1.0) } else { (lo, hi) }
}

/// Runs `draw` on a temporary `.png` beside `png`, then renames it into place, so a reader never
/// sees a half-written picture and a failure leaves any older file untouched.
fn write_png_atomic(png: &Path, draw: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let dir = png_folder(png)?;
    let name = png.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // The temp name must end in .png: the bitmap backend picks the image format from it.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp.png")
        .tempfile_in(dir)
        .with_context(|| format!("{}: cannot create a temporary file beside it", png.display()))?;
    draw(tmp.path()).with_context(|| format!("{}: cannot draw", png.display()))?;
    #[cfg(unix)]
    {
        // NamedTempFile is created 0600; give the result ordinary file permissions.
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644));
    }
    tmp.persist(png).map_err(|e| anyhow::anyhow!("{}: cannot move the finished file into place: {}", png.display(), e.error))?;
    Ok(())
}

/// One heatmap panel.
struct Heat {
    title: String,
    map: TfMap,
    range: (f32, f32),
    cmap: Cmap,
}

/// Colour maps: perceptually ordered for magnitudes, diverging around 0 dB for the gain.
#[derive(Clone, Copy)]
enum Cmap {
    Magma,
    Viridis,
    Diverging,
}

impl Cmap {
    /// The colour of `v` in `range`; the diverging map puts white at 0.
    fn color(self, v: f32, (lo, hi): (f32, f32)) -> RGBColor {
        let stops: &[(u8, u8, u8)] = match self {
            Cmap::Magma => &[(0, 0, 4), (59, 15, 112), (140, 41, 129), (222, 73, 104), (254, 159, 109), (252, 253, 191)],
            Cmap::Viridis => &[(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)],
            Cmap::Diverging => &[(33, 102, 172), (146, 197, 222), (247, 247, 247), (244, 165, 130), (178, 24, 43)],
        };
        let u = match self {
            // Piecewise so 0 dB is the middle (white) stop even though the range is lopsided.
            Cmap::Diverging if v < 0.0 => 0.5 - 0.5 * (v / lo).clamp(0.0, 1.0),
            Cmap::Diverging => 0.5 + 0.5 * (v / hi).clamp(0.0, 1.0),
            _ => ((v - lo) / (hi - lo)).clamp(0.0, 1.0),
        };
        lerp(stops, if u.is_finite() { u } else { 0.0 })
    }
}

/// Linear interpolation between evenly spaced colour stops at `u` in [0, 1].
fn lerp(stops: &[(u8, u8, u8)], u: f32) -> RGBColor {
    let x = u * (stops.len() - 1) as f32;
    let i = (x.floor() as usize).min(stops.len() - 2);
    let w = x - i as f32;
    let mix = |a: u8, b: u8| (a as f32 + w * (b as f32 - a as f32)).round() as u8;
    let (a, b) = (stops[i], stops[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn perr(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("plot: {e}")
}

/// Draws the panels stacked into the PNG `path`, `seconds` long on the time axis.
fn draw(path: &Path, panels: &[Heat], seconds: f64) -> Result<()> {
    let labels = super::plot::font_registered();
    let (w, h) = (1400, 300 * panels.len() as u32);
    let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(perr)?;
    for (area, p) in root.split_evenly((panels.len(), 1)).iter().zip(panels) {
        let (chart, bar) = area.split_horizontally(w - 120);
        draw_heat(&chart, p, seconds, labels)?;
        draw_colorbar(&bar, p, labels)?;
    }
    root.present().map_err(perr)
}

/// One heatmap: a rectangle per (pooled) cell, time in seconds against frequency in kHz.
fn draw_heat<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Heat, seconds: f64, labels: bool) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let khz = MODEL_RATE as f64 / 2000.0;
    let mut b = ChartBuilder::on(area);
    b.margin(8);
    if labels {
        b.caption(&p.title, ("sans-serif", 18)).x_label_area_size(34).y_label_area_size(52);
    }
    let mut chart = b.build_cartesian_2d(0.0..seconds, 0.0..khz).map_err(perr)?;
    let m = p.map.pooled(MAX_CELLS.0, MAX_CELLS.1);
    // Cell (t, f) spans its frames' hops and its bins' width (the bins of the pooled map).
    let (dt, df) = (seconds / m.n_frames as f64, khz / m.n_freq as f64);
    let cells = (0..m.n_frames).flat_map(|t| (0..m.n_freq).map(move |f| (t, f)));
    chart
        .draw_series(cells.map(|(t, f)| {
            let c = p.cmap.color(m.v[t * m.n_freq + f], p.range);
            Rectangle::new([(t as f64 * dt, f as f64 * df), ((t + 1) as f64 * dt, (f + 1) as f64 * df)], c.filled())
        }))
        .map_err(perr)?;
    let mut mesh = chart.configure_mesh();
    mesh.disable_mesh();
    if labels {
        mesh.x_desc("time, s").y_desc("frequency, kHz").label_style(("sans-serif", 13)).axis_desc_style(("sans-serif", 14));
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.draw().map_err(perr)
}

/// The panel's colour scale: a vertical gradient with its values.
fn draw_colorbar<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Heat, labels: bool) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (lo, hi) = (p.range.0 as f64, p.range.1 as f64);
    let mut b = ChartBuilder::on(area);
    // Top margin matches the heatmap's caption so the bar lines up with the plot area.
    b.margin(8).margin_top(if labels { 36 } else { 8 }).margin_bottom(if labels { 42 } else { 8 });
    if labels {
        b.y_label_area_size(50);
    }
    let mut chart = b.build_cartesian_2d(0.0..1.0, lo..hi).map_err(perr)?;
    let n = 128;
    let step = (hi - lo) / n as f64;
    chart
        .draw_series((0..n).map(|i| {
            let v = lo + (i as f64 + 0.5) * step;
            Rectangle::new([(0.0, lo + i as f64 * step), (1.0, lo + (i + 1) as f64 * step)], p.cmap.color(v as f32, p.range).filled())
        }))
        .map_err(perr)?;
    let decimals = if hi - lo < 5.0 { 1 } else { 0 };
    let fmt = move |v: &f64| format!("{v:.decimals$}");
    let mut mesh = chart.configure_mesh();
    mesh.disable_mesh().x_labels(0);
    if labels {
        mesh.y_labels(6).label_style(("sans-serif", 12)).y_label_formatter(&fmt);
    } else {
        mesh.y_labels(0);
    }
    mesh.draw().map_err(perr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_averages_blocks_and_caps_the_grid() {
        let m = TfMap { n_frames: 5, n_freq: 4, v: (0..20).map(|x| x as f32).collect() };
        let p = m.pooled(3, 2);
        assert_eq!((p.n_frames, p.n_freq), (3, 2));
        // First block: frames 0-1, bins 0-1 -> mean of 0, 1, 4, 5.
        assert_eq!(p.v[0], 2.5);
        // Last frame alone (5 frames in blocks of 2): bins 2-3 of frame 4 -> mean of 18, 19.
        assert_eq!(p.v[5], 18.5);
    }

    #[test]
    fn diverging_map_is_white_at_zero_and_ends_at_the_range() {
        let r = GAIN_RANGE_DB;
        assert_eq!(Cmap::Diverging.color(0.0, r), RGBColor(247, 247, 247));
        assert_eq!(Cmap::Diverging.color(-100.0, r), RGBColor(33, 102, 172));
        assert_eq!(Cmap::Diverging.color(r.1, r), RGBColor(178, 24, 43));
        assert_eq!(Cmap::Magma.color(f32::NAN, (0.0, 1.0)), RGBColor(0, 0, 4));
    }

    #[test]
    fn constant_maps_get_a_nonempty_colour_range() {
        assert_eq!(padded((0.0, 0.0)), (-1.0, 1.0));
        assert_eq!(padded((-3.0, 2.0)), (-3.0, 2.0));
    }
}
