//! The training loop with checkpoints, CSV logs and exact resume.
//!
//! A run folder holds `config.json` (the model), `train.json` (these options), `log.csv`,
//! `checkpoint/` (training weights, EMA weights, optimiser state, step) and `best/` (the EMA
//! model folder with the best validation score so far).

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::batch::{spawn_loader, HostBatch};
use super::data::{Corpus, Mixing, ValidationSets};
use super::ema;
use super::options::{PosteriorStart, TrainOptions};
use super::validate::{score_noisy, score_set, ValScores};
use crate::model::diffusion::Schedule;
use crate::model::io::{load_config, save_model};
use crate::model::restoregrad::{TrainBatch, TrainModel};
use crate::model::config::PriorMode;
use crate::model::net::VarianceNet;
use crate::model::{ModelConfig, RestoreGrad};

/// The two VoiceBank-DEMAND CSV columns: empty when every real pair is trained on.
fn vb_columns(val: &ValidationSets, vb: ValScores) -> String {
    if val.vbdemand.is_empty() {
        ",".to_string()
    } else {
        format!("{:.3},{:.4}", vb.si_sdr, vb.estoi)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct RunState {
    step: u64,
    elapsed_s: f64,
    best_score: Option<f64>,
    best_step: Option<u64>,
}

fn lr_at(opts: &TrainOptions, step: u64) -> f64 {
    if step < opts.warmup {
        return opts.lr * (step + 1) as f64 / opts.warmup as f64;
    }
    let p = (step - opts.warmup) as f64 / (opts.steps.saturating_sub(opts.warmup).max(1)) as f64;
    let cos = 0.5 * (1.0 + (std::f64::consts::PI * p.min(1.0)).cos());
    opts.lr * (0.1 + 0.9 * cos)
}

/// The selection score: validation SI-SDR (dB) plus 20 × ESTOI, on the synthetic mixtures.
fn selection_score(v: &ValScores) -> f64 {
    v.si_sdr + 20.0 * v.estoi
}

const CSV_HEADER: &str = "step,elapsed_s,steps_per_s,lr,loss,l_dm,l_lr,l_pm,l_clean,val_sisdr_mix,val_estoi_mix,val_sisdr_vb,val_estoi_vb";

fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(v)?).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: invalid JSON", path.display()))
}

fn to_batch(h: HostBatch, cfg: &ModelConfig, device: &Device) -> TrainBatch {
    let shape = [h.batch, 2, h.frames, cfg.n_freq];
    let t = |v: Vec<f32>| Tensor::<4>::from_data(TensorData::new(v, shape), device);
    TrainBatch { clean: t(h.clean), noisy: t(h.noisy), z: t(h.z), times: h.times, start_form: h.start_form, prior_drawn: h.prior_drawn }
}

/// Saves the checkpoint atomically: written to `checkpoint.tmp`, then swapped in.
fn save_checkpoint(run: &Path, model: &TrainModel, ema: &RestoreGrad, optim: &burn::optim::ModuleOptimizer, state: &RunState) -> Result<()> {
    let tmp = run.join("checkpoint.tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    model.clone().save_file(tmp.join("train.bpk")).map_err(|e| anyhow::anyhow!("saving checkpoint: {e}"))?;
    ema.clone().save_file(tmp.join("ema.bpk")).map_err(|e| anyhow::anyhow!("saving checkpoint: {e}"))?;
    optim.save(tmp.join("optim.bpk")).map_err(|e| anyhow::anyhow!("saving optimiser: {e}"))?;
    write_json(&tmp.join("state.json"), state)?;
    let dst = run.join("checkpoint");
    let old = run.join("checkpoint.old");
    let _ = std::fs::remove_dir_all(&old);
    if dst.exists() {
        std::fs::rename(&dst, &old)?;
    }
    std::fs::rename(&tmp, &dst)?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// The total steps recorded for the run in `run` (its `train.json`).
pub fn recorded_steps(run: &Path) -> Result<u64> {
    let saved: TrainOptions = read_json(&run.join("train.json"))?;
    Ok(saved.steps)
}

/// Trains (or with `resume`, continues) the run in `run`. `cfg` and `opts` are used for a new
/// run; a resumed run reads its own, and only `opts.steps` may extend it.
pub fn train(run: &Path, cfg: ModelConfig, opts: TrainOptions, resume: bool, device: Device, quiet: bool) -> Result<()> {
    let (cfg, opts) = prepare_run(run, cfg, opts, resume)?;
    let ad = device.clone().autodiff();
    ad.seed(opts.seed);
    let mut t = start_weights(run, &cfg, &opts, resume, &ad, &device, quiet)?;
    if t.state.step >= opts.steps {
        println!("{}: already at step {} of {}", run.display(), t.state.step, opts.steps);
        return Ok(());
    }
    let (corpus, val) = load_data(&opts)?;
    let mut csv = open_log(run, &val)?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let seg_len = (opts.segment_secs * crate::MODEL_RATE as f32) as usize / cfg.hop * cfg.hop;
    let (rx, _loader) = spawn_loader(corpus, cfg.clone(), opts.clone(), t.state.step, seg_len);
    let bar = progress_bar(quiet, opts.steps, t.state.step);
    let schedule = Schedule::new(cfg.train_steps, cfg.beta_start, cfg.beta_end);
    let (started, base_elapsed) = (Instant::now(), t.state.elapsed_s);
    let mut window = LossWindow::new(t.state.step);
    while t.state.step < opts.steps {
        let host = rx.recv().context("the data loader stopped")?;
        debug_assert_eq!(host.step, t.state.step);
        let lr = lr_at(&opts, t.state.step);
        let losses = t.step(&cfg, &schedule, &opts, to_batch(host, &cfg, &ad), lr)?;
        t.state.elapsed_s = base_elapsed + started.elapsed().as_secs_f64();
        window.add(losses);
        bar.set_position(t.state.step);
        if t.state.step % 25 == 0 || t.state.step == opts.steps {
            let line = window.flush(&mut csv, &t.state, lr)?;
            bar.set_message(line);
        }
        let interrupted = stop.load(Ordering::SeqCst);
        if t.state.step % opts.val_every == 0 || t.state.step == opts.steps {
            let line = validate(run, &cfg, &mut t, &val, &device, opts.val_sampling_steps, &mut csv)?;
            bar.println(line);
        }
        if t.state.step % opts.ckpt_every == 0 || t.state.step == opts.steps || interrupted {
            save_checkpoint(run, &t.model, &t.ema, &t.optim, &t.state)?;
        }
        csv.flush()?;
        if interrupted {
            bar.abandon();
            return Err(crate::error::Interrupted(format!("checkpoint saved at step {}", t.state.step)).into());
        }
    }
    bar.finish_with_message(format!("done: {} steps in {:.0} s", t.state.step, t.state.elapsed_s));
    Ok(())
}

/// The run's config and options: a resumed run's own (only `--steps` may extend it, and only
/// upwards), or the given ones for a new run, whose folder is created. Both are (re)written.
fn prepare_run(run: &Path, cfg: ModelConfig, opts: TrainOptions, resume: bool) -> Result<(ModelConfig, TrainOptions)> {
    let (cfg, opts) = if resume {
        let cfg = load_config(&run.join("config.json"))?;
        let mut saved: TrainOptions = read_json(&run.join("train.json"))?;
        if opts.steps < saved.steps {
            bail!(
                "{}: --steps {} is below the run's recorded total of {} steps; a resumed run can only be extended (omit --steps, or give {} or more)",
                run.display(), opts.steps, saved.steps, saved.steps
            );
        }
        saved.steps = opts.steps;
        saved.data = opts.data.clone();
        (cfg, saved)
    } else {
        if run.join("checkpoint").exists() {
            bail!("{}: a run already exists here; pass --resume to continue it or choose another --out", run.display());
        }
        std::fs::create_dir_all(run).with_context(|| format!("{}: cannot create run folder", run.display()))?;
        (cfg, opts)
    };
    cfg.validate().map_err(|e| anyhow::anyhow!(e))?;
    write_json(&run.join("config.json"), &cfg)?;
    write_json(&run.join("train.json"), &opts)?;
    Ok((cfg, opts))
}

/// What an optimiser step changes: the weights, their EMA, Adam's moments and the run state.
struct Trainee {
    model: TrainModel,
    ema: RestoreGrad,
    optim: burn::optim::ModuleOptimizer,
    state: RunState,
}

impl Trainee {
    /// One optimiser step at learning rate `lr`; returns the loss terms (total, dm, lr, pm, clean).
    fn step(&mut self, cfg: &ModelConfig, schedule: &Schedule, opts: &TrainOptions, batch: TrainBatch, lr: f64) -> Result<[f64; 5]> {
        let terms = self.model.losses(cfg, schedule, batch);
        let vals = [&terms.total, &terms.dm, &terms.lr, &terms.pm, &terms.clean].map(|t| t.clone().into_scalar::<f32>() as f64);
        if !vals[0].is_finite() {
            bail!("loss became {} at step {}: lower --lr or check the data", vals[0], self.state.step);
        }
        let grads = GradientsParams::from_grads(terms.total.backward(), &self.model);
        self.model = self.optim.step(lr, self.model.clone(), grads);
        let decay = opts.ema_decay.min((1.0 + self.state.step as f64) / (10.0 + self.state.step as f64));
        self.ema = ema::update(self.ema.clone(), &self.model.model.valid(), decay);
        self.state.step += 1;
        Ok(vals)
    }
}

/// Fresh weights, a resumed run's checkpoint, or (`--init-from`) another run's last weights.
fn start_weights(run: &Path, cfg: &ModelConfig, opts: &TrainOptions, resume: bool, ad: &Device, device: &Device, quiet: bool) -> Result<Trainee> {
    let optim = AdamConfig::new().with_grad_clipping(Some(GradientClippingConfig::Norm(opts.clip))).init();
    let model = TrainModel::new(cfg, ad);
    let ema = model.model.valid();
    let mut t = Trainee { model, ema, optim, state: RunState::default() };
    let ckpt = run.join("checkpoint");
    if resume {
        let bad = |e: &dyn std::fmt::Display| anyhow::anyhow!("{}: {e}", ckpt.display());
        t.state = read_json(&ckpt.join("state.json"))?;
        t.model = t.model.try_load_file(ckpt.join("train.bpk")).map_err(|e| bad(&e))?;
        t.ema = t.ema.try_load_file(ckpt.join("ema.bpk")).map_err(|e| bad(&e))?;
        t.optim = t.optim.load(ckpt.join("optim.bpk")).map_err(|e| bad(&e))?;
        if !quiet {
            crate::diag!("resuming {} at step {} of {}", run.display(), t.state.step, opts.steps);
        }
    } else if let Some(src_run) = &opts.init_from {
        (t.model, t.ema) = init_from(src_run, cfg, opts.posterior_start, ad, device)?;
        crate::diag!("starting from the weights of {}", src_run.join("checkpoint").display());
    }
    Ok(t)
}

/// Another run's last weights and EMA, in the source's own architecture; a y-context layer or
/// dual-path branch this run adds starts at zero, i.e. at the source model's output.
fn init_from(src_run: &Path, cfg: &ModelConfig, posterior: PosteriorStart, ad: &Device, device: &Device) -> Result<(TrainModel, RestoreGrad)> {
    let src_cfg = load_config(&src_run.join("config.json"))?;
    let src = src_run.join("checkpoint");
    let cannot = |e| anyhow::anyhow!("{}: cannot start from this checkpoint: {e}", src.display());
    let fresh = TrainModel::new(&src_cfg, ad);
    let (mut model, mut ema) = if src.is_dir() {
        let ema = fresh.model.valid().try_load_file(src.join("ema.bpk")).map_err(cannot)?;
        (fresh.try_load_file(src.join("train.bpk")).map_err(cannot)?, ema)
    } else if !src_run.join("weights.bpk").is_file() {
        bail!("{}: cannot start from this checkpoint: {} has neither checkpoint/ (a run) nor weights.bpk (a model folder)", src.display(), src_run.display());
    } else {
        // A model folder (e.g. models/default): its weights are an EMA; train from them.
        let (_, weights) = crate::model::load_model(src_run, device).map_err(|e| anyhow::anyhow!("{e}"))?;
        let on_ad = crate::model::load_model(src_run, ad).map_err(|e| anyhow::anyhow!("{e}"))?.1;
        let posterior_net = match (&on_ad.prior_net, posterior) {
            (Some(prior), PosteriorStart::Prior) => Some(prior.posterior_from_prior()),
            _ => fresh.posterior_net,
        };
        (TrainModel { model: on_ad, posterior_net }, weights)
    };
    if cfg.y_context != src_cfg.y_context {
        model.model.denoiser = model.model.denoiser.with_context(cfg, ad);
        ema.denoiser = ema.denoiser.with_context(cfg, device);
    }
    if (cfg.band_hidden, cfg.freq_hidden) != (src_cfg.band_hidden, src_cfg.freq_hidden) {
        model.model.denoiser = model.model.denoiser.with_dual_path(cfg, ad);
        ema.denoiser = ema.denoiser.with_dual_path(cfg, device);
    }
    if cfg.prior == PriorMode::Learned && model.posterior_net.is_none() {
        // A standard-prior source ran with Σ = I; the new variance nets start there.
        model.model.prior_net = Some(VarianceNet::neutral(cfg, 3, ad));
        model.posterior_net = Some(VarianceNet::neutral(cfg, 6, ad));
        ema.prior_net = Some(VarianceNet::neutral(cfg, 3, device));
    }
    Ok((model, ema))
}

/// The training corpus and the fixed validation sets of `opts`.
fn load_data(opts: &TrainOptions) -> Result<(Arc<Corpus>, ValidationSets)> {
    crate::diag!("loading training data from {} ...", opts.data.display());
    let mixing = Mixing {
        pair_fraction: opts.pair_fraction,
        pair_remix: opts.pair_remix,
        pair_level: opts.pair_level,
        pair_cross: opts.pair_cross,
        broadband: opts.broadband_noise,
        snr_max_db: opts.snr_max_db,
    };
    let corpus = Arc::new(Corpus::load_train(&opts.data, opts.validation, opts.train_pairs, opts.without_extra, mixing)?);
    let val = ValidationSets::load(&opts.data, opts.val_per_snr, 4.0, opts.validation, opts.train_pairs, opts.without_extra)?;
    crate::diag!(
        "{} utterances, {} noises, {} pairs; validation {} mixtures + {} VoiceBank-DEMAND pairs",
        corpus.speech.len(), corpus.noise.len(), corpus.pairs.len(), val.mixtures.len(), val.vbdemand.len()
    );
    Ok((corpus, val))
}

/// The run's CSV log, appended to; a new one starts with its header and the noisy input's
/// validation scores.
fn open_log(run: &Path, val: &ValidationSets) -> Result<std::fs::File> {
    let csv_path = run.join("log.csv");
    let new_csv = !csv_path.exists();
    let mut csv = std::fs::OpenOptions::new().create(true).append(true).open(&csv_path)?;
    if new_csv {
        writeln!(csv, "{CSV_HEADER}")?;
        let m = score_noisy(&val.mixtures);
        writeln!(csv, "noisy,0,,,,,,,,{:.3},{:.4},{}", m.si_sdr, m.estoi, vb_columns(val, score_noisy(&val.vbdemand)))?;
    }
    Ok(csv)
}

fn progress_bar(quiet: bool, steps: u64, at: u64) -> ProgressBar {
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(steps) };
    bar.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}] {msg}").expect("template"));
    bar.set_position(at);
    bar
}

/// Loss terms summed since the last log row, and the speed over that window.
struct LossWindow {
    sums: [f64; 5],
    count: usize,
    started: (Instant, u64),
}

impl LossWindow {
    fn new(step: u64) -> Self {
        Self { sums: [0.0; 5], count: 0, started: (Instant::now(), step) }
    }

    fn add(&mut self, vals: [f64; 5]) {
        for (s, v) in self.sums.iter_mut().zip(vals) {
            *s += v;
        }
        self.count += 1;
    }

    /// Writes the window's mean losses as a log row and starts a new window; returns the
    /// progress bar's message.
    fn flush(&mut self, csv: &mut std::fs::File, state: &RunState, lr: f64) -> Result<String> {
        let sps = (state.step - self.started.1) as f64 / self.started.0.elapsed().as_secs_f64();
        let m: Vec<f64> = self.sums.iter().map(|s| s / self.count.max(1) as f64).collect();
        writeln!(csv, "{},{:.1},{sps:.3},{lr:.6},{:.5},{:.5},{:.5},{:.5},{:.5},,,,", state.step, state.elapsed_s, m[0], m[1], m[2], m[3], m[4])?;
        *self = Self::new(state.step);
        Ok(format!("loss {:.4} (dm {:.4} clean {:.4}) {sps:.2} steps/s", m[0], m[1], m[4]))
    }
}

/// Scores the EMA weights on the validation sets, logs them, and keeps them as `best/` when
/// they beat the best so far; returns the progress line.
fn validate(run: &Path, cfg: &ModelConfig, t: &mut Trainee, val: &ValidationSets, device: &Device, steps: usize, csv: &mut std::fs::File) -> Result<String> {
    let mix = score_set(cfg, &t.ema, device, &val.mixtures, steps);
    let vb = score_set(cfg, &t.ema, device, &val.vbdemand, steps);
    let state = &mut t.state;
    writeln!(csv, "{},{:.1},,,,,,,,{:.3},{:.4},{}", state.step, state.elapsed_s, mix.si_sdr, mix.estoi, vb_columns(val, vb))?;
    let score = selection_score(&mix);
    if state.best_score.is_none_or(|b| score > b) {
        state.best_score = Some(score);
        state.best_step = Some(state.step);
        save_model(&run.join("best"), cfg, &t.ema, None)?;
    }
    Ok(format!(
        "step {}: validation SI-SDR {:.2} dB ESTOI {:.3} (mixtures), SI-SDR {:.2} dB ESTOI {:.3} (VoiceBank-DEMAND)",
        state.step, mix.si_sdr, mix.estoi, vb.si_sdr, vb.estoi
    ))
}

/// Writes the EMA weights of a run's checkpoint (`which` = "last"), its best validation model
/// ("best") or the raw, non-averaged weights of its checkpoint ("raw") as a model folder;
/// `renoise` replaces the run's [`ModelConfig::renoise`] when given (the sampler chosen on
/// validation with `eval --renoise`).
pub fn export_checkpoint(run: &Path, which: &str, out: &Path, renoise: Option<crate::model::Renoise>, device: &Device) -> Result<()> {
    let mut cfg = load_config(&run.join("config.json"))?;
    if let Some(r) = renoise {
        cfg.renoise = r;
    }
    let weights = match which {
        "best" => run.join("best").join(crate::model::io::WEIGHTS_FILE),
        "last" => run.join("checkpoint").join("ema.bpk"),
        "raw" => run.join("checkpoint").join("train.bpk"),
        other => bail!("unknown checkpoint {other:?}: use best, last or raw"),
    };
    let model = if which == "raw" {
        TrainModel::new(&cfg, device).try_load_file(&weights).map(|m| m.model)
    } else {
        RestoreGrad::new(&cfg, device).try_load_file(&weights)
    }
    .map_err(|e| anyhow::anyhow!("{}: {e}", weights.display()))?;
    let card = out.join("MODEL_CARD.md");
    let keep_card = card.is_file();
    save_model(out, &cfg, &model, None)?;
    // The run's options travel with the model, so that `eval` can tell which real pairs it saw.
    let options = run.join("train.json");
    if options.is_file() {
        std::fs::copy(&options, out.join("train.json")).with_context(|| format!("{}: cannot copy", options.display()))?;
    }
    if !keep_card {
        std::fs::write(&card, format!("# restoregrad model\n\nExported from `{}` ({which}).\n", run.display()))?;
    }
    Ok(())
}
