//! Signal processing: resampling between file/device rates and the model rate, and the STFT.

pub mod resample;
pub mod stft;

pub use realfft::num_complex::Complex32;
