//! The networks: the denoiser ε_θ(x_t, y, t) and the small variance nets (Prior and Posterior).
//!
//! The denoiser is a frequency-axis U-Net applied to each frame independently, with a GRU over
//! time in the bottleneck and, optionally, a causal convolution over the last few frames of the
//! noisy input y beside the first encoder layer. Time enters only through these two, so a chunk
//! processed with the GRU state and the y history carried from the previous chunk gives exactly
//! what one long call would give: streaming needs no recomputed left context. The y history is
//! the same for every reverse step (y does not change while sampling), so it is kept once per
//! stream, not per step.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::gru::{Gru, GruConfig};
use burn::module::Param;
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, silu};

use super::config::{ModelConfig, Prediction};

fn freq_conv(cin: usize, cout: usize, k: usize, stride: usize, dilation: usize, device: &Device) -> Conv2d {
    let pad = dilation * (k - 1) / 2;
    Conv2dConfig::new([cin, cout], [1, k])
        .with_stride([1, stride])
        .with_dilation([1, dilation])
        .with_padding(PaddingConfig2d::Explicit(0, pad, 0, pad))
        .init(device)
}

/// The same convolution with its own, new parameters holding copies of `conv`'s values.
fn copy_conv(conv: &Conv2d) -> Conv2d {
    let mut copy = conv.clone();
    copy.weight = Param::from_tensor(conv.weight.val().detach());
    copy.bias = conv.bias.as_ref().map(|b| Param::from_tensor(b.val().detach()));
    copy
}

fn freq_upconv(cin: usize, cout: usize, device: &Device) -> ConvTranspose2d {
    // kernel 4, stride 2, padding 1: exactly doubles the frequency axis.
    ConvTranspose2dConfig::new([cin, cout], [1, 4]).with_stride([1, 2]).with_padding([0, 1]).init(device)
}

/// The last layer, whose six planes are D (2) and the complex masks K1 (2) and K2 (2). With
/// clean prediction it starts at zero weight and bias K2 = 1, i.e. exactly x̂0 = y: a new model
/// starts at the noisy input's quality and the zero weights still get gradients from the
/// (non-zero) features below them.
fn output_layer(cfg: &ModelConfig, cin: usize, device: &Device) -> ConvTranspose2d {
    let mut layer = freq_upconv(cin, 6, device);
    if cfg.predict == Prediction::Clean {
        layer.weight = zeros(layer.weight);
        let bias = Tensor::from_data(TensorData::new(vec![0.0f32, 0.0, 0.0, 0.0, 1.0, 0.0], [6]), device);
        layer.bias = Some(Param::from_tensor(bias));
    }
    layer
}

/// The y-context layer: a causal convolution over the current and `context` past frames of y
/// (2 planes), with enc1's stride and output size.
fn context_conv(cfg: &ModelConfig, device: &Device) -> Conv2d {
    let k = cfg.kernel;
    let pad = (k - 1) / 2;
    Conv2dConfig::new([2, cfg.channels1], [cfg.y_context + 1, k])
        .with_stride([1, 2])
        .with_padding(PaddingConfig2d::Explicit(0, pad, 0, pad))
        .init(device)
}

/// The denoiser network ε_θ: predicts CDiffuSE's combined noise from `[x_t, y]` and the time.
#[derive(Module, Debug)]
pub struct Denoiser {
    enc1: Conv2d,
    /// Causal time context on y (present when `y_context > 0`).
    y_context: Option<Conv2d>,
    enc2: Conv2d,
    enc3: Conv2d,
    bottleneck_in: Linear,
    /// Per-band GRU over time and its projection back to c3 channels (when `band_hidden > 0`).
    band_gru: Option<Gru>,
    band_out: Option<Linear>,
    /// GRUs across the bands within a frame, upward and downward in frequency, and their
    /// projection back to c3 channels (when `freq_hidden > 0`).
    freq_up: Option<Gru>,
    freq_down: Option<Gru>,
    freq_out: Option<Linear>,
    gru: Gru,
    bottleneck_out: Linear,
    time1: Linear,
    time2: Linear,
    dec3: ConvTranspose2d,
    dec2: ConvTranspose2d,
    dec1: ConvTranspose2d,
    #[module(skip)]
    c3: usize,
    #[module(skip)]
    hidden: usize,
    #[module(skip)]
    context: usize,
    #[module(skip)]
    band_hidden: usize,
    #[module(skip)]
    bands: usize,
}


impl Denoiser {
    /// Builds a freshly initialised denoiser.
    pub fn new(cfg: &ModelConfig, device: &Device) -> Self {
        let (c1, c2, c3, k, h) = (cfg.channels1, cfg.channels2, cfg.channels3, cfg.kernel, cfg.hidden);
        let flat = c3 * cfg.n_freq / 8;
        Self {
            enc1: freq_conv(4, c1, k, 2, 1, device),
            y_context: (cfg.y_context > 0).then(|| context_conv(cfg, device)),
            enc2: freq_conv(c1, c2, k, 2, 1, device),
            enc3: freq_conv(c2, c3, k, 2, 1, device),
            bottleneck_in: LinearConfig::new(flat, h).init(device),
            band_gru: (cfg.band_hidden > 0).then(|| GruConfig::new(c3, cfg.band_hidden, true).init(device)),
            band_out: (cfg.band_hidden > 0).then(|| LinearConfig::new(cfg.band_hidden, c3).init(device)),
            freq_up: (cfg.freq_hidden > 0).then(|| GruConfig::new(c3, cfg.freq_hidden, true).init(device)),
            freq_down: (cfg.freq_hidden > 0).then(|| GruConfig::new(c3, cfg.freq_hidden, true).init(device)),
            freq_out: (cfg.freq_hidden > 0).then(|| LinearConfig::new(2 * cfg.freq_hidden, c3).init(device)),
            gru: GruConfig::new(h, h, true).init(device),
            bottleneck_out: LinearConfig::new(h, flat).init(device),
            time1: LinearConfig::new(cfg.time_dim, 2 * h).init(device),
            time2: LinearConfig::new(2 * h, 2 * h).init(device),
            dec3: freq_upconv(2 * c3, c2, device),
            dec2: freq_upconv(2 * c2, c1, device),
            dec1: output_layer(cfg, 2 * c1, device),
            c3,
            hidden: h,
            context: cfg.y_context,
            band_hidden: cfg.band_hidden,
            bands: cfg.n_freq / 8,
        }
    }

    /// Adds a y-context layer of `cfg.y_context` frames to a denoiser built without one, at zero
    /// weight and bias (fresh parameters that still get gradients), so that fine-tuning a
    /// trained model into the wider architecture starts from exactly that model's output.
    pub fn with_context(mut self, cfg: &ModelConfig, device: &Device) -> Self {
        assert!(self.y_context.is_none(), "the denoiser already has a y-context layer");
        self.y_context = (cfg.y_context > 0).then(|| {
            let mut layer = context_conv(cfg, device);
            layer.weight = zeros(layer.weight);
            layer.bias = layer.bias.map(zeros);
            layer
        });
        self.context = cfg.y_context;
        self
    }

    /// Adds the dual-path branches of `cfg` that this denoiser lacks (the per-band GRU over time,
    /// `band_hidden`, and the GRU across bands, `freq_hidden`) with their output projections at
    /// zero, so that fine-tuning a trained model into the wider architecture starts from exactly
    /// that model's output; the branches' own weights are fresh and train once their projections
    /// move off zero. A branch the denoiser already has is kept as it is.
    pub fn with_dual_path(mut self, cfg: &ModelConfig, device: &Device) -> Self {
        if self.band_gru.is_none() && cfg.band_hidden > 0 {
            self.band_gru = Some(GruConfig::new(self.c3, cfg.band_hidden, true).init(device));
            self.band_out = Some(zeroed(LinearConfig::new(cfg.band_hidden, self.c3).init(device)));
            self.band_hidden = cfg.band_hidden;
        }
        if self.freq_up.is_none() && cfg.freq_hidden > 0 {
            self.freq_up = Some(GruConfig::new(self.c3, cfg.freq_hidden, true).init(device));
            self.freq_down = Some(GruConfig::new(self.c3, cfg.freq_hidden, true).init(device));
            self.freq_out = Some(zeroed(LinearConfig::new(2 * cfg.freq_hidden, self.c3).init(device)));
        }
        self
    }

    /// Past frames of y the denoiser sees (0: none, and no history is kept).
    pub fn context(&self) -> usize {
        self.context
    }

    /// The y history `[B, 2, context, F]` after a chunk with compressed noisy planes `y`
    /// `[B, 2, T, F]`, given the history before it (`None`: a stream start, i.e. zeros).
    /// `None` when the denoiser keeps no history.
    pub fn next_history(&self, history: Option<Tensor<4>>, y: &Tensor<4>) -> Option<Tensor<4>> {
        if self.context == 0 {
            return None;
        }
        let ext = self.extend(history, y.clone()); // [B,2,ctx+T,F]
        let [b, c, n, f] = ext.dims();
        Some(ext.slice([0..b, 0..c, n - self.context..n, 0..f])) // [B,2,ctx,F]
    }

    /// y with its history in front `[B, 2, context + T, F]` (zeros for a missing history).
    fn extend(&self, history: Option<Tensor<4>>, y: Tensor<4>) -> Tensor<4> {
        let [b, c, _, f] = y.dims();
        let history = history.unwrap_or_else(|| Tensor::zeros([b, c, self.context, f], &y.device())); // [B,2,ctx,F]
        Tensor::cat(vec![history, y], 2) // [B,2,ctx+T,F]
    }

    /// The size of the recurrent state carried between chunks per reverse step: the full-band
    /// GRU's state, then each band's GRU state (band-major).
    pub fn hidden(&self) -> usize {
        self.hidden + self.bands * self.band_hidden
    }

    /// The per-band GRU over time on the bottleneck features `e3` `[B, c3, T, bands]`, added as a
    /// residual, with its state `[B, bands * band_hidden]` before and after the chunk (`None`
    /// in and out without the branch).
    fn band_recurrence(&self, e3: Tensor<4>, state: Option<Tensor<2>>) -> (Tensor<4>, Option<Tensor<2>>) {
        let (Some(gru), Some(out)) = (&self.band_gru, &self.band_out) else {
            return (e3, None);
        };
        let [b, c3, t, bands] = e3.dims();
        let hb = self.band_hidden;
        let seq = e3.clone().permute([0, 3, 2, 1]).reshape([b * bands, t, c3]); // [B*bands, T, c3]
        let g = gru.forward(seq, state.map(|s| s.reshape([b * bands, hb]))); // [B*bands, T, hb]
        let last = g.clone().slice([0..b * bands, t - 1..t, 0..hb]).reshape([b, bands * hb]); // [B, bands*hb]
        let r = out.forward(g).reshape([b, bands, t, c3]).permute([0, 3, 2, 1]); // [B, c3, T, bands]
        (e3 + r, Some(last))
    }

    /// The bidirectional GRU across bands within each frame on the bottleneck features `e3`
    /// `[B, c3, T, bands]`, added as a residual (unchanged without the branch).
    fn freq_recurrence(&self, e3: Tensor<4>) -> Tensor<4> {
        let (Some(up), Some(down), Some(out)) = (&self.freq_up, &self.freq_down, &self.freq_out) else {
            return e3;
        };
        let [b, c3, t, bands] = e3.dims();
        let seq = e3.clone().permute([0, 2, 3, 1]).reshape([b * t, bands, c3]); // [B*T, bands, c3]
        let g_up = up.forward(seq.clone(), None); // [B*T, bands, hf]
        let g_down = down.forward(seq.flip([1]), None).flip([1]); // [B*T, bands, hf]
        let r = out.forward(Tensor::cat(vec![g_up, g_down], 2)); // [B*T, bands, c3]
        e3 + r.reshape([b, t, bands, c3]).permute([0, 3, 1, 2]) // [B, c3, T, bands]
    }

    /// One evaluation.
    /// - `x`: `[B, 4, T, F]` (x_t real/imag, y real/imag, compressed)
    /// - `time_emb`: `[B, time_dim]` sinusoidal embedding of the diffusion time
    /// - `state`: `[B, H]` recurrent state from the previous chunk ([`Denoiser::hidden`]), or
    ///   `None` at a stream start
    /// - `history`: `[B, 2, context, F]` the last frames of y before this chunk
    ///   ([`Denoiser::next_history`]), or `None` at a stream start (ignored without y context)
    ///
    /// Returns the noise estimate `[B, 2, T, F]` and the recurrent state after the last frame `[B, H]`.
    ///
    /// The estimate is `D + K1 ⊙ x_t + K2 ⊙ y` (complex products per bin): the decoder's direct
    /// output `D` plus two complex masks applied to the inputs. The U-Net's lowest skip is at half
    /// the frequency resolution, so without the masks it could not reproduce the per-bin detail
    /// the noise target has at the start of sampling (measured: x̂0 there was worse than y).
    pub fn forward(
        &self,
        x: Tensor<4>,
        time_emb: Tensor<2>,
        state: Option<Tensor<2>>,
        history: Option<Tensor<4>>,
    ) -> (Tensor<4>, Tensor<2>) {
        let [b, _, t, f] = x.dims();
        let inputs = x.clone();
        let h = self.hidden;
        let e1 = self.enc1.forward(x); // [B, c1, T, F/2]
        let e1 = match &self.y_context {
            Some(conv) => {
                let y = inputs.clone().slice([0..b, 2..4, 0..t, 0..f]); // [B, 2, T, F]
                e1 + conv.forward(self.extend(history, y)) // [B, c1, T, F/2]
            }
            None => e1,
        };
        let e1 = silu(e1); // [B, c1, T, F/2]
        let e2 = silu(self.enc2.forward(e1.clone())); // [B, c2, T, F/4]
        let e3 = silu(self.enc3.forward(e2.clone())); // [B, c3, T, F/8]
        let (state, band_state) = match state {
            Some(s) if self.band_hidden > 0 => {
                let total = s.dims()[1];
                (Some(s.clone().slice([0..b, 0..h])), Some(s.slice([0..b, h..total]))) // [B, H], [B, bands*hb]
            }
            s => (s, None),
        };
        let e3 = self.freq_recurrence(e3); // [B, c3, T, F/8]
        let (e3, band_last) = self.band_recurrence(e3, band_state); // [B, c3, T, F/8]
        let flat = e3.clone().swap_dims(1, 2).reshape([b, t, self.c3 * f / 8]); // [B, T, c3*F/8]
        let film = self.time2.forward(silu(self.time1.forward(time_emb))); // [B, 2H]
        let scale = film.clone().slice([0..b, 0..h]).reshape([b, 1, h]); // [B, 1, H]
        let shift = film.slice([0..b, h..2 * h]).reshape([b, 1, h]); // [B, 1, H]
        let z = self.bottleneck_in.forward(flat) * (scale + 1.0) + shift; // [B, T, H]
        let z = silu(z);
        let g = self.gru.forward(z.clone(), state); // [B, T, H]
        let last = g.clone().slice([0..b, t - 1..t, 0..h]).reshape([b, h]); // [B, H]
        let last = match band_last {
            Some(bl) => Tensor::cat(vec![last, bl], 1), // [B, H + bands*hb]
            None => last,
        };
        let z = silu(self.bottleneck_out.forward(g + z)); // [B, T, c3*F/8]
        let d = z.reshape([b, t, self.c3, f / 8]).swap_dims(1, 2); // [B, c3, T, F/8]
        let d = silu(self.dec3.forward(Tensor::cat(vec![d, e3], 1))); // [B, c2, T, F/4]
        let d = silu(self.dec2.forward(Tensor::cat(vec![d, e2], 1))); // [B, c1, T, F/2]
        let out = self.dec1.forward(Tensor::cat(vec![d, e1], 1)); // [B, 6, T, F]
        let part = |t: &Tensor<4>, c: usize| t.clone().slice([0..b, c..c + 1, 0..t.dims()[2], 0..f]); // [B, 1, T, F]
        let cmul = |k: usize, v: usize| {
            let (kr, ki, vr, vi) = (part(&out, k), part(&out, k + 1), part(&inputs, v), part(&inputs, v + 1));
            (kr.clone() * vr.clone() - ki.clone() * vi.clone(), kr * vi + ki * vr) // ([B,1,T,F], [B,1,T,F])
        };
        let (ar, ai) = cmul(2, 0); // K1 ⊙ x_t
        let (br, bi) = cmul(4, 2); // K2 ⊙ y
        let re = part(&out, 0) + ar + br; // [B, 1, T, F]
        let im = part(&out, 1) + ai + bi; // [B, 1, T, F]
        (Tensor::cat(vec![re, im], 1), last) // [B, 2, T, F]
    }
}

/// A fresh trainable parameter of `p`'s shape at zero (a mapped value would lose its gradient
/// tracking): how a layer added to a trained model starts at that model's output.
fn zeros<const D: usize>(p: Param<Tensor<D>>) -> Param<Tensor<D>> {
    Param::from_tensor(p.val().zeros_like())
}

/// `layer` with zero weight and bias.
fn zeroed(mut layer: Linear) -> Linear {
    layer.weight = zeros(layer.weight);
    layer.bias = layer.bias.map(zeros);
    layer
}

/// A small per-frame convolutional net that predicts one log-variance per time-frequency bin.
/// Used as the Prior Net ψ(y) (3 input planes) and the Posterior Net φ(x0, y) (6 planes).
#[derive(Module, Debug)]
pub struct VarianceNet {
    c1: Conv2d,
    c2: Conv2d,
    c3: Conv2d,
    out: Conv2d,
    #[module(skip)]
    logvar_min: f64,
    #[module(skip)]
    logvar_max: f64,
}

impl VarianceNet {
    /// Builds a variance net reading `in_planes` feature planes.
    pub fn new(cfg: &ModelConfig, in_planes: usize, device: &Device) -> Self {
        let (c, k) = (cfg.prior_channels, cfg.kernel);
        Self {
            c1: freq_conv(in_planes, c, k, 1, 1, device),
            c2: freq_conv(c, c, k, 1, 2, device),
            c3: freq_conv(c, c, k, 1, 4, device),
            out: freq_conv(c, 1, k, 1, 1, device),
            logvar_min: cfg.logvar_min,
            logvar_max: cfg.logvar_max,
        }
    }

    /// A variance net that starts at log Σ = 0 (Σ = I, the standard prior) for every input:
    /// zero output weights (still trained through the non-zero features below them) and the
    /// bias that maps to 0 in `[logvar_min, logvar_max]`.
    pub fn neutral(cfg: &ModelConfig, in_planes: usize, device: &Device) -> Self {
        let mut net = Self::new(cfg, in_planes, device);
        let at = ((0.0 - cfg.logvar_min) / (cfg.logvar_max - cfg.logvar_min)).clamp(0.01, 0.99);
        let bias = (at / (1.0 - at)).ln() as f32; // sigmoid⁻¹
        net.out.weight = zeros(net.out.weight);
        net.out.bias = Some(Param::from_tensor(Tensor::from_data(TensorData::new(vec![bias], [1]), device)));
        net
    }

    /// A Posterior Net φ(x0, y) that starts exactly at this Prior Net ψ(y): the y planes of its
    /// first layer take the prior's weights, the x0 planes start at zero (they still train, since
    /// their inputs are not zero). Continuing a learned-prior model folder (which holds no
    /// Posterior Net) from here starts L_PM at 0 instead of at a random posterior's mismatch.
    pub fn posterior_from_prior(&self) -> Self {
        // New parameters (not clones, which would share the prior's ids in the optimiser).
        let mut post = Self {
            c1: copy_conv(&self.c1),
            c2: copy_conv(&self.c2),
            c3: copy_conv(&self.c3),
            out: copy_conv(&self.out),
            logvar_min: self.logvar_min,
            logvar_max: self.logvar_max,
        };
        let w = self.c1.weight.val().detach(); // [C, 3, 1, k]
        post.c1.weight = Param::from_tensor(Tensor::cat(vec![w.zeros_like(), w], 1).detach()); // [C, 6, 1, k]: x0 planes, then y
        post
    }

    /// Log-variance `[B, 1, T, F]` in `[logvar_min, logvar_max]` from features `[B, P, T, F]`.
    pub fn forward(&self, feats: Tensor<4>) -> Tensor<4> {
        let h = silu(self.c1.forward(feats)); // [B, C, T, F]
        let h = silu(self.c2.forward(h.clone())) + h; // [B, C, T, F]
        let h = silu(self.c3.forward(h.clone())) + h; // [B, C, T, F]
        let raw = self.out.forward(h); // [B, 1, T, F]
        sigmoid(raw) * (self.logvar_max - self.logvar_min) + self.logvar_min
    }
}

/// Feature planes of compressed spectra `[B, 2, T, F]`: real, imaginary and log power `[B, 3, T, F]`.
pub fn spectral_features(x: Tensor<4>) -> Tensor<4> {
    let power = x.clone().square().sum_dim(1); // [B, 1, T, F]
    Tensor::cat(vec![x, (power + 1e-4).log()], 1)
}

/// Sinusoidal embedding `[B, dim]` of fractional diffusion times `tau / T` (one per batch item).
pub fn time_embedding(times: &[f32], dim: usize, device: &Device) -> Tensor<2> {
    let half = dim / 2;
    let mut data = Vec::with_capacity(times.len() * dim);
    for &t in times {
        for i in 0..half {
            let freq = (-(i as f32) / half as f32 * (1000f32).ln()).exp();
            data.push((t * 100.0 * freq).sin());
        }
        for i in 0..half {
            let freq = (-(i as f32) / half as f32 * (1000f32).ln()).exp();
            data.push((t * 100.0 * freq).cos());
        }
    }
    Tensor::from_data(TensorData::new(data, [times.len(), dim]), device)
}
