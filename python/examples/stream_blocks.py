import numpy as np

import restoregrad

rate = 48_000
noisy = 0.1 * np.random.default_rng(0).standard_normal((rate, 2)).astype(np.float32)  # 1 s, stereo

stream = restoregrad.Stream(rate, channels=2)  # chunk_frames=2: the live engine's low latency
out = []
for block in np.array_split(noisy, 100):  # 10 ms blocks, as an audio callback delivers them
    out.append(stream.process(block))  # what is ready; the output lags by stream.latency
out.append(stream.flush())  # end of stream: the rest comes out
enhanced = np.concatenate(out)[stream.latency : stream.latency + len(noisy)]  # aligned with noisy
assert enhanced.shape == noisy.shape
print(f"latency: {stream.latency} samples ({1000 * stream.latency / rate:.1f} ms)")
