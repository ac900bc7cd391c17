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
    parse_config(&text, path)
}

/// Parses and validates a model config's JSON text (`path` names it in errors).
fn parse_config(text: &str, path: &Path) -> Result<ModelConfig, ModelError> {
    let bad = |msg: String| ModelError::Config { path: path.to_path_buf(), msg };
    let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    // A field of an experiment that was not kept (every shipped config holds 0, its no-op).
    if let Some(obj) = value.as_object_mut() {
        if obj.remove("sampler_skip").is_some_and(|v| v != serde_json::json!(0)) {
            return Err(bad("sampler_skip is no longer supported; set it to 0".into()));
        }
    }
    // Fields added after the first models were written; a config without them means what those
    // models did (burn's Config derive does not apply its defaults when deserialising).
    if let Some(obj) = value.as_object_mut() {
        for (key, default) in [("predict", serde_json::json!("noise")), ("speech_weight", serde_json::json!(0.0)), ("mag_weight", serde_json::json!(0.0)), ("under_weight", serde_json::json!(1.0)), ("estoi_weight", serde_json::json!(0.0)), ("y_context", serde_json::json!(0)), ("renoise", serde_json::json!("fresh")), ("band_hidden", serde_json::json!(0)), ("freq_hidden", serde_json::json!(0)), ("prior", serde_json::json!("standard"))] {
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

/// The shipped model's config, compiled into the library so that a binary or plugin needs no
/// file beside it.
const EMBEDDED_CONFIG: &str = include_str!("../../models/default/config.json");
/// The shipped model's weights (burnpack), compiled in beside [`EMBEDDED_CONFIG`].
const EMBEDDED_WEIGHTS: &[u8] = include_bytes!("../../models/default/weights.bpk");

/// Loads the shipped model (`models/default` as it was when this library was built) from the
/// copy compiled into the library.
pub fn load_embedded_model(device: &Device) -> Result<(ModelConfig, RestoreGrad), ModelError> {
    let path = Path::new("<embedded models/default>");
    let cfg = parse_config(EMBEDDED_CONFIG, &path.join(CONFIG_FILE))?;
    let weights = path.join(WEIGHTS_FILE);
    let bad = |msg: String| ModelError::Weights { path: weights.clone(), msg };
    let bytes = burn::tensor::Bytes::from_bytes_vec(EMBEDDED_WEIGHTS.to_vec());
    let record = burn::store::ModuleRecord::from_bytes(bytes).map_err(|e| bad(e.to_string()))?;
    let model = RestoreGrad::new(&cfg, device).try_load_record(record).map_err(|e| bad(e.to_string()))?;
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

/// Loads the model folder `path`, or the shipped model when `None`: `$RESTOREGRAD_MODEL` if
/// set, else the copy compiled into the library.
pub fn load_model_or_default(path: Option<&Path>, device: &Device) -> Result<(ModelConfig, RestoreGrad), ModelError> {
    match (path, std::env::var_os("RESTOREGRAD_MODEL")) {
        (Some(p), _) => load_model(p, device),
        (None, Some(p)) if p.is_empty() => Err(ModelError::Io {
            path: PathBuf::from("$RESTOREGRAD_MODEL"),
            msg: "is set but empty; unset it to use the shipped model, or name a model folder".into(),
        }),
        (None, Some(p)) => load_model(Path::new(&p), device),
        (None, None) => load_embedded_model(device),
    }
}

/// Loads `path`, or the shipped model when `None` ([`load_model_or_default`]), as an
/// [`Enhancer`](super::Enhancer).
pub fn load_enhancer(path: Option<&Path>, device: &Device, seed: u64) -> Result<super::Enhancer, ModelError> {
    let (cfg, model) = load_model_or_default(path, device)?;
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
