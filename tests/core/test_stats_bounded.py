"""``stats`` needs no rasterising: counts and areas come from the geometry, so a tiny file that claims a huge
image costs as little as its size (was 22-31 s and 1.8 GB for a 30000x30000 claim)."""
from __future__ import annotations

import base64
import io
import json
import math
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anylabel.cli import main
from anylabel.formats.stats import folder_stats


def _png(mask: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255).convert("1").save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _write(folder: Path, h: int, w: int) -> None:
    folder.mkdir()
    shapes = [{"label": "tri", "points": [[0, 0], [10, 0], [10, 10]], "shape_type": "polygon"},
              {"label": "box", "points": [[2, 3], [12, 8]], "shape_type": "rectangle"},
              {"label": "disc", "points": [[50, 50], [53, 54]], "shape_type": "circle"},
              {"label": "blob", "points": [[100, 100], [103, 101]], "shape_type": "mask",
               "mask": _png(np.ones((2, 4), bool))},
              {"label": "tri", "points": [[0, 0], [4, 0], [0, 4]], "shape_type": "polygon"}]
    (folder / "a.json").write_text(json.dumps({"version": "5.5.0", "flags": {}, "shapes": shapes,
                                               "imagePath": "a.jpg", "imageData": None,
                                               "imageHeight": h, "imageWidth": w}))


def test_areas_come_from_the_geometry(tmp_path: Path) -> None:
    _write(tmp_path / "d", 200, 300)
    stats, _ = folder_stats(tmp_path / "d")
    assert stats.per_class == {"tri": 2, "blob": 1, "box": 1, "disc": 1}
    assert stats.area_per_class["tri"] == pytest.approx(50 + 8)
    assert stats.area_per_class["box"] == pytest.approx(50)
    assert stats.area_per_class["disc"] == pytest.approx(math.pi * 25)
    assert stats.area_per_class["blob"] == 8  # the mask's pixels, from its RLE counts


def test_a_tiny_file_claiming_a_huge_image_is_counted_at_once(tmp_path: Path, capsys) -> None:
    _write(tmp_path / "d", 30000, 30000)
    assert (tmp_path / "d" / "a.json").stat().st_size < 1000
    tracemalloc.start()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats, _ = folder_stats(tmp_path / "d")
    seconds, peak = time.perf_counter() - t0, tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert seconds < 2.0 and peak < 20e6, (seconds, peak)
    assert stats.instances == 5 and stats.area_per_class["blob"] == 8
    assert main(["stats", str(tmp_path / "d"), "--json", "-q"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["area_per_class"]["box"] == 50
    assert "30000x30000 (900 MP) is unusually large" in captured.err
