#!/usr/bin/env python3
"""Writes the fixed evaluation mixture set: speech/test x noise/test at 0/5/10/15 dB.

Held-out speakers and held-out noise categories only (never trained on). Seeded, so every run
writes the same files. Usage:
  python3 scripts/make_eval_mixtures.py --data ../shared/data --out eval/mix [--per-snr 10]
Writes OUT/clean/NAME.wav and OUT/noisy/NAME.wav (16 kHz mono, 32-bit float).

`--split holdout` draws from the train material that training holds out for validation instead
(every 16th train speaker, every 8th train noise file from index 4: src/train/data.rs), for
choosing settings with DNSMOS without touching the test sets; `--snrs` sets the SNRs (e.g.
`0,2,5,10` to weight the 0-5 dB of real recordings).
"""
import argparse
import csv
import pathlib

import numpy as np
import soundfile as sf


def material(data, split):
    """Sorted speech and noise paths of the test split, or of the train material held out."""
    rows = list(csv.DictReader(open(data / "manifest.csv")))
    if split == "test":
        return [sorted(r["path"] for r in rows if r["kind"] == k and r["split"] == "test") for k in ("speech", "noise")]
    speech = sorted(r["path"] for r in rows if r["kind"] == "speech" and r["split"] == "train")
    speakers = [pathlib.PurePath(p).parent.name for p in speech]
    speakers = [s for i, s in enumerate(speakers) if i == 0 or speakers[i - 1] != s]  # as Vec::dedup
    held = set(speakers[::16])
    noise = sorted(r["path"] for r in rows if r["kind"] == "noise" and r["split"] == "train")
    return [p for p in speech if pathlib.PurePath(p).parent.name in held], [p for i, p in enumerate(noise) if i % 8 == 4]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-snr", type=int, default=10)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--split", choices=["test", "holdout"], default="test")
    ap.add_argument("--snrs", default="0,5,10,15")
    a = ap.parse_args()
    data = pathlib.Path(a.data)
    speech, noise = material(data, a.split)
    rng = np.random.default_rng(a.seed)
    out = pathlib.Path(a.out)
    (out / "clean").mkdir(parents=True, exist_ok=True)
    (out / "noisy").mkdir(parents=True, exist_ok=True)
    for snr in [int(x) for x in a.snrs.split(",")]:
        for i in range(a.per_snr):
            s, fs = sf.read(data / speech[rng.integers(len(speech))], dtype="float64")
            n, fs2 = sf.read(data / noise[rng.integers(len(noise))], dtype="float64")
            assert fs == fs2 == 16000
            start = rng.integers(len(n))
            n = np.resize(np.roll(n, -start), len(s))
            ps, pn = np.sqrt(np.mean(s**2)), np.sqrt(np.mean(n**2)) + 1e-9
            n = n * ps / pn / 10 ** (snr / 20)
            g = 10 ** (rng.uniform(-30, -20) / 20) / ps
            y = (s + n) * g
            peak = np.max(np.abs(y))
            if peak > 0.99:
                g *= 0.99 / peak
            name = f"mix{snr:02d}dB_{i:02d}"
            sf.write(out / "clean" / f"{name}.wav", (s * g).astype(np.float32), 16000, subtype="FLOAT")
            sf.write(out / "noisy" / f"{name}.wav", ((s + n) * g).astype(np.float32), 16000, subtype="FLOAT")


if __name__ == "__main__":
    main()
