"""Shared helpers: the repository root, a WAV reader for the command line's outputs, the
command-line binary, and a local 2-CPU Ray instance."""

import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/fixtures/noisy/p287_002.wav"


def read_wav(path):
    """(samples as float32 (frames, channels) in [-1, 1], rate) of a 16-bit PCM or 32-bit float
    WAV file (32-bit is taken as float: what `--float` writes; Python's `wave` reads no float WAV)."""
    data = Path(path).read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", f"{path}: not a WAV file"
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if cid == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif cid == b"data":
            _, channels, rate, _, _, bits = fmt
            if bits == 16:
                x = np.frombuffer(body, dtype="<i2").astype(np.float32) / 32768
            else:
                assert bits == 32, f"{path}: {bits}-bit samples"
                x = np.frombuffer(body, dtype="<f4").astype(np.float32)
            return x.reshape(-1, channels), rate
        pos += 8 + size + (size & 1)
    raise AssertionError(f"{path}: no data chunk")


def cli_binary():
    """The built `restoregrad` program (cargo build --release), or None."""
    candidates = [os.environ.get("RESTOREGRAD_BIN")]
    for target in (os.environ.get("CARGO_TARGET_DIR"), ROOT / "target"):
        if target:
            candidates.append(Path(target) / "release" / "restoregrad")
    candidates.append(shutil.which("restoregrad"))
    return next((str(c) for c in candidates if c and Path(c).is_file()), None)


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance with 2 CPUs, for one test module (stopped after it, so that its
    processes do not load the machine during later timings)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
