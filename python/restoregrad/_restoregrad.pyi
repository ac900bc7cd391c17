"""Type stubs of the compiled part of restoregrad (use the package's functions instead)."""

import os
import pathlib
from typing import Optional, Union

import numpy as np
import numpy.typing as npt

MODEL_RATE: int
#: The engine's post-filter exponent when ``post_filter`` is None.
DEFAULT_POST_FILTER: float

class Model:
    """A loaded model (config and weights), shared by every stream and call that uses it."""

    def __init__(self, path: Optional[Union[str, os.PathLike[str]]] = None) -> None:
        """Loads the model folder ``path`` (config.json + weights.bpk), or the shipped model."""
    @property
    def path(self) -> Optional[pathlib.Path]:
        """The model folder, or None for the shipped model."""

class StreamCore:
    """A real-time stream over float32 ``(frames, channels)`` blocks."""

    def __init__(
        self,
        model: Model,
        sample_rate: int,
        channels: int,
        steps: int,
        samples: int,
        atten_lim_db: Optional[float],
        post_filter: Optional[float],
        seed: int,
        chunk_frames: int,
        threads: Optional[int],
    ) -> None: ...
    def process(self, block: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Feeds a block; returns the enhanced frames that are ready."""
    def flush(self) -> npt.NDArray[np.float32]:
        """Ends the stream: returns the rest of the output and starts a new stream."""
    def reset(self) -> None:
        """Forgets all state."""
    @property
    def latency(self) -> int:
        """Output delay in frames."""
    @property
    def sample_rate(self) -> int:
        """The sample rate (Hz)."""
    @property
    def channels(self) -> int:
        """The channel count."""

def enhance_f32(
    model: Model,
    audio: npt.NDArray[np.float32],
    sample_rate: int,
    steps: int,
    samples: int,
    atten_lim_db: Optional[float],
    post_filter: Optional[float],
    seed: int,
    chunk_frames: int,
) -> npt.NDArray[np.float32]:
    """Enhances a whole float32 ``(frames, channels)`` array, aligned, same shape."""

def enhance_file(
    model: Model,
    input: str,
    output: str,
    steps: int,
    samples: int,
    atten_lim_db: Optional[float],
    post_filter: Optional[float],
    seed: int,
    chunk_frames: int,
    float: bool,
) -> float:
    """Enhances an audio file into a .wav or .flac file atomically; returns the seconds of audio."""
