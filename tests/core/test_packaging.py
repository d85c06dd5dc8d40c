"""setup.py: a GPU developer's `pip install -e ".[dev]"` must keep onnxruntime-gpu's CUDA provider."""
from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def setup_kwargs() -> dict:
    import setuptools

    captured: dict = {}
    real = setuptools.setup
    setuptools.setup = lambda **kw: captured.update(kw)
    try:
        runpy.run_path(str(ROOT / "setup.py"), run_name="__main__")
    finally:
        setuptools.setup = real
    return captured


def _names(requirements) -> set:
    return {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower() for r in requirements}


def test_no_extra_pulls_the_cpu_onnxruntime_on_linux(setup_kwargs: dict) -> None:
    # labelme requires osam, which requires `onnxruntime` (CPU): its module would shadow onnxruntime-gpu's
    for extra, reqs in setup_kwargs["extras_require"].items():
        assert not _names(reqs) & {"labelme", "osam", "onnxruntime"}, extra
    linux = [r for r in setup_kwargs["install_requires"] if "Darwin'" not in r or "!=" in r]
    assert "onnxruntime-gpu" in _names(linux) and "onnxruntime" not in _names(linux)


def test_labelme_interop_still_runs_in_ci(setup_kwargs: dict) -> None:
    dev = _names(setup_kwargs["extras_require"]["dev"])
    assert {"imgviz", "loguru", "tifffile"} <= dev  # what labelme._label_file imports beyond our requirements
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r'pip install --no-deps "labelme>=6\.0,<7"', ci)
