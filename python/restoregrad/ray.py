"""Denoising whole corpora with Ray Data, on a laptop or a cluster.

:func:`enhance_corpus` takes a folder, a glob or a list of audio files (local paths or any
filesystem pyarrow opens: ``s3://``, ``gs://``, ``hdfs://``...) and writes each enhanced file
under ``output_dir`` at its relative path, as ``STEM.wav``. Files run on ``workers`` Ray actors,
each loading the model once. A file that fails is recorded in the results table with its error
and the job goes on; a file whose output exists is skipped, so a rerun finishes an interrupted
job (outputs are written atomically: an existing output is a finished one). It runs on whatever
Ray is connected: ``ray.init()`` on a laptop, ``ray.init(address="auto")`` on a cluster (every
node needs ``pip install ./python`` or a ``runtime_env`` that installs it).

From a shell: ``python -m restoregrad.ray INPUT OUTPUT_DIR --workers 2 [--address auto]``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import fnmatch
import os
import posixpath
import shutil
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pyarrow.fs as pafs

import ray

__all__ = ["AUDIO_EXTENSIONS", "Summary", "enhance_corpus", "list_inputs", "main"]

#: The file types a folder or glob is searched for (what the reader decodes).
AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg")

_GLOB_CHARS = "*?["

#: The most blocks a run's file list is cut into.
_MAX_BLOCKS = 10_000


@dataclasses.dataclass
class Summary:
    """What a corpus run did: counts, hours, throughput and one result row per file.

    Each row of :attr:`results` has ``input``, ``output``, ``status`` (``ok``, ``skipped`` or
    ``error``), ``seconds`` (audio), ``wall_seconds`` (time spent on the file) and ``error``
    (the message, empty unless failed).
    """

    results: List[Dict[str, Any]]
    wall_seconds: float
    workers: int

    def _count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.results)

    @property
    def enhanced(self) -> int:
        """Files enhanced in this run."""
        return self._count("ok")

    @property
    def skipped(self) -> int:
        """Files skipped because their output existed."""
        return self._count("skipped")

    @property
    def failed(self) -> int:
        """Files that failed (see :attr:`failures`)."""
        return self._count("error")

    @property
    def failures(self) -> List[Dict[str, Any]]:
        """The rows of the files that failed."""
        return [r for r in self.results if r["status"] == "error"]

    @property
    def audio_hours(self) -> float:
        """Hours of audio enhanced in this run."""
        return sum(r["seconds"] for r in self.results if r["status"] == "ok") / 3600.0

    @property
    def files_per_second(self) -> float:
        """Files enhanced per second of wall time."""
        return self.enhanced / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def x_realtime(self) -> float:
        """Seconds of audio enhanced per second of wall time."""
        return self.audio_hours * 3600.0 / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def to_pandas(self) -> Any:
        """The results table as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.results, columns=["input", "output", "status", "seconds", "wall_seconds", "error"])

    def write_csv(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the results table to a local CSV file."""
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["input", "output", "status", "seconds", "wall_seconds", "error"])
            w.writeheader()
            w.writerows(self.results)

    def __str__(self) -> str:
        return (
            f"{self.enhanced} enhanced, {self.skipped} skipped, {self.failed} failed; "
            f"{self.audio_hours:.3f} h of audio in {self.wall_seconds:.1f} s on {self.workers} workers: "
            f"{self.files_per_second:.2f} files/s, {self.x_realtime:.1f}x real time"
        )


def _resolve(path: str, filesystem: Optional[pafs.FileSystem]) -> Tuple[pafs.FileSystem, str]:
    """A filesystem and the path within it: a URI's own, or the local one."""
    if filesystem is not None:
        return filesystem, path
    if "://" in path:
        return pafs.FileSystem.from_uri(path)
    return pafs.LocalFileSystem(), os.path.abspath(path)


def _is_audio(path: str) -> bool:
    return path.lower().endswith(AUDIO_EXTENSIONS)


def _glob_root(pattern: str) -> str:
    """The folder a glob's first wildcard is in."""
    parts = pattern.split("/")
    first = next(i for i, p in enumerate(parts) if any(c in p for c in _GLOB_CHARS))
    return "/".join(parts[:first]) or "/"


def list_inputs(
    inputs: Union[str, Sequence[str]], filesystem: Optional[pafs.FileSystem] = None
) -> Tuple[pafs.FileSystem, str, List[str]]:
    """The filesystem, the root the outputs mirror, and the sorted input files of ``inputs``:
    a folder (searched recursively for audio files), a glob (``**`` included; files it matches
    that are audio), or a list of files (rooted at their common folder)."""
    if not isinstance(inputs, str):
        paths = [os.fspath(p) for p in inputs]
        if not paths:
            raise ValueError("no input files given")
        fs, resolved = _resolve(paths[0], filesystem)
        files = [resolved] + [_resolve(p, filesystem)[1] for p in paths[1:]]
        root = posixpath.commonpath([posixpath.dirname(p) for p in files])
        return fs, root, sorted(files)
    fs, path = _resolve(inputs, filesystem)
    glob = any(c in path for c in _GLOB_CHARS)
    root = _glob_root(path) if glob else path
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"{inputs}: no such file or folder")
    if info.type == pafs.FileType.File and not glob:
        return fs, posixpath.dirname(path), [path]
    found = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    files = [f.path for f in found if f.type == pafs.FileType.File and _is_audio(f.path)]
    if glob:
        files = [f for f in files if fnmatch.fnmatch(f, path)]
    return fs, root, sorted(files)


def _output_paths(files: List[str], root: str, out_root: str) -> List[str]:
    """Each input's output: its path under ``root`` mirrored under ``out_root`` as STEM.wav.
    Inputs that would share an output are refused before any work, as the command line does."""
    outs = [posixpath.join(out_root, posixpath.splitext(posixpath.relpath(f, root))[0] + ".wav") for f in files]
    seen: Dict[str, str] = {}
    for f, o in zip(files, outs):
        if o in seen:
            raise ValueError(f"{seen[o]} and {f} would both be written to {o}")
        seen[o] = f
    return outs


class _Worker:
    """A Ray actor: loads the model once, then enhances one file per row; never raises."""

    def __init__(self, fs_in: pafs.FileSystem, fs_out: pafs.FileSystem, options: Dict[str, Any], threads: int) -> None:
        # The core computes on rayon's global pool, sized on first use: one pool of `threads`
        # per actor, so that actors share the cores instead of oversubscribing them.
        os.environ["RAYON_NUM_THREADS"] = str(threads)
        import restoregrad

        self._enhance_file = restoregrad.enhance_file
        options = dict(options)
        self._model = restoregrad._model(options.pop("model"))
        self._options = options
        self._fs_in, self._fs_out = fs_in, fs_out
        self._local_in = isinstance(fs_in, pafs.LocalFileSystem)
        self._local_out = isinstance(fs_out, pafs.LocalFileSystem)

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        rows = [self._one(str(i), str(o)) for i, o in zip(batch["input"], batch["output"])]
        return {k: np.array([r[k] for r in rows]) for k in rows[0]}

    def _one(self, inp: str, out: str) -> Dict[str, Any]:
        started = time.perf_counter()
        try:
            seconds, status, error = self._enhance(inp, out), "ok", ""
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:  # noqa: BLE001 - a file's failure is recorded, never fatal
            seconds, status, error = 0.0, "error", f"{type(e).__name__}: {e}"
        wall = time.perf_counter() - started
        return {"input": inp, "output": out, "status": status, "seconds": seconds, "wall_seconds": wall, "error": error}

    def _enhance(self, inp: str, out: str) -> float:
        with tempfile.TemporaryDirectory(prefix="restoregrad-") as tmp:
            local_in = inp if self._local_in else self._download(inp, tmp)
            if self._local_out:
                os.makedirs(os.path.dirname(out), exist_ok=True)
                local_out = out
            else:
                local_out = os.path.join(tmp, "out.wav")
            try:
                seconds = self._enhance_file(local_in, local_out, model=self._model, **self._options)
            except OSError as e:
                # Name the corpus file, not the temp copy.
                raise OSError(str(e).replace(local_in, inp)) from None
            if not self._local_out:
                self._upload(local_out, out)
            return seconds

    def _download(self, inp: str, tmp: str) -> str:
        local = os.path.join(tmp, "in" + posixpath.splitext(inp)[1])
        with self._fs_in.open_input_stream(inp) as src, open(local, "wb") as dst:
            shutil.copyfileobj(src, dst)
        return local

    def _upload(self, local: str, out: str) -> None:
        # Written under a temp name and moved, so an interrupted upload is never taken for a
        # finished output by a rerun.
        partial = out + ".partial"
        self._fs_out.create_dir(posixpath.dirname(out), recursive=True)
        with open(local, "rb") as src, self._fs_out.open_output_stream(partial) as dst:
            shutil.copyfileobj(src, dst)
        self._fs_out.move(partial, out)


def enhance_corpus(
    inputs: Union[str, Sequence[str]],
    output_dir: str,
    *,
    workers: int = 1,
    threads_per_worker: int = 1,
    steps: int = 1,
    samples: int = 2,
    atten_lim_db: Optional[float] = None,
    post_filter: Optional[float] = None,
    seed: int = 0,
    chunk_frames: int = 32,
    float32: bool = False,
    model: Optional[str] = None,
    filesystem: Optional[pafs.FileSystem] = None,
    results_csv: Optional[str] = None,
) -> Summary:
    """Enhances every audio file of ``inputs`` into ``output_dir`` (mirrored, as STEM.wav) on
    ``workers`` Ray actors of ``threads_per_worker`` CPUs each; returns the :class:`Summary`.

    ``inputs`` is a folder, a glob or a list of files, local or URIs; ``filesystem`` (a pyarrow
    filesystem) overrides the one a path implies, for inputs and outputs alike. Files whose
    output exists are skipped. The enhancement options are :func:`restoregrad.enhance_file`'s;
    ``model`` is a model folder every node can read (None: the shipped model). ``results_csv``
    also writes the results table to that local file. Runs on the connected Ray (starting a
    local one if none).
    """
    if workers < 1 or threads_per_worker < 1:
        raise ValueError(f"workers and threads_per_worker must be >= 1, got {workers} and {threads_per_worker}")
    fs_in, root, files = list_inputs(inputs, filesystem)
    fs_out, out_root = _resolve(output_dir, filesystem)
    outputs = _output_paths(files, root, out_root)
    exists = [i.type != pafs.FileType.NotFound for i in fs_out.get_file_info(outputs)] if outputs else []
    skipped = [_skipped(i, o) for i, o, e in zip(files, outputs, exists) if e]
    todo = [{"input": i, "output": o} for i, o, e in zip(files, outputs, exists) if not e]
    options = dict(
        steps=steps, samples=samples, atten_lim_db=atten_lim_db, post_filter=post_filter, seed=seed,
        chunk_frames=chunk_frames, float32=float32, model=model,
    )
    started = time.perf_counter()
    done = _run(todo, fs_in, fs_out, options, workers, threads_per_worker) if todo else []
    summary = Summary(results=done + skipped, wall_seconds=time.perf_counter() - started, workers=workers)
    summary.results.sort(key=lambda r: r["input"])
    if results_csv is not None:
        summary.write_csv(results_csv)
    return summary


def _skipped(inp: str, out: str) -> Dict[str, Any]:
    return {"input": inp, "output": out, "status": "skipped", "seconds": 0.0, "wall_seconds": 0.0, "error": ""}


def _run(todo: List[Dict[str, str]], fs_in: pafs.FileSystem, fs_out: pafs.FileSystem, options: Dict[str, Any], workers: int, threads: int) -> List[Dict[str, Any]]:
    """The files through a pool of ``workers`` actors, in small blocks so they balance (one file
    per block up to ``_MAX_BLOCKS`` files, which bounds the scheduler's bookkeeping)."""
    ds = ray.data.from_items(todo, override_num_blocks=min(len(todo), _MAX_BLOCKS))
    ds = ds.map_batches(
        _Worker,
        fn_constructor_kwargs={"fs_in": fs_in, "fs_out": fs_out, "options": options, "threads": threads},
        concurrency=min(workers, len(todo)),
        num_cpus=threads,
        batch_size=1,
        batch_format="numpy",
    )
    return [_plain(r) for r in ds.take_all()]


def _plain(row: Dict[str, Any]) -> Dict[str, Any]:
    """A result row with Python values (not numpy scalars)."""
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m restoregrad.ray``: enhances a corpus and prints the summary; exit 1 if any
    file failed."""
    p = argparse.ArgumentParser(prog="python -m restoregrad.ray", description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", help="a folder, a glob, or files (local paths or URIs)")
    p.add_argument("output_dir", help="where the enhanced files go (mirrored, as STEM.wav)")
    p.add_argument("--workers", type=int, default=1, help="Ray actors, each with its own model")
    p.add_argument("--threads-per-worker", type=int, default=1, help="CPUs each actor computes on")
    p.add_argument("--address", default=None, help='Ray cluster address ("auto": the running cluster); a local Ray if unset')
    p.add_argument("--steps", type=int, default=1)
    p.add_argument("--samples", type=int, default=2)
    p.add_argument("--atten-lim-db", type=float, default=None)
    p.add_argument(
        "--post-filter", type=float, default=None, metavar="P",
        help="post-filter exponent (0: off); the engine's default (restoregrad.DEFAULT_POST_FILTER) if unset",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--float", dest="float32", action="store_true", help="write 32-bit float WAV")
    p.add_argument("--model", default=None, help="model folder (the shipped model if unset)")
    p.add_argument("--results-csv", default=None, help="also write the results table here")
    a = p.parse_args(argv)
    ray.init(address=a.address, log_to_driver=False)
    inputs = a.inputs[0] if len(a.inputs) == 1 else a.inputs
    summary = enhance_corpus(
        inputs, a.output_dir, workers=a.workers, threads_per_worker=a.threads_per_worker, steps=a.steps,
        samples=a.samples, atten_lim_db=a.atten_lim_db, post_filter=a.post_filter, seed=a.seed, float32=a.float32, model=a.model,
        results_csv=a.results_csv,
    )
    for r in summary.failures:
        print(f"error: {r['error']}")
    print(summary)
    return 1 if summary.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
