"""The README's examples are these files, and they run."""

import runpy
from pathlib import Path

import pytest

from conftest import ROOT

EXAMPLES = ROOT / "python/examples"


@pytest.mark.parametrize("name", ["enhance_array.py", "stream_blocks.py", "ray_corpus.py"])
def test_the_readme_shows_the_example(name):
    readme = (ROOT / "README.md").read_text()
    assert (EXAMPLES / name).read_text().strip() in readme, f"README.md does not show python/examples/{name} as it is"


def test_enhance_array_example_runs(monkeypatch):
    monkeypatch.chdir(ROOT)
    runpy.run_path(str(EXAMPLES / "enhance_array.py"))


def test_stream_example_runs():
    runpy.run_path(str(EXAMPLES / "stream_blocks.py"))
