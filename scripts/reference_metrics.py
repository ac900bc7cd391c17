#!/usr/bin/env python3
"""Reference speech-quality metrics for validating `restoregrad::metrics`.

Computes, per clean/degraded pair matched by file stem:
  * PESQ wide-band (P.862.2 MOS-LQO) with the `pesq` package (mode 'wb'),
  * STOI and ESTOI with the `pystoi` package,
  * SI-SDR (zero-mean, Le Roux et al. 2019), SNR and segmental SNR (Loizou's
    definition: 30 ms Hann frames, 75 % overlap, per-frame SNR clamped to
    [-10, 35] dB) in plain numpy.

Variants of the degraded signal (so that golden tests cover several quality levels):
  * `noisy`: the degraded file as stored,
  * `mix50`: 0.5 * clean + 0.5 * degraded (a simple "enhanced" signal).

Usage:
  pip install pesq pystoi numpy soundfile scipy
  python3 scripts/reference_metrics.py --clean tests/fixtures/clean \
      --degraded tests/fixtures/noisy --variants noisy,mix50 > tests/golden/fixtures.json

Prints JSON: {"tool": {...versions}, "variants": {name: {"files": [...], "mean": {...}}}}.
Audio is read as float64 (16-bit PCM / 32768) and must be mono 16 kHz.
"""

import argparse
import json
import pathlib
import sys

import numpy as np
import soundfile as sf
from pesq import pesq
from pystoi import stoi

FS = 16000
METRICS = ["pesq_wb", "stoi", "estoi", "si_sdr", "snr", "seg_snr"]


def si_sdr(ref, est):
    ref = ref - ref.mean()
    est = est - est.mean()
    alpha = np.dot(est, ref) / np.dot(ref, ref)
    target = alpha * ref
    noise = est - target
    return 10 * np.log10(np.dot(target, target) / np.dot(noise, noise))


def snr(ref, est):
    noise = ref - est
    return 10 * np.log10(np.dot(ref, ref) / np.dot(noise, noise))


def seg_snr(ref, est, fs=FS):
    """Loizou's `snrseg` (as in the composite measures used on VoiceBank-DEMAND)."""
    win = int(round(30 * fs / 1000))
    skip = win // 4
    window = 0.5 * (1 - np.cos(2 * np.pi * np.arange(1, win + 1) / (win + 1)))
    n_frames = int(np.floor(len(ref) / skip - win / skip))
    eps = np.finfo(float).eps
    vals = []
    for k in range(n_frames):
        s = ref[k * skip:k * skip + win] * window
        e = est[k * skip:k * skip + win] * window
        sig = np.sum(s ** 2)
        noise = np.sum((s - e) ** 2)
        v = 10 * np.log10(sig / (noise + eps) + eps)
        vals.append(min(max(v, -10.0), 35.0))
    return float(np.mean(vals))


def read(path):
    x, fs = sf.read(str(path), dtype="float64")
    if x.ndim > 1:
        x = x.mean(axis=1)
    if fs != FS:
        raise SystemExit(f"{path}: sample rate {fs}, expected {FS}")
    return x


def score(ref, deg):
    n = min(len(ref), len(deg))
    ref, deg = ref[:n], deg[:n]
    return {
        "pesq_wb": float(pesq(FS, ref, deg, "wb")),
        "stoi": float(stoi(ref, deg, FS, extended=False)),
        "estoi": float(stoi(ref, deg, FS, extended=True)),
        "si_sdr": float(si_sdr(ref, deg)),
        "snr": float(snr(ref, deg)),
        "seg_snr": float(seg_snr(ref, deg)),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clean", required=True, type=pathlib.Path)
    ap.add_argument("--degraded", required=True, type=pathlib.Path)
    ap.add_argument("--stems", default="", help="comma-separated file stems (default: all common stems)")
    ap.add_argument("--prefix", default="", help="only stems starting with this prefix")
    ap.add_argument("--variants", default="noisy", help="comma-separated: noisy, mix50")
    args = ap.parse_args()

    clean = {p.stem: p for p in sorted(args.clean.glob("*.wav"))}
    deg = {p.stem: p for p in sorted(args.degraded.glob("*.wav"))}
    stems = [s for s in args.stems.split(",") if s] or sorted(set(clean) & set(deg))
    stems = [s for s in stems if s.startswith(args.prefix)]
    if not stems:
        raise SystemExit("no matching stems")

    import pesq as pesq_mod
    import pystoi as pystoi_mod
    import scipy

    out = {
        "tool": {
            "pesq": getattr(pesq_mod, "__version__", "0.0.4"),
            "pystoi": getattr(pystoi_mod, "__version__", "0.4.1"),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "sample_rate": FS,
        "variants": {},
    }
    for variant in args.variants.split(","):
        rows = []
        for stem in stems:
            ref = read(clean[stem])
            d = read(deg[stem])
            n = min(len(ref), len(d))
            ref, d = ref[:n], d[:n]
            if variant == "noisy":
                est = d
            elif variant == "mix50":
                est = 0.5 * ref + 0.5 * d
            else:
                raise SystemExit(f"unknown variant {variant}")
            row = {"name": stem}
            row.update(score(ref, est))
            rows.append(row)
            print(f"{variant} {stem}: {row}", file=sys.stderr)
        mean = {m: float(np.mean([r[m] for r in rows])) for m in METRICS}
        out["variants"][variant] = {"files": rows, "mean": mean}
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
