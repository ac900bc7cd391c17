"""Times two `Stream`s: one after the other, on two threads of one process, and in two processes.

Run by test_stream.py in processes of its own. Each stream computes on one thread of its own
(``threads=1``), so one stream uses one core. Two processes show how much two streams can gain
from two cores on this machine right now (no GIL between them); two threads gain as much only if
the GIL is released while they compute.

- ``gil_speedup.py threads``: prints the seconds of two streams one after the other, then on two
  threads at once.
- ``gil_speedup.py stream START``: waits until the time.time() START, then prints the seconds of
  one stream (two of these at once: the two-process case).
"""

import sys
import threading
import time

import numpy as np

import restoregrad

SECONDS = 8


def run_stream(x):
    # One compute thread of its own: the stream uses one core, whatever the process-wide pool.
    stream = restoregrad.Stream(16_000, steps=2, threads=1)
    for block in np.array_split(x, len(x) // 1600):  # 100 ms blocks
        stream.process(block)
    stream.flush()


def signal():
    x = (0.1 * np.random.default_rng(0).standard_normal(16_000 * SECONDS)).astype(np.float32)
    run_stream(x[:16_000])  # warm-up: the model loaded, the thread pool started
    return x


def threads():
    x = signal()
    started = time.perf_counter()
    run_stream(x)
    run_stream(x)
    sequential = time.perf_counter() - started
    workers = [threading.Thread(target=run_stream, args=(x,)) for _ in range(2)]
    started = time.perf_counter()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    print(f"{sequential:.3f} {time.perf_counter() - started:.3f}")


def stream(start):
    x = signal()
    time.sleep(max(0.0, start - time.time()))
    started = time.perf_counter()
    run_stream(x)
    print(f"{time.perf_counter() - started:.3f}")


if __name__ == "__main__":
    threads() if sys.argv[1] == "threads" else stream(float(sys.argv[2]))
