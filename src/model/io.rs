//! Model folders: `config.json` (architecture, STFT, schedule; format and version checked),
//! `weights.bpk` (burnpack, inference weights only) and `MODEL_CARD.md`.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::prelude::Device;

use super::config::ModelConfig;
use super::restoregrad::RestoreGrad;

/// The config file name inside a model folder.
pub const CONFIG_FILE: &str = "config.json";
/// The weights file name inside a model folder.
pub const WEIGHTS_FILE: &str = "weights.bpk";

/// Why a model could not be saved or loaded; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The folder or a file in it could not be read or written.
    #[error("{path}: {msg}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
    /// The config is not a valid restoregrad model config.
    #[error("{path}: invalid model config: {msg}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
    /// The weights are corrupt, truncated or do not match the config.
    #[error("{path}: invalid model weights: {msg}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
}

/// Writes a model folder (config, weights and, if given, the model card). Files are written
/// to temporary names first and renamed into place.
pub fn save_model(dir: &Path, cfg: &ModelConfig, model: &RestoreGrad, card: Option<&str>) -> Result<(), ModelError> {
    let io = |path: &Path, e: &dyn std::fmt::Display| ModelError::Io { path: path.to_path_buf(), msg: e.to_string() };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, &e))?;
    let cfg_path = dir.join(CONFIG_FILE);
    let tmp_cfg = dir.join(format!("{CONFIG_FILE}.tmp"));
    let json = serde_json::to_string_pretty(cfg).map_err(|e| io(&cfg_path, &e))?;
    std::fs::write(&tmp_cfg, json).map_err(|e| io(&tmp_cfg, &e))?;
    let weights = dir.join(WEIGHTS_FILE);
    let tmp_w = dir.join("weights.tmp.bpk");
    model.clone().save_file(&tmp_w).map_err(|e| io(&tmp_w, &e))?;
    std::fs::rename(&tmp_w, &weights).map_err(|e| io(&weights, &e))?;
    std::fs::rename(&tmp_cfg, &cfg_path).map_err(|e| io(&cfg_path, &e))?;
    if let Some(card) = card {
        let p = dir.join("MODEL_CARD.md");
        std::fs::write(&p, card).map_err(|e| io(&p, &e))?;
    }
    Ok(())
}

/// Reads and validates a model config file.
pub fn load_config(path: &Path) -> Result<ModelConfig, ModelError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ModelError::Io { path: path.to_path_buf(), msg: e.to_string() })?;
    let bad = |msg: String| ModelError::Config { path: path.to_path_buf(), msg };
    let mut value: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    // Fields added after the first models were written; a config without them means what those
    // models did (burn's Config derive does not apply its defaults when deserialising).
    if let Some(obj) = value.as_object_mut() {
        for (key, default) in [("predict", serde_json::json!("noise")), ("speech_weight", serde_json::json!(0.0)), ("mag_weight", serde_json::json!(0.0)), ("under_weight", serde_json::json!(1.0)), ("estoi_weight", serde_json::json!(0.0)), ("y_context", serde_json::json!(0)), ("sampler_skip", serde_json::json!(0))] {
            obj.entry(key).or_insert(default);
        }
    }
    let cfg: ModelConfig = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    cfg.validate().map_err(|msg| ModelError::Config { path: path.to_path_buf(), msg })?;
    Ok(cfg)
}

/// Loads a model folder onto `device`: validates the config, builds the architecture it
/// describes and loads the weights, refusing corrupt, truncated or mismatched files.
pub fn load_model(dir: &Path, device: &Device) -> Result<(ModelConfig, RestoreGrad), ModelError> {
    if !dir.is_dir() {
        return Err(ModelError::Io { path: dir.to_path_buf(), msg: "model folder not found".into() });
    }
    let cfg = load_config(&dir.join(CONFIG_FILE))?;
    let weights = dir.join(WEIGHTS_FILE);
    if !weights.is_file() {
        return Err(ModelError::Io { path: weights, msg: "weights file not found".into() });
    }
    let bad = |msg: String| ModelError::Weights { path: weights.clone(), msg };
    if std::fs::metadata(&weights).is_ok_and(|m| m.len() == 0) {
        return Err(bad("the weights file is empty (0 bytes)".into()));
    }
    let model = RestoreGrad::new(&cfg, device).try_load_file(&weights).map_err(|e| {
        let msg = e.to_string();
        // burn reports a short file as the raw io message "failed to fill whole buffer".
        if msg.contains("fill whole buffer") || msg.to_lowercase().contains("eof") {
            bad(format!("the weights file is truncated (it ends early: {msg})"))
        } else {
            bad(msg)
        }
    })?;
    let nonfinite = nonfinite_weights(&model);
    if nonfinite > 0 {
        // Such a model outputs silence (or NaN) for every input, without any other error.
        return Err(bad(format!("{nonfinite} weights are NaN or infinite (a damaged file or a diverged training run)")));
    }
    Ok((cfg, model))
}

/// The number of NaN or infinite values among a model's float parameters.
fn nonfinite_weights(model: &RestoreGrad) -> usize {
    struct Count(usize);
    impl burn::module::ModuleVisitor for Count {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<burn::tensor::Tensor<D>>) {
            let data = param.val().into_data();
            self.0 += data.iter::<f32>().filter(|v| !v.is_finite()).count();
        }
    }
    let mut count = Count(0);
    model.visit(&mut count);
    count.0
}

/// The shipped model's folder: `$RESTOREGRAD_MODEL`, else `models/default` beside the
/// executable's ancestors (an installed or `target/release` binary), the current folder, or
/// the source tree this binary was built from.
pub fn default_model_dir() -> Result<PathBuf, ModelError> {
    if let Some(p) = std::env::var_os("RESTOREGRAD_MODEL") {
        if p.is_empty() {
            return Err(ModelError::Io {
                path: PathBuf::from("$RESTOREGRAD_MODEL"),
                msg: "is set but empty; unset it to use the shipped model, or set it to a model folder".into(),
            });
        }
        return Ok(PathBuf::from(p));
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        candidates.extend(exe.ancestors().skip(1).map(|a| a.join("models/default")));
    }
    if let Ok(cwd) = std::env::current_dir() {
        candidates.push(cwd.join("models/default"));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default"));
    candidates
        .into_iter()
        .find(|c| c.join(CONFIG_FILE).is_file())
        .ok_or_else(|| ModelError::Io {
            path: PathBuf::from("models/default"),
            msg: "the shipped model was not found; pass --model PATH or set RESTOREGRAD_MODEL".into(),
        })
}

/// Loads `path`, or the shipped model when `None`, as an [`Enhancer`](super::Enhancer).
pub fn load_enhancer(path: Option<&Path>, device: &Device, seed: u64) -> Result<super::Enhancer, ModelError> {
    let dir = match path {
        Some(p) => p.to_path_buf(),
        None => default_model_dir()?,
    };
    let (cfg, model) = load_model(&dir, device)?;
    Ok(super::Enhancer::new(cfg, model, device.clone(), seed))
}

/// A one-paragraph description of a model's size and cost (for model cards and `export`).
pub fn summary(cfg: &ModelConfig, model: &RestoreGrad) -> String {
    let denoiser = model.denoiser.num_params();
    let prior = model.prior_net.as_ref().map_or(0, |p| p.num_params());
    let (macs, prior_macs) = cfg.macs_per_frame();
    format!(
        "prior: {}; parameters: denoiser {denoiser}, prior net {prior}; cost: {:.2} MFLOP per frame per step \
         (+{:.2} MFLOP per frame for the prior net), {:.0} frames/s at 16 kHz",
        cfg.prior,
        2.0 * macs as f64 / 1e6,
        2.0 * prior_macs as f64 / 1e6,
        crate::MODEL_RATE as f64 / cfg.hop as f64
    )
}
