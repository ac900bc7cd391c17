//! An exponential moving average of the weights, kept for validation and export.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;

struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let n = t.shape().num_elements();
        self.0.push(t.reshape([n])); // [N]
    }
}

struct Blend {
    src: std::vec::IntoIter<Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let src = self.src.next().expect("EMA and model have the same parameters");
        let decay = self.decay;
        param.map(|t| {
            let shape = t.shape();
            t * decay + src.reshape(shape) * (1.0 - decay)
        })
    }
}

/// ema ← decay·ema + (1−decay)·current, parameter by parameter (same module structure).
/// `current` must live on the EMA's device without autodiff (use `Module::valid`).
pub fn update<M: Module>(ema: M, current: &M, decay: f64) -> M {
    let mut c = Collect(Vec::new());
    current.visit(&mut c);
    ema.map(&mut Blend { src: c.0.into_iter(), decay })
}
