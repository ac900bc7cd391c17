//! The diffusion schedule (host side, f64): CDiffuSE's forward process with a Gaussian prior
//! of diagonal covariance Σ.
//!
//! Why CDiffuSE's interpolating form rather than PriorGrad's: speech enhancement has the noisy
//! signal y at hand, and CDiffuSE's x_t = (1-m_t)√ᾱ_t x0 + m_t√ᾱ_t y + √δ_t ε drifts toward y, so
//! sampling starts near y and a handful of steps suffices (the RestoreGrad paper's speech base).
//! RestoreGrad's change is only ε ~ N(0, Σ) instead of N(0, I).

/// The coefficients of the forward marginal at one (possibly fractional) time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coeffs {
    /// ᾱ: cumulative product of (1 - β).
    pub alpha_bar: f64,
    /// m: how far the mean has moved from x0 toward y (1 at the sampling start).
    pub m: f64,
    /// δ: the variance multiplier of ε.
    pub delta: f64,
}

impl Coeffs {
    /// Weight of x0 in the mean, (1-m)√ᾱ.
    pub fn x0_weight(&self) -> f64 {
        (1.0 - self.m) * self.alpha_bar.sqrt()
    }
    /// Weight of y in the mean, m√ᾱ.
    pub fn y_weight(&self) -> f64 {
        self.m * self.alpha_bar.sqrt()
    }
    /// Standard deviation multiplier of ε, √δ.
    pub fn noise_std(&self) -> f64 {
        self.delta.sqrt()
    }
}

/// CDiffuSE's fast inference noise schedule (6 steps); fewer steps use its last (noisiest) ones.
pub const FAST_BETAS: [f64; 6] = [1e-4, 1e-3, 0.01, 0.05, 0.2, 0.35];

/// The training schedule and its fast sampling subsets.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// ᾱ at integer times 1..=T (index 0 is t = 1).
    log_alpha_bar: Vec<f64>,
}

impl Schedule {
    /// Linear β from `beta_start` to `beta_end` over `steps` training steps.
    pub fn new(steps: usize, beta_start: f64, beta_end: f64) -> Self {
        let mut acc = 0.0;
        let log_alpha_bar = (0..steps)
            .map(|i| {
                let beta = beta_start + (beta_end - beta_start) * i as f64 / (steps - 1) as f64;
                acc += (1.0 - beta).ln();
                acc
            })
            .collect();
        Self { log_alpha_bar }
    }

    /// Number of training steps T.
    pub fn train_steps(&self) -> usize {
        self.log_alpha_bar.len()
    }

    /// ᾱ at fractional time `tau` in `[1, T]` (log-linear interpolation).
    pub fn alpha_bar(&self, tau: f64) -> f64 {
        let t = tau.clamp(1.0, self.train_steps() as f64) - 1.0;
        let i = (t.floor() as usize).min(self.train_steps() - 2);
        let w = t - i as f64;
        ((1.0 - w) * self.log_alpha_bar[i] + w * self.log_alpha_bar[i + 1]).exp()
    }

    /// The forward-process coefficients at `tau` (CDiffuSE: m = min(√((1-ᾱ)/√ᾱ), 1)).
    pub fn coeffs(&self, tau: f64) -> Coeffs {
        let alpha_bar = self.alpha_bar(tau);
        let m = ((1.0 - alpha_bar) / alpha_bar.sqrt()).min(1.0).sqrt();
        let delta = (1.0 - (1.0 + m * m) * alpha_bar).max(0.0);
        Coeffs { alpha_bar, m, delta }
    }

    /// The coefficients used to draw the sampling start at `tau`: the mean is √ᾱ y (m = 1, as
    /// CDiffuSE starts from the noisy signal, x0 being unknown) and the noise level is the
    /// training marginal's δ(tau), so the network sees the noise level it was trained on.
    pub fn start_coeffs(&self, tau: f64) -> Coeffs {
        Coeffs { m: 1.0, ..self.coeffs(tau) }
    }

    /// ᾱ at the last training step.
    pub fn alpha_bar_last(&self) -> f64 {
        self.log_alpha_bar[self.train_steps() - 1].exp()
    }

    /// The fractional training time whose ᾱ equals `alpha_bar` (bisection; ᾱ falls with t).
    pub fn time_for_alpha_bar(&self, alpha_bar: f64) -> f64 {
        let (mut lo, mut hi) = (1.0, self.train_steps() as f64);
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if self.alpha_bar(mid) > alpha_bar {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    /// The descending fractional times of an `steps`-step sampler (1..=6): the noisiest `steps`
    /// entries of CDiffuSE's fast schedule, mapped to training times by matching ᾱ.
    pub fn sampling_times(&self, steps: usize) -> Result<Vec<f64>, String> {
        if !(1..=FAST_BETAS.len()).contains(&steps) {
            return Err(format!("steps must be 1..={}, got {steps}", FAST_BETAS.len()));
        }
        let mut acc = 1.0;
        let abars: Vec<f64> = FAST_BETAS.iter().map(|b| {
            acc *= 1.0 - b;
            acc
        }).collect();
        Ok(abars[FAST_BETAS.len() - steps..].iter().rev().map(|&a| self.time_for_alpha_bar(a)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_monotone_and_matches_cdiffuse() {
        let s = Schedule::new(50, 1e-4, 0.035);
        assert!((s.alpha_bar(1.0) - (1.0 - 1e-4)).abs() < 1e-12);
        let mut prev = 1.0;
        for i in 1..=50 {
            let c = s.coeffs(i as f64);
            assert!(c.alpha_bar < prev && c.m > 0.0 && c.m <= 1.0 && c.delta >= 0.0);
            prev = c.alpha_bar;
        }
        // Marginal mean + variance identity: x0 weight + y weight = √ᾱ.
        let c = s.coeffs(20.5);
        assert!((c.x0_weight() + c.y_weight() - c.alpha_bar.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn sampling_times_descend_and_match_alpha_bar() {
        let s = Schedule::new(50, 1e-4, 0.035);
        for steps in 1..=6 {
            let ts = s.sampling_times(steps).unwrap();
            assert_eq!(ts.len(), steps);
            assert!(ts.windows(2).all(|w| w[0] > w[1]));
        }
        let t6 = s.sampling_times(6).unwrap();
        let expected: f64 = FAST_BETAS.iter().map(|b| 1.0 - b).product();
        assert!((s.alpha_bar(t6[0]) - expected).abs() < 1e-9);
        assert!(s.sampling_times(0).is_err() && s.sampling_times(7).is_err());
    }
}
