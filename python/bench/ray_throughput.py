"""Measures the Ray path's throughput with 1 and 2 workers (the README's figures).

A corpus of FILES copies of the two committed VoiceBank-DEMAND fixtures (16 kHz mono, 3.3 s and
6.2 s) is enhanced on a local Ray with 2 CPUs by 1 worker, then (into a fresh folder) by 2,
each worker on one core. The wall time is enhance_corpus's whole call: listing, actor start,
model load and every file. Usage: python python/bench/ray_throughput.py [FILES]
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

import ray

import restoregrad.ray

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "tests/fixtures/noisy").glob("*.wav"))


def main(files: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        for i in range(files):
            dst = corpus / f"spk{i % 8}" / f"{i:04d}.wav"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(FIXTURES[i % len(FIXTURES)], dst)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        figures = {}
        for workers in (1, 2):
            s = restoregrad.ray.enhance_corpus(str(corpus), f"{tmp}/out{workers}", workers=workers)
            assert s.failed == 0 and s.enhanced == files, str(s)
            print(f"{workers} worker(s): {s}", flush=True)
            figures[workers] = {"files": s.enhanced, "audio_s": s.audio_hours * 3600, "wall_s": s.wall_seconds,
                                "files_per_s": s.files_per_second, "x_realtime": s.x_realtime}
        print(json.dumps(figures))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
