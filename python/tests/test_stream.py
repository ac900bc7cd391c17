"""Streaming: blocks of random sizes give the one-shot output; flush, reset, latency; bad
blocks raise; and the GIL is released (two streams on two threads run in parallel)."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import restoregrad
from conftest import FIXTURE, read_wav

#: Float rounding only: the stream and the one-shot path run the same pipeline in differently
#: cut blocks.
TOLERANCE = 1e-5
HERE = Path(__file__).parent


def stream_all(stream, x, sizes):
    out, pos = [], 0
    for n in sizes:
        out.append(stream.process(x[pos : pos + n]))
        pos += n
    out.append(stream.flush())
    return np.concatenate(out)


def random_sizes(rng, total, high):
    sizes = []
    while sum(sizes) < total:
        sizes.append(int(rng.integers(0, high)))
    return sizes


@pytest.mark.parametrize("rate, channels", [(16_000, 1), (44_100, 2), (48_000, 1), (8_000, 3)])
def test_random_blocks_equal_one_shot(rate, channels):
    rng = np.random.default_rng(rate + channels)
    x = (0.1 * rng.standard_normal((rate, channels))).astype(np.float32)
    stream = restoregrad.Stream(rate, channels)
    y = stream_all(stream, x, random_sizes(rng, len(x), 3000))
    assert len(y) >= len(x) + stream.latency
    aligned = y[stream.latency : stream.latency + len(x)]
    one_shot = restoregrad.enhance(x, rate, chunk_frames=restoregrad.STREAM_CHUNK_FRAMES)
    assert np.abs(aligned - one_shot).max() <= TOLERANCE


def test_post_filter_stream_equals_one_shot():
    x, rate = read_wav(FIXTURE)
    x = x[:rate, 0]
    stream = restoregrad.Stream(rate, post_filter=2)
    y = stream_all(stream, x, random_sizes(np.random.default_rng(5), len(x), 3000))
    aligned = y[stream.latency : stream.latency + len(x)]
    one_shot = restoregrad.enhance(x, rate, post_filter=2, chunk_frames=restoregrad.STREAM_CHUNK_FRAMES)
    assert np.abs(aligned - one_shot).max() <= TOLERANCE
    assert not np.array_equal(one_shot, restoregrad.enhance(x, rate, post_filter=0, chunk_frames=restoregrad.STREAM_CHUNK_FRAMES))


def test_flush_starts_a_new_stream_and_reset_forgets():
    x, rate = read_wav(FIXTURE)
    x = x[:rate, 0]
    stream = restoregrad.Stream(rate)
    first = stream_all(stream, x, [len(x)])
    assert np.array_equal(stream_all(stream, x, [len(x)]), first)
    stream.process(np.ones(5000, np.float32) * 0.5)
    stream.reset()
    assert np.array_equal(stream_all(stream, x, [len(x)]), first)


def test_mono_blocks_keep_their_shape_and_dtype():
    stream = restoregrad.Stream(16_000)
    y = stream.process((np.zeros(8000)).astype(np.int16))
    assert y.ndim == 1 and y.dtype == np.int16
    y = stream.process(np.zeros((8000, 1)))
    assert y.ndim == 2 and y.dtype == np.float64
    assert stream.latency > 0 and stream.sample_rate == 16_000 and stream.channels == 1


def test_bad_blocks_and_settings_raise():
    stream = restoregrad.Stream(16_000, channels=2)
    with pytest.raises(ValueError, match="block has 1 channels; the stream has 2"):
        stream.process(np.zeros(100, np.float32))
    with pytest.raises(ValueError, match="invalid sample NaN"):
        stream.process(np.full((10, 2), np.nan, np.float32))
    with pytest.raises(ValueError, match="channels"):
        restoregrad.Stream(16_000, channels=0)
    with pytest.raises(ValueError, match="steps"):
        restoregrad.Stream(16_000, steps=7)
    for bad in (-1, 5, "2", True):
        with pytest.raises(ValueError, match="post_filter"):
            restoregrad.Stream(16_000, post_filter=bad)
    with pytest.raises(ValueError, match="sample rate"):
        restoregrad.Stream(1_000_000)


def test_python_runs_while_a_block_is_enhanced():
    # With the GIL held through the call, this thread could not run a line until it returned.
    stream = restoregrad.Stream(16_000, steps=6, chunk_frames=1)
    block = (0.1 * np.random.default_rng(0).standard_normal(16_000 * 4)).astype(np.float32)
    worker = threading.Thread(target=stream.process, args=(block,))
    started = time.perf_counter()
    worker.start()
    last, longest_stall = time.perf_counter(), 0.0
    while worker.is_alive():
        now = time.perf_counter()
        longest_stall, last = max(longest_stall, now - last), now
    call = time.perf_counter() - started
    assert call > 0.2, "the block was too short to tell"
    assert longest_stall < call / 2, f"Python stalled {longest_stall:.2f} s of the {call:.2f} s call"


def measure():
    """(two streams one after the other, on two threads, in two processes), in seconds."""
    script = [sys.executable, str(HERE / "gil_speedup.py")]
    start = time.time() + 5  # both processes loaded and warmed up by then
    procs = [subprocess.Popen(script + ["stream", str(start)], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    in_processes = max(float(p.communicate()[0]) for p in procs)
    assert all(p.returncode == 0 for p in procs)
    done = subprocess.run(script + ["threads"], capture_output=True, text=True, check=True)
    sequential, on_threads = map(float, done.stdout.split())
    return sequential, on_threads, in_processes


def test_two_streams_on_two_threads_run_in_parallel():
    # Two streams on two threads against the same two one after the other: with the GIL held
    # during compute they would take as long; released, they run on two cores at once and gain
    # about what two processes gain (the machine's room for two streams at the moment). Up to
    # three tries, so that a moment of load from other processes does not decide it.
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core: nothing to run in parallel")
    tries = []
    for _ in range(3):
        sequential, on_threads, in_processes = measure()
        threads_gain, processes_gain = sequential / on_threads, sequential / in_processes
        tries.append((threads_gain, processes_gain))
        print(f"two streams: {sequential:.2f} s one after the other, {on_threads:.2f} s on two threads "
              f"({threads_gain:.2f}x), {in_processes:.2f} s in two processes ({processes_gain:.2f}x)")
        if processes_gain >= 1.5 and threads_gain > 1.3 and threads_gain > 0.75 * processes_gain:
            return
    if max(p for _, p in tries) < 1.5:
        pytest.skip(f"no two free cores now: two processes gained only {max(p for _, p in tries):.2f}x")
    raise AssertionError(f"two threads did not gain as two processes did: (threads, processes) {tries}")
