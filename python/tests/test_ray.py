"""The Ray path on a local 2-CPU Ray: a generated corpus is mirrored, a corrupt file is
reported and not fatal, a rerun skips finished files, and the README's example runs."""

import runpy
import wave

import numpy as np
import pytest

pytest.importorskip("ray")

import restoregrad  # noqa: E402
import restoregrad.ray  # noqa: E402
from conftest import ROOT, read_wav  # noqa: E402


def write_wav16(path, x, rate):
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1 if x.ndim == 1 else x.shape[1])
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())


def make_corpus(root, rng):
    """Three good files (two rates, one stereo, one in a subfolder) and one corrupt file."""
    write_wav16(root / "a.wav", 0.1 * rng.standard_normal(16_000), 16_000)
    write_wav16(root / "sub/b.wav", 0.1 * rng.standard_normal((22_050, 2)), 22_050)
    write_wav16(root / "sub/deeper/c.wav", 0.1 * rng.standard_normal(8_000), 16_000)
    (root / "sub/corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage")
    (root / "notes.txt").write_text("not audio: not listed")
    return ["a.wav", "sub/b.wav", "sub/deeper/c.wav"]


def test_corpus_is_mirrored_failures_recorded_and_reruns_skip(local_ray, tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    good = make_corpus(corpus, np.random.default_rng(0))
    first = restoregrad.ray.enhance_corpus(str(corpus), str(out), workers=2)
    assert (first.enhanced, first.skipped, first.failed) == (3, 0, 1)
    assert len(first.results) == 4
    (failure,) = first.failures
    assert failure["input"].endswith("sub/corrupt.wav") and "corrupt.wav" in failure["error"]
    assert not (out / "sub/corrupt.wav").exists()
    for name in good:
        y, _ = read_wav(out / name)
        x, _ = read_wav(corpus / name)
        assert y.shape == x.shape
    # The workers' output is enhance_file's.
    direct = tmp_path / "direct.wav"
    restoregrad.enhance_file(corpus / "sub/b.wav", direct)
    assert (out / "sub/b.wav").read_bytes() == direct.read_bytes()
    assert abs(first.audio_hours * 3600 - 2.5) < 1e-6
    assert first.files_per_second > 0 and first.x_realtime > 0
    assert "3 enhanced, 0 skipped, 1 failed" in str(first)

    # A rerun skips what is written and tries the failed file again.
    stamp = (out / "a.wav").stat().st_mtime_ns
    second = restoregrad.ray.enhance_corpus(str(corpus), str(out), workers=2)
    assert (second.enhanced, second.skipped, second.failed) == (0, 3, 1)
    assert (out / "a.wav").stat().st_mtime_ns == stamp
    # A deleted output is made again.
    (out / "sub/b.wav").unlink()
    third = restoregrad.ray.enhance_corpus(str(corpus / "**" / "b.wav"), str(out), workers=1)
    assert (third.enhanced, third.skipped, third.failed) == (1, 0, 0)
    assert (out / "sub/b.wav").read_bytes() == direct.read_bytes()


def test_inputs_as_a_list_and_a_results_table(local_ray, tmp_path):
    corpus = tmp_path / "corpus"
    make_corpus(corpus, np.random.default_rng(1))
    files = [str(corpus / "a.wav"), str(corpus / "sub/corrupt.wav")]
    summary = restoregrad.ray.enhance_corpus(files, str(tmp_path / "out"), workers=1, results_csv=str(tmp_path / "r.csv"))
    table = summary.to_pandas()
    assert list(table["status"]) == ["ok", "error"]
    assert (tmp_path / "out/a.wav").exists() and not (tmp_path / "out/sub/corrupt.wav").exists()
    assert (tmp_path / "r.csv").read_text().count("\n") == 3


def test_post_filter_reaches_the_workers(local_ray, tmp_path):
    corpus = tmp_path / "corpus"
    make_corpus(corpus, np.random.default_rng(3))
    summary = restoregrad.ray.enhance_corpus([str(corpus / "a.wav")], str(tmp_path / "out"), post_filter=2)
    assert summary.enhanced == 1
    direct, off = tmp_path / "direct.wav", tmp_path / "off.wav"
    restoregrad.enhance_file(corpus / "a.wav", direct, post_filter=2)
    restoregrad.enhance_file(corpus / "a.wav", off, post_filter=0)
    assert (tmp_path / "out/a.wav").read_bytes() == direct.read_bytes() != off.read_bytes()


def test_colliding_outputs_are_refused_before_any_work(local_ray, tmp_path):
    write_wav16(tmp_path / "in/x.wav", np.zeros(1600), 16_000)
    (tmp_path / "in/x.flac").write_bytes((tmp_path / "in/x.wav").read_bytes())
    with pytest.raises(ValueError, match="would both be written"):
        restoregrad.ray.enhance_corpus(str(tmp_path / "in"), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_readme_ray_example_runs(local_ray, tmp_path, monkeypatch):
    make_corpus(tmp_path / "corpus", np.random.default_rng(2))
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(ROOT / "python/examples/ray_corpus.py"))
    assert (tmp_path / "enhanced/sub/deeper/c.wav").exists()
    assert "error" in (tmp_path / "enhanced-results.csv").read_text()
