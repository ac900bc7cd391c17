#!/usr/bin/env python3
"""DNSMOS P.835 (SIG, BAK, OVRL) of every WAV file in a folder, non-intrusive (no clean reference).

Uses the PyPI `speechmos` package, which bundles Microsoft's DNSMOS ONNX models (sig_bak_ovr.onnx and
the P.808 model_v8.onnx) and runs them offline with onnxruntime; librosa loads the audio (mixed to mono,
resampled to 16 kHz when needed). Scores are the package's non-personalized DNSMOS: each file is cut into
9.01 s windows with a 1 s hop (shorter files are repeated up to 9.01 s), and the window scores averaged.

Usage:
  pip install speechmos onnxruntime librosa requests
  python3 scripts/dnsmos.py DIR [--json OUT.json]

Prints (or writes) JSON: {"tool": {...versions}, "files": [{"file", "sig", "bak", "ovrl", "p808"}, ...],
"mean": {"sig", "bak", "ovrl", "p808"}}. Exits non-zero, naming the file, when a file cannot be scored.
"""

import argparse
import json
import pathlib
import sys

KEYS = {"sig": "sig_mos", "bak": "bak_mos", "ovrl": "ovrl_mos", "p808": "p808_mos"}


def import_speechmos():
    """Imports speechmos lazily so a missing package gives one clear line instead of a traceback."""
    try:
        from speechmos import dnsmos  # noqa: PLC0415
    except ImportError as e:
        raise SystemExit(
            f"dnsmos.py: cannot import speechmos ({e}); install it with "
            "`pip install speechmos onnxruntime librosa requests` (the DNSMOS models ship inside the wheel)"
        ) from e
    return dnsmos


def score_file(dnsmos, path):
    """SIG/BAK/OVRL/P.808 of one file. A path (not an array) is passed on purpose: the array API rejects
    samples outside [-1, 1], which float WAVs from `enhance --float` may legitimately contain."""
    try:
        r = dnsmos.run(str(path), sr=dnsmos.SR)
    except Exception as e:  # noqa: BLE001 - any decoder/onnxruntime failure is reported per file
        raise SystemExit(f"dnsmos.py: {path}: cannot score: {type(e).__name__}: {e}") from e
    return {"file": path.name, **{k: float(r[v]) for k, v in KEYS.items()}}


def versions():
    """Package versions, so a table can say what produced it."""
    from importlib.metadata import version  # noqa: PLC0415

    return {p: version(p) for p in ["speechmos", "onnxruntime", "librosa"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", type=pathlib.Path, help="folder of .wav files (scored in name order)")
    ap.add_argument("--json", type=pathlib.Path, help="write the JSON here instead of stdout")
    args = ap.parse_args()
    files = sorted(args.dir.glob("*.wav"))
    if not files:
        raise SystemExit(f"dnsmos.py: {args.dir}: no .wav files")
    dnsmos = import_speechmos()
    rows = [score_file(dnsmos, f) for f in files]
    mean = {k: sum(r[k] for r in rows) / len(rows) for k in KEYS}
    text = json.dumps({"tool": versions(), "files": rows, "mean": mean}, indent=1)
    if args.json:
        args.json.write_text(text + "\n")
    else:
        print(text)
    print(f"{args.dir}: {len(rows)} files, SIG {mean['sig']:.2f} BAK {mean['bak']:.2f} OVRL {mean['ovrl']:.2f}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
