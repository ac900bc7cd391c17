"""restoregrad: real-time speech enhancement with a learned-prior diffusion denoiser.

- :func:`enhance` denoises a whole numpy array (float32, float64 or int16; mono ``(n,)`` or
  ``(n, channels)``) and returns one of the same shape and dtype, aligned with it sample for
  sample, as ``restoregrad enhance`` writes it.
- :class:`Stream` denoises blocks of any size as they come (real time); its output lags the
  input by :attr:`Stream.latency` samples.
- :func:`enhance_file` denoises an audio file (WAV, FLAC, MP3, OGG) into a WAV or FLAC file (by its extension), atomically.
- :mod:`restoregrad.ray` denoises whole corpora on a Ray cluster (or a laptop).

The shipped model is compiled in; ``model=`` takes a model folder (``config.json`` +
``weights.bpk``) or a loaded :class:`Model`. Compute releases the GIL, so threads running
separate streams run in parallel. Bad arguments raise ``ValueError``; unreadable, damaged or
unwritable files ``OSError``; a model that cannot be loaded ``RuntimeError``; each message says
what and which file, as the command line does.
"""

from __future__ import annotations

import functools
import os
from typing import Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _restoregrad
from ._restoregrad import MODEL_RATE, Model

__all__ = [
    "DEFAULT_POST_FILTER",
    "DEFAULT_SAMPLES",
    "DEFAULT_STEPS",
    "FILE_CHUNK_FRAMES",
    "MODEL_RATE",
    "STREAM_CHUNK_FRAMES",
    "Model",
    "ModelLike",
    "Stream",
    "enhance",
    "enhance_file",
]

#: Reverse diffusion steps by default (the command line's default, the shipped model's best).
DEFAULT_STEPS = 1
#: Sampler runs averaged per chunk by default (the antithetic pair, as the command line).
DEFAULT_SAMPLES = 2
#: Post-filter exponent p when ``post_filter=None``: the engine's own constant, read from the
#: compiled part so that it follows the engine (and ``--post-filter``'s default) when retuned.
DEFAULT_POST_FILTER: float = _restoregrad.DEFAULT_POST_FILTER
#: STFT frames per model call for whole arrays and files (``enhance --chunk-frames`` default).
FILE_CHUNK_FRAMES = 32
#: STFT frames per model call for streams (the live engine's default: lowest latency).
STREAM_CHUNK_FRAMES = 2

#: What ``model=`` takes: None (the shipped model), a model folder, or a loaded Model.
ModelLike = Union[None, str, "os.PathLike[str]", Model]

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int16))


@functools.lru_cache(maxsize=1)
def _shipped() -> Model:
    """The shipped model, loaded once per process."""
    return Model()


def _model(model: ModelLike) -> Model:
    """Resolves ``model=`` to a loaded model."""
    if model is None:
        return _shipped()
    if isinstance(model, Model):
        return model
    if isinstance(model, (str, os.PathLike)):
        return Model(os.fspath(model))
    raise TypeError(f"model must be None, a model folder or a restoregrad.Model, got {type(model).__name__}")


def _to_frames(audio: npt.ArrayLike, what: str = "audio") -> Tuple[np.ndarray, np.dtype, bool]:
    """``audio`` as C-contiguous float32 ``(frames, channels)``, with its dtype and mononess."""
    a = np.asarray(audio)
    if a.dtype not in _DTYPES:
        raise ValueError(f"{what} must be float32, float64 or int16, got {a.dtype}")
    if a.ndim not in (1, 2):
        raise ValueError(f"{what} must be (n,) or (n, channels), got shape {a.shape}")
    mono = a.ndim == 1
    frames = a.reshape(-1, 1) if mono else a
    if a.dtype == np.int16:
        frames = frames.astype(np.float32) / np.float32(32768.0)
    return np.ascontiguousarray(frames, dtype=np.float32), a.dtype, mono


def _from_frames(out: np.ndarray, dtype: np.dtype, mono: bool) -> np.ndarray:
    """Float32 ``(frames, channels)`` back to the caller's dtype and shape; int16 is rounded
    and clamped as the command line writes 16-bit PCM."""
    if dtype == np.int16:
        out = np.clip(np.round(np.clip(out, -1.0, 1.0) * np.float32(32768.0)), -32768, 32767).astype(np.int16)
    elif dtype == np.float64:
        out = out.astype(np.float64)
    return out[:, 0] if mono else out


def _rate(sample_rate: int) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer (Hz), got {sample_rate!r}")
    return int(sample_rate)


def _settings(
    steps: int, samples: int, atten_lim_db: Optional[float], post_filter: Optional[float], seed: int, chunk_frames: int
) -> tuple:
    """The settings as the compiled part takes them; a negative or non-integer count, or a
    post_filter that is not a number, is a ValueError here (the compiled part checks the ranges
    and says which)."""
    for name, value in (("steps", steps), ("samples", samples), ("seed", seed), ("chunk_frames", chunk_frames)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if atten_lim_db is not None:
        atten_lim_db = float(atten_lim_db)
    if post_filter is not None:
        # A bool is an int to Python, but post_filter=True is a mistake, not the exponent 1.
        if isinstance(post_filter, (bool, np.bool_)) or not isinstance(post_filter, (int, float, np.integer, np.floating)):
            raise ValueError(f"post_filter must be a number or None, got {post_filter!r}")
        post_filter = float(post_filter)
    return int(steps), int(samples), atten_lim_db, post_filter, int(seed), int(chunk_frames)


def enhance(
    audio: npt.ArrayLike,
    sample_rate: int,
    *,
    steps: int = DEFAULT_STEPS,
    samples: int = DEFAULT_SAMPLES,
    atten_lim_db: Optional[float] = None,
    post_filter: Optional[float] = None,
    seed: int = 0,
    chunk_frames: int = FILE_CHUNK_FRAMES,
    model: ModelLike = None,
) -> np.ndarray:
    """Denoises a whole signal; returns an array of the same shape and dtype, aligned with it.

    Args:
        audio: float32, float64 or int16 samples (int16 full scale is 32768), mono ``(n,)`` or
            ``(n, channels)``; each channel is enhanced on its own.
        sample_rate: the signal's rate in Hz (resampled to the model's 16 kHz and back).
        steps: reverse diffusion steps, 1-6 (``--steps``).
        samples: sampler runs averaged per chunk, 1 or 2 (``--samples``).
        atten_lim_db: remove at most this many dB of noise; unlimited if None.
        post_filter: post-filter exponent p (``--post-filter``): bins the model attenuated by a
            gain G are scaled by a further G**p, removing more residual noise; 0 turns it off;
            None uses the default, :data:`DEFAULT_POST_FILTER`. The attenuation limit still
            bounds the total removal.
        seed: the sampler's seed (same seed, same output).
        chunk_frames: STFT frames per model call (``--chunk-frames``; 32 as ``enhance``).
        model: None (the shipped model), a model folder or a :class:`Model`.

    Returns:
        The enhanced signal, as ``restoregrad enhance`` computes it (equal to its ``--float``
        output within float rounding; int16 rounded as its 16-bit output).

    Raises:
        ValueError: a bad dtype, shape, rate, setting (e.g. a post_filter out of range or not a
            number), or a NaN/infinite/absurd sample.
    """
    frames, dtype, mono = _to_frames(audio)
    settings = _settings(steps, samples, atten_lim_db, post_filter, seed, chunk_frames)
    out = _restoregrad.enhance_f32(_model(model), frames, _rate(sample_rate), *settings)
    return _from_frames(out, dtype, mono)


def enhance_file(
    input: Union[str, "os.PathLike[str]"],
    output: Union[str, "os.PathLike[str]"],
    *,
    steps: int = DEFAULT_STEPS,
    samples: int = DEFAULT_SAMPLES,
    atten_lim_db: Optional[float] = None,
    post_filter: Optional[float] = None,
    seed: int = 0,
    chunk_frames: int = FILE_CHUNK_FRAMES,
    float32: bool = False,
    model: ModelLike = None,
) -> float:
    """Denoises the audio file ``input`` into ``output`` (``.wav``, or 16-bit ``.flac``), as ``restoregrad enhance
    input -o output`` does; returns the seconds of audio.

    The input may be WAV, FLAC, MP3 or Ogg Vorbis at 8-192 kHz with any channel count; the
    output has its rate, channels and length, as 16-bit PCM (``float32=True``: 32-bit float).
    It is written to a temp file renamed into place, so a failure leaves ``output`` as it was.
    The other arguments are :func:`enhance`'s.

    Raises:
        OSError: the input cannot be read or is damaged, the output folder is missing, or the
            output names the input (the message names the file and the problem).
        ValueError: a bad setting.
    """
    settings = _settings(steps, samples, atten_lim_db, post_filter, seed, chunk_frames)
    return _restoregrad.enhance_file(_model(model), os.fspath(input), os.fspath(output), *settings, bool(float32))


class Stream:
    """Real-time enhancement of blocks of any size, e.g. from an audio callback.

    Each :meth:`process` call returns the enhanced samples that are ready: the output lags the
    input by :attr:`latency` samples, and its length differs from the block's as the pipeline's
    internal blocks fill. :meth:`flush` ends the stream and returns the rest, so that the
    concatenated output, less its first :attr:`latency` samples, is aligned with the input.
    The GIL is released while a block is enhanced.

    Args:
        sample_rate: the stream's rate in Hz.
        channels: channels per frame; blocks are ``(n, channels)`` (or ``(n,)`` when mono).
        steps, samples, atten_lim_db, post_filter, seed, model: as for :func:`enhance`.
        chunk_frames: STFT frames per model call (2, the live default: lowest latency).
        threads: compute threads of the stream's own; None (default) computes on the
            process-wide pool (all cores), shared with every call that uses it. Streams run on
            separate Python threads each with ``threads=1`` compute side by side, one core each.
    """

    def __init__(
        self,
        sample_rate: int,
        channels: int = 1,
        *,
        steps: int = DEFAULT_STEPS,
        samples: int = DEFAULT_SAMPLES,
        atten_lim_db: Optional[float] = None,
        post_filter: Optional[float] = None,
        seed: int = 0,
        chunk_frames: int = STREAM_CHUNK_FRAMES,
        model: ModelLike = None,
        threads: Optional[int] = None,
    ) -> None:
        if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels <= 0:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        settings = _settings(steps, samples, atten_lim_db, post_filter, seed, chunk_frames)
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
        self._core = _restoregrad.StreamCore(
            _model(model), _rate(sample_rate), int(channels), *settings, None if threads is None else int(threads)
        )
        # The last block's dtype and shape: flush() returns its samples the same way.
        self._dtype = np.dtype(np.float32)
        self._mono = channels == 1

    @property
    def latency(self) -> int:
        """Output delay in samples (frames) at the stream's rate."""
        return self._core.latency

    @property
    def sample_rate(self) -> int:
        """The stream's rate in Hz."""
        return self._core.sample_rate

    @property
    def channels(self) -> int:
        """Channels per frame."""
        return self._core.channels

    def process(self, block: npt.ArrayLike) -> np.ndarray:
        """Feeds a block (float32, float64 or int16; ``(n,)`` mono or ``(n, channels)``) and
        returns the enhanced samples that are ready, in the block's dtype and shape style."""
        frames, self._dtype, self._mono = _to_frames(block, "block")
        return _from_frames(self._core.process(frames), self._dtype, self._mono)

    def flush(self) -> np.ndarray:
        """Ends the stream: returns the remaining output (every input sample has then come out,
        delayed by :attr:`latency`); the next block starts a new stream."""
        return _from_frames(self._core.flush(), self._dtype, self._mono)

    def reset(self) -> None:
        """Forgets all state without output: the next block starts a new stream."""
        self._core.reset()

    def __repr__(self) -> str:
        return f"restoregrad.Stream(sample_rate={self.sample_rate}, channels={self.channels}, latency={self.latency})"
