"""Prints the seconds two `Stream`s take one after the other, then on two threads at once.

Run by test_stream.py in a process of its own, so that the measurement starts from a fresh
process (the model loaded and rayon's pool started by the warm-up alone).
"""

import threading
import time

import numpy as np

import restoregrad


def run_stream(x):
    stream = restoregrad.Stream(16_000, steps=2)
    for block in np.array_split(x, len(x) // 1600):  # 100 ms blocks
        stream.process(block)
    stream.flush()


def speedup(seconds=8):
    x = (0.1 * np.random.default_rng(0).standard_normal(16_000 * seconds)).astype(np.float32)
    run_stream(x[:16_000])  # warm-up: the model loaded, the thread pool started
    started = time.perf_counter()
    run_stream(x)
    run_stream(x)
    sequential = time.perf_counter() - started
    threads = [threading.Thread(target=run_stream, args=(x,)) for _ in range(2)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    parallel = time.perf_counter() - started
    return sequential, parallel


if __name__ == "__main__":
    sequential, parallel = speedup()
    print(f"{sequential:.3f} {parallel:.3f}")
