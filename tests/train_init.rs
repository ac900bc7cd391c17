//! `train --init-from` a model folder: a standard-prior model continues as a learned-prior run.
//! (Its own binary: run beside the resume test, the shared thread pool would split that test's
//! sums differently and break its bit-exact comparison.)

mod common;

use burn::prelude::*;
use common::{tiny_cfg, write_tiny_corpus};
use restoregrad::model::{load_model, PriorMode};
use restoregrad::train::{export_checkpoint, train};

#[test]
fn a_standard_model_folder_continues_as_a_learned_run_from_its_own_output() {
    // `train --init-from models/default --prior learned`: the weights come from a model folder
    // (no checkpoint), and the new variance nets start at Σ = I, so before any step the EMA
    // computes what the source model computes, with a log-variance of 0.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_tiny_corpus(&data);
    let device = Device::flex();
    let src_cfg = tiny_cfg(PriorMode::Standard).with_predict(restoregrad::model::Prediction::Clean);
    let src = dir.path().join("src_model");
    restoregrad::model::save_model(&src, &src_cfg, &restoregrad::model::RestoreGrad::new(&src_cfg, &device), None).unwrap();
    let mut opts = common::tiny_train_options(&data, 1);
    opts.init_from = Some(src.clone());
    opts.warmup = 1_000_000; // learning rate ~0: the one step leaves the weights where they started
    let cfg = src_cfg.clone().with_prior(PriorMode::Learned);
    let run = dir.path().join("run");
    train(&run, cfg, opts, false, device.clone(), true).unwrap();
    let out = dir.path().join("exported");
    export_checkpoint(&run, "last", &out, None, &device).unwrap();
    let (cfg, model) = load_model(&out, &device).unwrap();
    assert_eq!(cfg.prior, PriorMode::Learned);
    let y = Tensor::<4>::from_data(TensorData::new(common::noise_signal(2 * 6 * cfg.n_freq, 5), [1, 2, 6, cfg.n_freq]), &device);
    let logvar: f32 = model.prior_logvar(&cfg, y).abs().max().into_scalar();
    assert!(logvar < 1e-3, "the prior should start at log Σ = 0, got {logvar}");
}

/// L_PM of the one logged step of a 1-step learned run started from a learned model folder.
fn first_prior_matching_loss(start: restoregrad::train::PosteriorStart) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_tiny_corpus(&data);
    let device = Device::flex();
    device.seed(3);
    let cfg = tiny_cfg(PriorMode::Learned).with_predict(restoregrad::model::Prediction::Clean);
    let src = dir.path().join("src_model");
    restoregrad::model::save_model(&src, &cfg, &restoregrad::model::RestoreGrad::new(&cfg, &device), None).unwrap();
    let mut opts = common::tiny_train_options(&data, 1);
    opts.init_from = Some(src);
    opts.posterior_start = start;
    let run = dir.path().join("run");
    train(&run, cfg, opts, false, device, true).unwrap();
    let log = std::fs::read_to_string(run.join("log.csv")).unwrap();
    let row = log.lines().find(|l| l.starts_with("1,")).expect("a log row for step 1");
    row.split(',').nth(7).unwrap().parse().unwrap() // l_pm
}

#[test]
fn a_learned_model_folder_continues_with_its_posterior_at_its_prior() {
    // A model folder holds no Posterior Net: started at the Prior Net, L_PM is 0 at the first
    // step; a fresh (random) one starts away from the trained prior.
    let at_prior = first_prior_matching_loss(restoregrad::train::PosteriorStart::Prior);
    let fresh = first_prior_matching_loss(restoregrad::train::PosteriorStart::Fresh);
    assert!(at_prior < 1e-4, "L_PM at the prior's start: {at_prior}");
    assert!(fresh > 100.0 * at_prior.max(1e-6), "a fresh posterior should start away from the prior: {fresh}");
}
