"""benchmarks/export.py says when the labelme checkout for its side-by-side comparison is absent or wrong."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "export.py"), *args], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)


def test_without_a_checkout_the_comparison_is_skipped_and_said(tmp_path):
    done = _run("--files", "3", "--formats", "coco", "--workdir", str(tmp_path / "w"))
    assert done.returncode == 0, done.stderr
    assert "| coco | 3 |" in done.stdout
    assert "labelme comparison skipped: no labelme checkout given (--labelme PATH" in done.stdout


def test_a_folder_that_is_not_a_checkout_is_refused(tmp_path):
    done = _run("--files", "3", "--labelme", str(tmp_path))
    assert done.returncode == 2 and "is not a labelme checkout" in done.stderr
