//! `restoregrad._restoregrad`: the compiled part of the `restoregrad` Python package.
//!
//! It takes and returns float32 arrays of shape `(frames, channels)` only; the Python layer
//! (`restoregrad/__init__.py`) converts dtypes and shapes and resolves `model=`. Compute runs
//! with the GIL released, and every error is a Python exception carrying the library's message
//! (the same text the command line prints): `ValueError` for bad arguments or samples,
//! `OSError` for audio files, `RuntimeError` for models.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use restoregrad::audio::{SampleFormat, MAX_SAMPLE};
use restoregrad::engine::StreamerConfig;
use restoregrad::{Error, Pipeline, PipelineBuilder};

/// The library's error as the Python exception of its kind, with its message.
fn py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Setting(_) => PyValueError::new_err(msg),
        Error::Audio(_) => PyOSError::new_err(msg),
        Error::Model(_) => PyRuntimeError::new_err(msg),
    }
}

/// Model(path=None): a loaded model (config and weights), shared by every stream and call that
/// uses it. `path` is a model folder (config.json + weights.bpk); None loads the shipped model
/// (compiled into the package). Raises RuntimeError, naming the folder, when it cannot be loaded.
#[pyclass(frozen, module = "restoregrad")]
struct Model {
    // A mutex makes the model shareable between Python threads whatever burn's tensors allow;
    // it is held only while a pipeline is built (cloning the weights' handles).
    inner: Arc<Mutex<restoregrad::Model>>,
    path: Option<PathBuf>,
}

#[pymethods]
impl Model {
    /// Loads the model folder `path` (config.json + weights.bpk), or the shipped model (compiled
    /// into the package) when `path` is None.
    #[new]
    #[pyo3(signature = (path=None))]
    fn new(py: Python<'_>, path: Option<PathBuf>) -> PyResult<Self> {
        let loaded = py.detach(|| match &path {
            Some(dir) => restoregrad::Model::load(dir),
            None => restoregrad::Model::shipped(),
        });
        let model = loaded.map_err(|e| py_err(e.into()))?;
        Ok(Self { inner: Arc::new(Mutex::new(model)), path })
    }

    /// The model folder, or None for the shipped model.
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.path.clone()
    }

    fn __repr__(&self) -> String {
        match &self.path {
            Some(p) => format!("restoregrad.Model({:?})", p.display().to_string()),
            None => "restoregrad.Model()".into(),
        }
    }
}

impl Model {
    fn get(&self) -> MutexGuard<'_, restoregrad::Model> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Pipeline settings as the Python functions take them.
#[derive(Clone, Copy)]
struct Settings {
    steps: usize,
    samples: usize,
    atten_lim_db: Option<f32>,
    /// Post-filter exponent; None leaves the engine's default
    /// ([`StreamerConfig::DEFAULT_POST_FILTER`]), so Python follows it when it is retuned.
    post_filter: Option<f32>,
    seed: u64,
    chunk_frames: usize,
}

impl Settings {
    fn builder(&self, rate: u32, channels: usize) -> PipelineBuilder {
        PipelineBuilder::new(rate, channels)
            .steps(self.steps)
            .samples(self.samples)
            .atten_lim_db(self.atten_lim_db)
            .post_filter(self.post_filter.unwrap_or(StreamerConfig::DEFAULT_POST_FILTER))
            .seed(self.seed)
            .chunk_frames(self.chunk_frames)
    }

    /// A pipeline over `model`; a bad setting is a `ValueError` naming it and its range.
    fn build(&self, model: &Model, rate: u32, channels: usize) -> PyResult<Pipeline<'static>> {
        self.builder(rate, channels).build(&model.get()).map_err(py_err)
    }
}

/// Refuses a NaN, infinite or absurd sample as the file reader does (the model would turn the
/// whole signal into silence); the message names the frame and channel.
fn check_samples(samples: &[f32], channels: usize) -> PyResult<()> {
    match samples.iter().position(|v| !v.is_finite() || v.abs() > MAX_SAMPLE) {
        None => Ok(()),
        Some(i) => Err(PyValueError::new_err(format!(
            "invalid sample {:.3e} at frame {}, channel {} (samples must be finite and within ±{MAX_SAMPLE} full scale)",
            samples[i],
            i / channels,
            i % channels
        ))),
    }
}

/// A `(frames, channels)` float32 array from interleaved samples.
fn to_array<'py>(py: Python<'py>, samples: Vec<f32>, channels: usize) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let frames = samples.len() / channels;
    PyArray1::from_vec(py, samples).reshape([frames, channels])
}

/// Interleaved samples of a `(frames, channels)` array (a copy: the GIL is released while the
/// pipeline reads them, so they must not be Python's memory).
fn samples_of(audio: &PyReadonlyArray2<'_, f32>) -> PyResult<(Vec<f32>, usize)> {
    let channels = audio.shape()[1];
    if channels == 0 {
        return Err(PyValueError::new_err("audio has 0 channels"));
    }
    let samples = audio.as_array().iter().copied().collect::<Vec<f32>>();
    check_samples(&samples, channels)?;
    Ok((samples, channels))
}

/// Enhances a whole `(frames, channels)` float32 array; output aligned with it, same shape.
#[pyfunction]
#[pyo3(signature = (model, audio, sample_rate, steps, samples, atten_lim_db, post_filter, seed, chunk_frames))]
#[allow(clippy::too_many_arguments)]
fn enhance_f32<'py>(
    py: Python<'py>,
    model: &Model,
    audio: PyReadonlyArray2<'py, f32>,
    sample_rate: u32,
    steps: usize,
    samples: usize,
    atten_lim_db: Option<f32>,
    post_filter: Option<f32>,
    seed: u64,
    chunk_frames: usize,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let (input, channels) = samples_of(&audio)?;
    if input.is_empty() {
        return Err(PyValueError::new_err("zero-length audio (the array holds no samples)"));
    }
    let settings = Settings { steps, samples, atten_lim_db, post_filter, seed, chunk_frames };
    let mut pipeline = settings.build(model, sample_rate, channels)?;
    let out = py.detach(move || pipeline.enhance(&input));
    to_array(py, out, channels)
}

/// Enhances the audio file `input` into the `.wav` or `.flac` file `output` (atomically); returns seconds.
#[pyfunction]
#[pyo3(signature = (model, input, output, steps, samples, atten_lim_db, post_filter, seed, chunk_frames, float))]
#[allow(clippy::too_many_arguments)]
fn enhance_file(
    py: Python<'_>,
    model: &Model,
    input: PathBuf,
    output: PathBuf,
    steps: usize,
    samples: usize,
    atten_lim_db: Option<f32>,
    post_filter: Option<f32>,
    seed: u64,
    chunk_frames: usize,
    float: bool,
) -> PyResult<f64> {
    let settings = Settings { steps, samples, atten_lim_db, post_filter, seed, chunk_frames };
    // The rate and channels are stand-ins, replaced by the file's once it is open; the other
    // settings are checked now, before the file is touched.
    let builder = settings.builder(restoregrad::MODEL_RATE, 1);
    builder.validate().map_err(py_err)?;
    let core = model.get().clone();
    let format = if float { SampleFormat::Float32 } else { SampleFormat::Pcm16 };
    py.detach(move || restoregrad::engine::enhance_file(&input, &output, builder, &core, format)).map_err(py_err)
}

/// A real-time stream: blocks of any size in, enhanced blocks out, delayed by `latency` frames.
#[pyclass(frozen, module = "restoregrad")]
struct StreamCore {
    pipeline: Mutex<Pipeline<'static>>,
    // A pool of the stream's own (`threads`), so that streams on separate Python threads compute
    // side by side instead of queueing on the process-wide pool; None: the process-wide pool.
    pool: Option<rayon::ThreadPool>,
    channels: usize,
    sample_rate: u32,
}

#[pymethods]
impl StreamCore {
    #[new]
    #[pyo3(signature = (model, sample_rate, channels, steps, samples, atten_lim_db, post_filter, seed, chunk_frames, threads))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        model: &Model,
        sample_rate: u32,
        channels: usize,
        steps: usize,
        samples: usize,
        atten_lim_db: Option<f32>,
        post_filter: Option<f32>,
        seed: u64,
        chunk_frames: usize,
        threads: Option<usize>,
    ) -> PyResult<Self> {
        let settings = Settings { steps, samples, atten_lim_db, post_filter, seed, chunk_frames };
        let pipeline = settings.build(model, sample_rate, channels)?;
        let pool = threads.map(own_pool).transpose()?;
        Ok(Self { pipeline: Mutex::new(pipeline), pool, channels, sample_rate })
    }

    /// Feeds a `(frames, channels)` block; returns the enhanced frames that are ready.
    fn process<'py>(&self, py: Python<'py>, block: PyReadonlyArray2<'py, f32>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let got = block.shape()[1];
        if got != self.channels {
            return Err(PyValueError::new_err(format!("block has {got} channels; the stream has {}", self.channels)));
        }
        let (input, _) = samples_of(&block)?;
        let out = py.detach(|| {
            self.on_pool(|| {
                let mut out = Vec::with_capacity(input.len() + 4096 * self.channels);
                self.lock().process(&input, &mut out);
                out
            })
        });
        to_array(py, out, self.channels)
    }

    /// Ends the stream: returns the rest of the output (every input frame has come out) and
    /// starts a new stream.
    fn flush<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let out = py.detach(|| {
            self.on_pool(|| {
                let mut pipeline = self.lock();
                let mut out = Vec::new();
                pipeline.finish(&mut out);
                pipeline.reset();
                out
            })
        });
        to_array(py, out, self.channels)
    }

    /// Forgets all state: the next block starts a new stream.
    fn reset(&self) {
        self.lock().reset();
    }

    /// Output delay in frames at the stream's rate.
    #[getter]
    fn latency(&self) -> usize {
        self.lock().latency().total_out
    }

    /// The sample rate (Hz).
    #[getter]
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The channel count.
    #[getter]
    fn channels(&self) -> usize {
        self.channels
    }
}

/// A rayon pool of `threads` compute threads for one stream.
fn own_pool(threads: usize) -> PyResult<rayon::ThreadPool> {
    if !(1..=256).contains(&threads) {
        return Err(PyValueError::new_err(format!("threads must be 1..=256, got {threads}")));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("restoregrad-stream-{i}"))
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the stream's {threads} compute threads: {e}")))
}

impl StreamCore {
    /// Runs `f` on the stream's own pool, or here (on the process-wide pool) without one.
    fn on_pool<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pipeline<'static>> {
        self.pipeline.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The compiled part of `restoregrad`; use the package's functions rather than these.
#[pymodule]
fn _restoregrad(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_class::<StreamCore>()?;
    m.add_function(wrap_pyfunction!(enhance_f32, m)?)?;
    m.add_function(wrap_pyfunction!(enhance_file, m)?)?;
    m.add("MODEL_RATE", restoregrad::MODEL_RATE)?;
    // The engine's constant itself, so that Python's docs and callers never restate its value.
    m.add("DEFAULT_POST_FILTER", StreamerConfig::DEFAULT_POST_FILTER)?;
    Ok(())
}
