"""Issue 15 part B in the real app on a real X server (Xvfb with GLX), not offscreen: segment everything and a
real click keeping a candidate through the label dialog's details, polygon detail keys, the view adjustment,
K, Ctrl+S and Shift+D (``real_display_review_driver.py`` in a process of its own)."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_real_display import desktop_env, xvfb  # noqa: F401 - the fixture

pytestmark = pytest.mark.gui
DRIVER = Path(__file__).resolve().parent / "real_display_review_driver.py"
SETTINGS = """shape_flags: [occluded, truncated]
label_attributes: {road: {surface: [asphalt, gravel]}}
"""


def test_everything_details_review_and_view_on_a_real_x_server(xvfb, sam2_demo_dir, voc_dir,  # noqa: F811
                                                               tmp_path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    shutil.copy(sam2_demo_dir / "truck.jpg", folder / "a.jpg")
    shutil.copy(sorted((voc_dir / "data_annotated").glob("*.jpg"))[0], folder / "b.jpg")
    config = tmp_path / "config.yaml"
    config.write_text(SETTINGS, encoding="utf-8")
    child = desktop_env(xvfb, tmp_path / "xdg-runtime")
    child.update(ANYLABEL_CONFIG=str(config), ANYLABEL_CACHE_DIR=str(tmp_path / "cache"))
    result_file = tmp_path / "result.json"
    proc = subprocess.run([sys.executable, str(DRIVER), str(folder), "--result", str(result_file)], env=child,
                          capture_output=True, text=True, timeout=240)
    how = f"died on {signal.Signals(-proc.returncode).name}" if proc.returncode < 0 else f"exited {proc.returncode}"
    assert proc.returncode == 0, f"the app {how}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    r = json.loads(result_file.read_text(encoding="utf-8"))
    assert r["candidates"] > 3 and r["candidates_left"] == r["candidates"] - 1 and r["hidden"]
    assert r["dialog"] == {"flags": ["occluded", "truncated"], "attributes": ["surface"]}
    assert r["kept"] == {"label": "road", "flags": {"occluded": True, "truncated": False},
                         "attributes": {"surface": "asphalt"}}
    assert r["tolerance"] == 1.5
    assert r["image_unchanged"] and r["shown"] == r["lut"] and r["shown"] != r["pixel"]
    assert r["checked"] and r["row_after_next_unchecked"] == 1
    saved = json.loads(Path(r["saved"]).read_text(encoding="utf-8"))
    assert saved["checked"] is True and saved["shapes"][0]["attributes"] == {"surface": "asphalt"}
