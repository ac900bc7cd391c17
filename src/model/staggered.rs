//! Staggered step batching: the reverse steps of S consecutive chunks in one denoiser call.
//!
//! The sequential sampler ([`super::sampler`]) makes S denoiser calls per chunk of a stream, one
//! per reverse step. On a GPU each call costs a fixed launch overhead that dwarfs the arithmetic
//! of a few frames, so the staggered sampler runs a *wavefront* instead: at call `n` it runs
//! step `i` of chunk `n - i` for every `i` in `0..S`, as one batch of S items (each with its own
//! time embedding and GRU state).
//!
//! # Why the result is the sequential one
//!
//! Step `i` of chunk `k` needs two things: its input x, which step `i - 1` of chunk `k` made one
//! call earlier, and the GRU state of step `i` after chunk `k - 1`, which step `i` of chunk
//! `k - 1` made one call earlier too. Both are ready, and no two rows of one call share a state
//! (rows `(k, i)` and `(k', i)` of call `n` would need `k = k' = n - i`). The GRU state is kept
//! per (step count, step index) as in the sequential sampler, so chunks run with fewer steps
//! (the engine's degradation) batch alongside full ones and still see their own states.
//!
//! The noise is the other input. The sequential sampler draws, per chunk, the start plane and
//! then one re-noise plane per further step, and nothing else uses the generator; here each
//! chunk draws those same planes, in the same order, when it enters the wavefront
//! ([`SamplerCore::draw_chunk_noise`], shared with the sequential sampler), so the generator
//! yields identical numbers. The output therefore equals the sequential output up to the
//! float rounding of a batched network call (tests check 1e-4), `S - 1` chunks later.
//!
//! With two samples per chunk ([`super::Enhancer::with_samples`]) each chunk takes two rows, z and
//! −z, with their own GRU state rows (`[2, H]` per key, as the sequential sampler keeps them),
//! and its output is their mean.
//!
//! # Delay and end of stream
//!
//! A chunk run with S steps finishes `S - 1` calls after it entered, so every call returns the
//! output of the chunk passed `S - 1` calls earlier ([`crate::model::ChunkDenoiser::delay_chunks`])
//! and zeros during the first `S - 1` calls. A chunk with fewer steps finishes sooner but is held
//! until then, so the delay is constant. The streamer adds this delay to its latency and pushes
//! enough silence at the end of a file to get the delayed tail out.
//!
//! A bypassed chunk ([`crate::model::ChunkDenoiser::skip`]) enters as a hole: it draws no noise,
//! moves no state, and its output slot is left to the caller (the dry frames); the call only
//! advances the chunks in flight.
//!
//! # Device traffic
//!
//! Each chunk is uploaded once (its planes and, in one tensor, all its noise planes); the
//! per-call coefficients travel as one small tensor; x, y, Σ^{1/2} and the GRU states stay on
//! the device between calls; only a finished chunk is downloaded, when it is due.

use std::collections::VecDeque;

use burn::prelude::*;

use super::net::time_embedding;
use super::sampler_core::SamplerCore;
use crate::dsp::Complex32;

/// A chunk between its entry and its last reverse step.
struct InFlight {
    /// Position of the chunk in the stream (0 for the first call after a reset).
    seq: u64,
    /// Reverse steps this chunk runs.
    steps: usize,
    /// The step it runs in the next call.
    next: usize,
    /// Compressed noisy planes, one row per sample `[M, 2, T, F]`.
    y: Tensor<4>,
    /// The y history before this chunk `[M, 2, context, F]` (models with y context).
    history: Option<Tensor<4>>,
    /// Σ_prior(y)^{1/2} `[M, 1, T, F]`.
    sigma: Tensor<4>,
    /// The sample at the time of step `next`, one row per sample `[M, 2, T, F]`.
    x: Tensor<4>,
    /// All of the chunk's noise planes `[steps, 2, T, F]` (plane `i` after step `i - 1`).
    noise: Tensor<4>,
}

/// The output slot of one chunk, in stream order.
enum Slot {
    /// Still in flight.
    Pending,
    /// Finished: x̂0 `[1, 2, T, F]`, on the device until it is due (boxed: the other slots are
    /// empty).
    Ready(Box<Tensor<4>>),
    /// A bypassed chunk: the caller supplies its output.
    Hole,
}

/// The staggered pipeline of one stream, owned by an [`super::Enhancer`] while staggering is on.
pub(super) struct Wavefront {
    /// S: the most steps a chunk runs; the delay is `S - 1` chunks.
    max_steps: usize,
    /// Frames per chunk of the current stream (0 before its first chunk).
    n_frames: usize,
    /// Chunks in flight, oldest first.
    in_flight: VecDeque<InFlight>,
    /// Output slots of the chunks not yet returned, oldest first.
    slots: VecDeque<Slot>,
    /// Position of the next chunk to enter.
    next_seq: u64,
}

impl Wavefront {
    /// An empty pipeline for at most `max_steps` (≥ 1) steps per chunk.
    pub(super) fn new(max_steps: usize) -> Self {
        assert!(max_steps >= 1, "staggering needs at least one step");
        Self { max_steps, n_frames: 0, in_flight: VecDeque::new(), slots: VecDeque::new(), next_seq: 0 }
    }

    /// Chunks between a chunk's entry and its output: `S - 1`.
    pub(super) fn delay_chunks(&self) -> usize {
        self.max_steps - 1
    }

    /// Forgets the stream (chunks in flight and pending outputs).
    pub(super) fn clear(&mut self) {
        self.n_frames = 0;
        self.in_flight.clear();
        self.slots.clear();
        self.next_seq = 0;
    }

    /// One call: `input` (`Some((frames, steps))`, or `None` for a bypassed chunk) enters, every
    /// chunk in flight runs its next step in one batched denoiser call, and the output of the
    /// chunk that entered [`Wavefront::delay_chunks`] calls ago goes into `out` (zeros when
    /// there is none, or when it was bypassed).
    ///
    /// # Panics
    /// If the chunk length changes within a stream (the batch needs one length).
    pub(super) fn advance(&mut self, enh: &mut SamplerCore, input: Option<(&[Complex32], usize)>, out: &mut [Complex32]) {
        let n_frames = out.len() / enh.n_bins();
        assert!(
            self.n_frames == 0 || self.n_frames == n_frames,
            "staggered batching needs one chunk length per stream ({} frames, then {n_frames})",
            self.n_frames
        );
        self.n_frames = n_frames;
        match input {
            Some((noisy, steps)) => {
                self.enter(enh, noisy, steps.clamp(1, self.max_steps));
                self.slots.push_back(Slot::Pending);
            }
            None => self.slots.push_back(Slot::Hole),
        }
        self.next_seq += 1;
        if !self.in_flight.is_empty() {
            self.step(enh);
        }
        let due = if self.slots.len() > self.delay_chunks() { self.slots.pop_front() } else { None };
        match due {
            Some(Slot::Ready(x0)) => enh.download_chunks(*x0, out),
            Some(Slot::Pending) => unreachable!("a chunk runs at most S steps, so it is done S - 1 calls after entry"),
            Some(Slot::Hole) | None => out.fill(Complex32::new(0.0, 0.0)),
        }
    }

    /// Uploads a chunk, draws all its noise and computes its start sample, as the sequential
    /// sampler does at the start of its chunk.
    fn enter(&mut self, enh: &mut SamplerCore, noisy: &[Complex32], steps: usize) {
        let y = enh.upload_chunks(noisy, 1); // [1,2,T,F]
        let history = enh.advance_history(&y);
        let [_, c, t, f] = y.dims();
        let sigma = enh.per_sample(enh.prior_std(y.clone())); // [M,1,T,F]
        let noise = enh.draw_chunk_noise(steps, [1, c, t, f]); // [S,2,T,F]
        let start = enh.schedule.start_coeffs(enh.times[&steps][0]);
        let z = enh.signed_noise(noise.clone().slice([0..1, 0..c, 0..t, 0..f])); // [M,2,T,F]
        let (y, history) = (enh.per_sample(y), history.map(|h| enh.per_sample(h))); // [M,2,T,F]
        let x = y.clone() * start.y_weight() + z * sigma.clone() * start.noise_std(); // [M,2,T,F]
        self.in_flight.push_back(InFlight { seq: self.next_seq, steps, next: 0, y, history, sigma, x, noise });
    }

    /// Runs the next step of every chunk in flight as one batch (oldest first): M rows per
    /// chunk, one per sample ([`SamplerCore::samples`]), so B = chunks × M.
    fn step(&mut self, enh: &mut SamplerCore) {
        let rows: Vec<InFlight> = self.in_flight.drain(..).collect();
        let m = enh.samples();
        let b = rows.len() * m;
        let [_, c, t, f] = rows[0].y.dims();
        let h = enh.model.denoiser.hidden();
        let total = enh.schedule.train_steps() as f64;
        // Per row: the step's time and six weights ([`SamplerCore::step_weights`]), stored as six
        // planes of B values so that one upload carries them all.
        let mut taus = Vec::with_capacity(b);
        let mut coef = vec![0f32; 6 * b];
        for (r, row) in rows.iter().flat_map(|row| std::iter::repeat_n(row, m)).enumerate() {
            taus.push((enh.times[&row.steps][row.next] / total) as f32);
            let w = enh.step_weights(row.steps, row.next);
            for (j, v) in [w.sqrt_1m_ab, w.sqrt_ab, w.x0, w.y, w.noise, w.x].into_iter().enumerate() {
                coef[j * b + r] = v as f32;
            }
        }
        let reuse = coef[5 * b..].iter().any(|&v| v != 0.0);
        let coef = Tensor::<4>::from_data(TensorData::new(coef, [6 * b, 1, 1, 1]), &enh.device); // [6B,1,1,1]
        let col = |j: usize| coef.clone().slice([j * b..(j + 1) * b, 0..1, 0..1, 0..1]); // [B,1,1,1]
        let emb = time_embedding(&taus, enh.cfg.time_dim, &enh.device); // [B, time_dim]

        let x = Tensor::cat(rows.iter().map(|r| r.x.clone()).collect(), 0); // [B,2,T,F]
        let y = Tensor::cat(rows.iter().map(|r| r.y.clone()).collect(), 0); // [B,2,T,F]
        let sigma = Tensor::cat(rows.iter().map(|r| r.sigma.clone()).collect(), 0); // [B,1,T,F]
        // The re-noise plane of each row's next step (any plane for a last step: weight 0).
        let plane = |r: &InFlight| {
            let i = if r.next + 1 < r.steps { r.next + 1 } else { 0 };
            enh.signed_noise(r.noise.clone().slice([i..i + 1, 0..c, 0..t, 0..f])) // [M,2,T,F]
        };
        let z = Tensor::cat(rows.iter().map(plane).collect(), 0); // [B,2,T,F]

        // The GRU state of each row's (step count, step index) stream; a stream that has not
        // started yet gets zeros, which is what the GRU uses for a missing state.
        let keys: Vec<(usize, usize)> = rows.iter().map(|r| (r.steps, r.next)).collect();
        let prev: Vec<Option<Tensor<2>>> = keys.iter().map(|k| enh.states.remove(k)).collect();
        let state = prev.iter().any(Option::is_some).then(|| {
            let parts = prev.into_iter().map(|s| s.unwrap_or_else(|| Tensor::zeros([m, h], &enh.device))).collect();
            Tensor::cat(parts, 0) // [B,H]
        });

        // Each row's y history; a row at a stream start gets zeros, as the denoiser would.
        let ctx = enh.model.denoiser.context();
        let history = rows.iter().any(|r| r.history.is_some()).then(|| {
            let parts = rows.iter().map(|r| r.history.clone().unwrap_or_else(|| Tensor::zeros([m, c, ctx, f], &enh.device))).collect();
            Tensor::cat(parts, 0) // [B,2,ctx,F]
        });

        let input = Tensor::cat(vec![x.clone(), y.clone()], 1); // [B,4,T,F]
        let (eps, new_state) = enh.model.denoiser.forward(input, emb, state, history); // [B,2,T,F], [B,H]
        for (r, key) in keys.into_iter().enumerate() {
            enh.states.insert(key, new_state.clone().slice([r * m..(r + 1) * m, 0..h])); // [M,H]
        }
        let x0_hat = enh.cfg.predict.clean_estimate(eps, x.clone(), col(0), col(1)); // [B,2,T,F]
        let mut x_next = x0_hat.clone() * col(2) + y * col(3) + z * sigma * col(4); // [B,2,T,F]
        if reuse {
            x_next = x_next + x * col(5);
        }

        let front = self.next_seq - self.slots.len() as u64;
        for (r, mut row) in rows.into_iter().enumerate() {
            row.next += 1;
            let own = [r * m..(r + 1) * m, 0..c, 0..t, 0..f];
            if row.next == row.steps {
                let slot = (row.seq - front) as usize;
                self.slots[slot] = Slot::Ready(Box::new(enh.merge_samples(x0_hat.clone().slice(own)))); // [1,2,T,F]
            } else {
                row.x = x_next.clone().slice(own); // [M,2,T,F]
                self.in_flight.push_back(row);
            }
        }
    }
}
