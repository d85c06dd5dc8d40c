"""Issue 15's mask and shape edits in the real app on a real X server (Xvfb with GLX), with real X key presses
and mouse drags where python-xlib is installed (``real_display_edit_driver.py`` in a process of its own): the
brush on the preview and its radius keys, the label dialog's details (and that it fits the screen), the
eraser on a shape, union / subtract / intersect by click, Ctrl+click and their keys, each undone; Ctrl+R with
a random-weight SAM (the shape's mask as its mask input on the first click); every shape type, Z / X and the
turn handle; polygon detail, the view adjustment, segment everything, K, Ctrl+S, Help → Shortcuts, Shift+D.
Screenshots of each step go to ``$ANYLABEL_SHOTS`` (default: the test's temporary folder)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_real_display import desktop_env, xvfb, zoo  # noqa: F401 - the fixtures

pytestmark = pytest.mark.gui
DRIVER = Path(__file__).resolve().parent / "real_display_edit_driver.py"
SETTINGS = """shape_flags: [occluded, truncated]
label_attributes: {truck: {colour: [red, white, blue]}}
image_flags: [night]
image_tags: [blurry, rain]
"""


def test_issue_15_edits_on_a_real_x_server(xvfb, zoo, sam2_demo_dir, voc_dir, tmp_path) -> None:  # noqa: F811
    folder = tmp_path / "images"
    folder.mkdir()
    shutil.copy(sam2_demo_dir / "truck.jpg", folder / "a.jpg")
    shutil.copy(sorted((voc_dir / "data_annotated").glob("*.jpg"))[0], folder / "b.jpg")
    config = tmp_path / "config.yaml"
    config.write_text(SETTINGS, encoding="utf-8")
    child = desktop_env(xvfb, tmp_path / "xdg-runtime")
    child.update(ANYLABEL_CONFIG=str(config), ANYLABEL_CACHE_DIR=str(tmp_path / "cache"), ANYLABEL_MODELS=str(zoo))
    shots = Path(os.environ.get("ANYLABEL_SHOTS") or tmp_path / "shots")
    result_file = tmp_path / "result.json"
    proc = subprocess.run([sys.executable, str(DRIVER), str(folder), "--model", "classical", "--refine-model",
                           "sam_vit_b", "--result", str(result_file), "--shots", str(shots)],
                          env=child, capture_output=True, text=True, timeout=400)
    how = f"died on {signal.Signals(-proc.returncode).name}" if proc.returncode < 0 else f"exited {proc.returncode}"
    r = json.loads(result_file.read_text(encoding="utf-8")) if result_file.exists() else {}
    assert proc.returncode == 0, f"the app {how} after {list(r)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert r["mode_after_w"] == "brush" and r["radius"][1] > r["radius"][0] and r["painted"] > 0
    assert r["dialog_fits"] and r["dialog_attributes"] == ["colour"]
    assert r["truck_details"] == {"flags": {"occluded": True, "truncated": False}, "attributes": {"colour": "white"}}
    assert r["erased"] == "mask"
    assert r["selected_by_clicks"] == [True] * 3 and r["undone"] == [True] * 3
    union, subtract, intersect = (r["boolean"][k] for k in ("union", "subtract", "intersect"))
    assert [k for k, _ in union] == ["polygon"] and union[0][1] == pytest.approx([60, 60, 360, 300], abs=2)
    assert subtract[0][0] == "polygon" and subtract[0][1] == pytest.approx([60, 60, 260, 200], abs=2)
    assert subtract[1][0] == "rectangle"  # the shape cut away stays
    assert len(intersect) == 1 and intersect[0][1] == pytest.approx([200, 150, 260, 200], abs=2)
    assert r["reprompting"] and r["reprompt_prompt"] == {"mask_input": True, "box": False, "model": "sam_vit_b"}
    assert r["refined_labels"] == ["box", "truck"]  # the refined shape kept its label
    assert r["types"] == ["mask", "rectangle", "rectangle", "point", "line", "linestrip", "circle", "rotation"]
    assert "line strip, 3 pts" in r["rows"][5] and "rotated rectangle" in r["rows"][7]
    assert abs(r["turned_by_handle_deg"]) > 5
    assert r["vertex_counts"][1] < r["vertex_counts"][0]
    assert r["candidates"] > 3 and r["checked"] and r["row_after_next_unchecked"] == 1
    assert 0 < r["shortcut_rows"] < 40
    assert len(r["shots"]) == 14 and all(Path(p).stat().st_size > 10000 for p in r["shots"])
    label_file = pytest.importorskip("labelme._label_file")
    theirs = label_file.LabelFile(r["saved"])  # labelme opens what was saved after all of it
    assert [s["shape_type"] for s in theirs.shapes] == r["types"]
