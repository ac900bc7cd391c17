//! Training resumes exactly: a run stopped at a checkpoint and resumed ends with the same
//! weights, EMA and log as one that ran straight through.

mod common;

use std::path::{Path, PathBuf};

use burn::prelude::*;
use common::{tiny_cfg, write_tiny_corpus};
use restoregrad::model::{load_model, PriorMode};
use restoregrad::train::{export_checkpoint, train};


/// What the run's last EMA and raw weights compute on a fixed input (denoiser output and
/// prior log-variance): equal outputs mean equal weights, whatever the parameters' ids.
fn weights(run: &Path, scratch: &Path) -> Vec<Vec<f32>> {
    let device = Device::flex();
    ["last", "raw"]
        .iter()
        .flat_map(|which| {
            let out = scratch.join(which);
            export_checkpoint(run, which, &out, None, &device).unwrap();
            let (cfg, model) = load_model(&out, &device).unwrap();
            let (t, f) = (6, cfg.n_freq);
            let planes: Vec<f32> = common::noise_signal(4 * t * f, 3);
            let x = Tensor::<4>::from_data(TensorData::new(planes, [1, 4, t, f]), &device); // [1,4,T,F]
            let emb = restoregrad::model::net::time_embedding(&[0.4], cfg.time_dim, &device);
            let (den, _) = model.denoiser.forward(x.clone(), emb, None, None); // [1,2,T,F]
            let y = x.slice([0..1, 2..4, 0..t, 0..f]); // [1,2,T,F]
            let prior = model.prior_logvar(&cfg, y); // [1,1,T,F]
            [den, prior.clone().repeat_dim(1, 2)].map(|v| v.to_data().try_to_vec::<f32>().unwrap())
        })
        .collect()
}

/// The loss rows of a run's log with its header (validation rows and the timing columns dropped).
fn loss_rows(run: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(run.join("log.csv")).unwrap();
    text.lines()
        .filter(|l| l.split(',').nth(4).is_some_and(|loss| !loss.is_empty()))
        .map(|l| l.split(',').enumerate().filter(|(i, _)| *i != 1 && *i != 2).map(|(_, c)| c).collect::<Vec<_>>().join(","))
        .collect()
}

#[test]
fn a_resumed_run_equals_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_tiny_corpus(&data);
    let cfg = tiny_cfg(PriorMode::Learned).with_predict(restoregrad::model::Prediction::Clean).with_band_hidden(2);
    let run = |name: &str| -> PathBuf { dir.path().join(name) };

    train(&run("straight"), cfg.clone(), common::tiny_train_options(&data, 4), false, Device::flex(), true).unwrap();
    train(&run("resumed"), cfg.clone(), common::tiny_train_options(&data, 2), false, Device::flex(), true).unwrap();
    let halfway = weights(&run("resumed"), &dir.path().join("halfway"));
    train(&run("resumed"), cfg, common::tiny_train_options(&data, 4), true, Device::flex(), true).unwrap();

    let straight = weights(&run("straight"), &dir.path().join("w_straight"));
    let resumed = weights(&run("resumed"), &dir.path().join("w_resumed"));
    assert_eq!(straight, resumed, "resumed weights differ from the uninterrupted run");
    assert_ne!(halfway, resumed, "the resumed leg trained nothing");
    // The log continues where the first leg stopped (loss rows are window means, so the two
    // runs' rows differ in grouping, not in the weights they describe).
    let steps = |r: &str| loss_rows(&run(r)).iter().skip(1).map(|l| l.split(',').next().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(steps("resumed"), ["2", "4"]);
    assert_eq!(steps("straight"), ["4"]);
}

