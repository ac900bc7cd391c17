//! Sample-rate conversion between file/device rates and the model rate.
//!
//! Built on rubato's synchronous FFT resampler ([`rubato::Fft`]), a fixed-ratio converter that
//! filters with a Blackman-Harris windowed sinc as long as one FFT block. One block is
//! `k * from/gcd` input samples and `k * to/gcd` output samples; `k` is the smallest multiple that
//! makes the lower-rate side at least [`MIN_BLOCK_LOW`] samples long (the anti-aliasing cutoff sits
//! at about 95 % of the lower Nyquist frequency for 256 samples) and both block lengths even.
//!
//! Alignment: the filter is centred on input sample `block_in / 2`, so with even block lengths the
//! delay is exactly `block_out / 2` output samples, a whole number. [`StreamResampler::delay_out`]
//! reports it; the offline [`resample`] drops it, so its output is aligned sample for sample with
//! its input (output sample `m` sits at input time `m * from / to`).
//!
//! [`resample`] is a thin loop over [`StreamResampler`], so offline and streaming outputs are
//! identical once the streaming delay is dropped.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

/// Smallest block length, in samples on the lower-rate side, that the resampler uses.
///
/// 256 samples at 16 kHz is 16 ms per block and 8 ms of delay; the anti-aliasing filter's
/// cutoff is then about 7.6 kHz of the 8 kHz Nyquist band.
pub const MIN_BLOCK_LOW: usize = 256;

/// Errors from constructing a resampler.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    /// A sample rate was zero.
    #[error("invalid sample-rate conversion {from} Hz -> {to} Hz: both rates must be positive")]
    InvalidRate {
        /// Input rate in Hz.
        from: u32,
        /// Output rate in Hz.
        to: u32,
    },
    /// `max_block_in` was zero.
    #[error("invalid resampler block size: max_block_in must be at least 1")]
    InvalidBlock,
    /// rubato refused the configuration.
    #[error("cannot build a {from} Hz -> {to} Hz resampler: {detail}")]
    Construction {
        /// Input rate in Hz.
        from: u32,
        /// Output rate in Hz.
        to: u32,
        /// rubato's message.
        detail: String,
    },
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Number of output samples `round(len * to / from)` for an input of `len` samples.
pub fn resampled_len(len: usize, from: u32, to: u32) -> usize {
    if from == to {
        return len;
    }
    let (len, from, to) = (len as u128, from as u128, to as u128);
    ((len * to + from / 2) / from) as usize
}

/// Picks the FFT block sizes `(block_in, block_out)` for a conversion (see the module docs).
fn block_sizes(from: u32, to: u32) -> (usize, usize) {
    let g = gcd(from as u64, to as u64);
    let (min_in, min_out) = ((from as u64 / g) as usize, (to as u64 / g) as usize);
    let min_low = min_in.min(min_out);
    let mut k = MIN_BLOCK_LOW.div_ceil(min_low).max(1);
    while (k * min_in) % 2 != 0 || (k * min_out) % 2 != 0 {
        k += 1;
    }
    (k * min_in, k * min_out)
}

/// The rubato state of a non-identity [`StreamResampler`].
struct Inner {
    rs: Fft<f32>,
    block_in: usize,
    block_out: usize,
    /// Pending input, `len() < block_in` between calls; capacity `block_in`.
    in_buf: Vec<f32>,
    /// One block of output, length `block_out`.
    out_buf: Vec<f32>,
    /// Input samples pushed since construction or the last reset.
    in_total: u64,
    /// Output samples appended since construction or the last reset.
    out_total: u64,
}

impl Inner {
    /// Resamples the full `in_buf` into `out_buf` and clears `in_buf`. Never allocates.
    fn run_block(&mut self) {
        debug_assert_eq!(self.in_buf.len(), self.block_in);
        let input = InterleavedSlice::new(&self.in_buf[..], 1, self.block_in)
            .expect("input block length fixed at construction");
        let mut output = InterleavedSlice::new_mut(&mut self.out_buf[..], 1, self.block_out)
            .expect("output block length fixed at construction");
        let (n_in, n_out) = self
            .rs
            .process_into_buffer(&input, &mut output, None)
            .expect("resampler buffers sized at construction");
        debug_assert_eq!((n_in, n_out), (self.block_in, self.block_out));
        self.in_buf.clear();
    }
}

/// Streaming mono resampler for the live engine: push blocks of any size, receive output as soon
/// as a whole internal block is ready.
///
/// All buffers are allocated in [`StreamResampler::new`]; [`StreamResampler::process`] and
/// [`StreamResampler::flush`] never allocate as long as `out` has room for what they append
/// (see [`StreamResampler::max_output_len`] and [`StreamResampler::max_flush_len`]).
///
/// The output stream lags the input stream by [`StreamResampler::delay_out`] output samples: drop
/// that many samples from the start to align it. On top of that delay, up to
/// `block_in() - 1` input samples wait in the internal buffer until a block is complete.
/// When the two rates are equal the resampler is an exact passthrough with zero delay.
pub struct StreamResampler {
    from: u32,
    to: u32,
    max_block_in: usize,
    inner: Option<Inner>,
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("block_in", &self.block_in())
            .field("block_out", &self.block_out())
            .field("delay_out", &self.delay_out())
            .finish()
    }
}

impl StreamResampler {
    /// Builds a resampler from `from` Hz to `to` Hz.
    ///
    /// `max_block_in` is the largest input block the caller will pass to
    /// [`process`](Self::process); it only sizes [`max_output_len`](Self::max_output_len)'s
    /// capacity hint ([`output_capacity`](Self::output_capacity)): larger blocks still work.
    pub fn new(from: u32, to: u32, max_block_in: usize) -> Result<Self, ResampleError> {
        if from == 0 || to == 0 {
            return Err(ResampleError::InvalidRate { from, to });
        }
        if max_block_in == 0 {
            return Err(ResampleError::InvalidBlock);
        }
        if from == to {
            return Ok(Self {
                from,
                to,
                max_block_in,
                inner: None,
            });
        }
        let (block_in, block_out) = block_sizes(from, to);
        let rs = Fft::<f32>::new_custom(
            from as usize,
            to as usize,
            block_in,
            1,
            1,
            WindowFunction::BlackmanHarris2,
            FixedSync::Both,
        )
        .map_err(|e| ResampleError::Construction {
            from,
            to,
            detail: e.to_string(),
        })?;
        if rs.input_frames_next() != block_in || rs.output_frames_next() != block_out {
            return Err(ResampleError::Construction {
                from,
                to,
                detail: format!(
                    "unexpected block sizes {} -> {} (wanted {block_in} -> {block_out})",
                    rs.input_frames_next(),
                    rs.output_frames_next()
                ),
            });
        }
        Ok(Self {
            from,
            to,
            max_block_in,
            inner: Some(Inner {
                rs,
                block_in,
                block_out,
                in_buf: Vec::with_capacity(block_in),
                out_buf: vec![0.0; block_out],
                in_total: 0,
                out_total: 0,
            }),
        })
    }

    /// Input rate in Hz.
    pub fn from_rate(&self) -> u32 {
        self.from
    }

    /// Output rate in Hz.
    pub fn to_rate(&self) -> u32 {
        self.to
    }

    /// Whether the rates are equal (exact passthrough).
    pub fn is_identity(&self) -> bool {
        self.inner.is_none()
    }

    /// Internal block length in input samples (1 for the identity).
    pub fn block_in(&self) -> usize {
        self.inner.as_ref().map_or(1, |i| i.block_in)
    }

    /// Internal block length in output samples (1 for the identity).
    pub fn block_out(&self) -> usize {
        self.inner.as_ref().map_or(1, |i| i.block_out)
    }

    /// Delay of the output stream relative to the input stream, in output samples (exact).
    ///
    /// Output sample `delay_out() + m` is aligned with input time `m * from / to`.
    pub fn delay_out(&self) -> usize {
        self.inner.as_ref().map_or(0, |i| i.block_out / 2)
    }

    /// Input samples waiting in the internal buffer for a block to complete.
    pub fn pending_in(&self) -> usize {
        self.inner.as_ref().map_or(0, |i| i.in_buf.len())
    }

    /// Most output samples one [`process`](Self::process) call with `input_len` samples can append.
    pub fn max_output_len(&self, input_len: usize) -> usize {
        match &self.inner {
            None => input_len,
            // At most `block_in - 1` samples are pending, so at most ceil(n / block_in) blocks complete.
            Some(i) => input_len.div_ceil(i.block_in) * i.block_out,
        }
    }

    /// [`max_output_len`](Self::max_output_len) for the `max_block_in` given at construction:
    /// reserve this much in `out` to keep [`process`](Self::process) allocation-free.
    pub fn output_capacity(&self) -> usize {
        self.max_output_len(self.max_block_in)
    }

    /// Most output samples one [`flush`](Self::flush) call can append.
    pub fn max_flush_len(&self) -> usize {
        match &self.inner {
            None => 0,
            // Remaining input time (< one block) plus the delay, rounded up.
            Some(i) => i.block_out + i.block_out / 2 + 1,
        }
    }

    /// Resamples `input` and appends every completed output sample to `out`.
    ///
    /// Inputs of any size are buffered internally to the block size. Does not allocate when
    /// `out` has spare capacity for [`max_output_len`](Self::max_output_len)`(input.len())` samples.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        let Some(inner) = &mut self.inner else {
            out.extend_from_slice(input);
            return;
        };
        inner.in_total += input.len() as u64;
        let mut rest = input;
        while !rest.is_empty() {
            let take = (inner.block_in - inner.in_buf.len()).min(rest.len());
            inner.in_buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if inner.in_buf.len() == inner.block_in {
                inner.run_block();
                out.extend_from_slice(&inner.out_buf);
                inner.out_total += inner.block_out as u64;
            }
        }
    }

    /// Ends the stream: pushes zeros through the resampler and appends the output that belongs
    /// to the input so far, so the total output (delay included) is
    /// `delay_out() + ceil(total_in * to / from)` samples. Then [`reset`](Self::reset)s.
    ///
    /// Does nothing if no input was pushed since the last reset. Does not allocate when `out`
    /// has spare capacity for [`max_flush_len`](Self::max_flush_len) samples.
    pub fn flush(&mut self, out: &mut Vec<f32>) {
        let Some(inner) = &mut self.inner else { return };
        if inner.in_total == 0 {
            return;
        }
        let (from, to) = (self.from as u128, self.to as u128);
        let covered = (inner.in_total as u128 * to).div_ceil(from) as u64;
        let target = (inner.block_out / 2) as u64 + covered;
        while inner.out_total < target {
            inner.in_buf.resize(inner.block_in, 0.0);
            inner.run_block();
            let n = ((target - inner.out_total) as usize).min(inner.block_out);
            out.extend_from_slice(&inner.out_buf[..n]);
            inner.out_total += n as u64;
        }
        self.reset();
    }

    /// Clears all state, as if freshly constructed.
    pub fn reset(&mut self) {
        if let Some(inner) = &mut self.inner {
            inner.rs.reset();
            inner.in_buf.clear();
            inner.in_total = 0;
            inner.out_total = 0;
        }
    }
}

/// Resamples a whole mono signal from `from` Hz to `to` Hz, offline.
///
/// The resampler's delay is removed, so the output is aligned sample for sample with the input
/// (output sample `m` sits at input time `m * from / to`), and its length is
/// `round(x.len() * to / from)` ([`resampled_len`]). Returns a copy when `from == to`.
///
/// # Panics
/// If either rate is zero.
pub fn resample(x: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to {
        return x.to_vec();
    }
    let mut rs =
        StreamResampler::new(from, to, x.len().max(1)).unwrap_or_else(|e| panic!("resample: {e}"));
    let want = resampled_len(x.len(), from, to);
    let delay = rs.delay_out();
    let mut out = Vec::with_capacity(rs.max_output_len(x.len()) + rs.max_flush_len());
    rs.process(x, &mut out);
    rs.flush(&mut out);
    out.drain(..delay.min(out.len()));
    out.resize(want, 0.0);
    out
}

/// Resamples interleaved audio with `channels` channels, each channel independently
/// (see [`resample`]). Returns interleaved samples, `resampled_len(frames, from, to)` frames.
///
/// # Panics
/// If either rate or `channels` is zero.
pub fn resample_interleaved(x: &[f32], channels: usize, from: u32, to: u32) -> Vec<f32> {
    assert!(
        channels > 0,
        "resample_interleaved: channels must be at least 1"
    );
    if from == to {
        return x.to_vec();
    }
    if channels == 1 {
        return resample(x, from, to);
    }
    let frames = x.len() / channels;
    let n_out = resampled_len(frames, from, to);
    let mut out = vec![0.0; n_out * channels];
    let mut chan = Vec::with_capacity(frames);
    for c in 0..channels {
        chan.clear();
        chan.extend(x.chunks_exact(channels).map(|f| f[c]));
        for (m, v) in resample(&chan, from, to).into_iter().enumerate() {
            out[m * channels + c] = v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_sizes_are_even_and_long_enough() {
        for &(f, t) in &[
            (44_100, 16_000),
            (48_000, 16_000),
            (16_000, 44_100),
            (8_000, 16_000),
            (22_050, 16_000),
            (192_000, 16_000),
        ] {
            let (bi, bo) = block_sizes(f, t);
            assert_eq!(bi % 2, 0);
            assert_eq!(bo % 2, 0);
            assert!(bi.min(bo) >= MIN_BLOCK_LOW);
            assert_eq!(bi as u64 * t as u64, bo as u64 * f as u64);
        }
    }

    #[test]
    fn identity_passthrough() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin()).collect();
        assert_eq!(resample(&x, 16_000, 16_000), x);
        let mut rs = StreamResampler::new(16_000, 16_000, 64).unwrap();
        assert_eq!(rs.delay_out(), 0);
        let mut out = Vec::new();
        rs.process(&x, &mut out);
        rs.flush(&mut out);
        assert_eq!(out, x);
    }

    #[test]
    fn rejects_zero_rates() {
        assert!(StreamResampler::new(0, 16_000, 10).is_err());
        assert!(StreamResampler::new(16_000, 16_000, 0).is_err());
    }

    #[test]
    fn lengths() {
        assert_eq!(resample(&vec![0.0; 48_000], 48_000, 16_000).len(), 16_000);
        assert_eq!(resample(&vec![0.0; 1001], 16_000, 48_000).len(), 3003);
        assert_eq!(resample(&[], 44_100, 16_000).len(), 0);
        assert_eq!(resample(&[0.5], 44_100, 16_000).len(), 0);
    }
}
