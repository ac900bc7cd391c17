import wave

import numpy as np

import restoregrad

with wave.open("tests/fixtures/noisy/p287_002.wav") as f:  # 16-bit PCM, mono
    rate = f.getframerate()
    noisy = np.frombuffer(f.readframes(f.getnframes()), dtype=np.int16)

enhanced = restoregrad.enhance(noisy, rate)  # int16 in, int16 out, aligned with the input
assert enhanced.shape == noisy.shape and enhanced.dtype == np.int16

# float32/float64 work too, and (n, channels) arrays: each channel is enhanced on its own.
stereo = np.stack([noisy, noisy[::-1]], axis=1).astype(np.float32) / 32768
enhanced_stereo = restoregrad.enhance(stereo, rate, steps=2, atten_lim_db=20.0, seed=1)
assert enhanced_stereo.shape == stereo.shape and enhanced_stereo.dtype == np.float32
