"""The LabelMe codec on hostile input: undecodable file names, garbage imageData, masks with a negative
origin or outside the image, absurd image sizes and vertex counts (bounded cost, a warning)."""
from __future__ import annotations

import base64
import io
import json
import os
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anylabel.document import ImageAnnotation, Shape
from anylabel.errors import AnylabelWarning, FormatError
from anylabel.formats.labelme import labelme_from_dict, load_labelme, save_labelme
from anylabel.geometry.rle import rle_decode, rle_encode, rle_from_crop

needs_bytes_names = pytest.mark.skipif(os.name != "posix", reason="file names are bytes on POSIX only")


def _png(mask: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255).convert("1").save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _doc(shapes, h=100, w=120, **extra) -> dict:
    return {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": "x.jpg", "imageData": None,
            "imageHeight": h, "imageWidth": w, **extra}


@needs_bytes_names
def test_a_non_utf8_image_name_is_written_as_valid_json_and_read_back_to_the_same_file(tmp_path: Path) -> None:
    image = os.fsencode(str(tmp_path)) + b"/caf\xe9.jpg"
    Image.fromarray(np.zeros((10, 12, 3), np.uint8)).save(image)
    name = os.fsdecode(b"caf\xe9.jpg")  # 'caf\udce9.jpg'
    out = tmp_path / "ann.json"
    save_labelme(ImageAnnotation(image_path=name, image_height=10, image_width=12,
                                 shapes=[Shape(label="café", points=[(1, 1), (5, 1), (5, 5)])]), out)
    raw = out.read_bytes()
    text = raw.decode("utf-8")  # strict: the file is valid UTF-8
    assert '"caf\\udce9.jpg"' in text and "café" in text  # the undecodable byte escaped, real text readable
    assert json.loads(text)["imagePath"] == name
    back = load_labelme(out)
    assert back.image_path == name and os.fsencode(tmp_path / back.image_path) == image
    label_file = pytest.importorskip("labelme._label_file")  # labelme finds the same image
    theirs = label_file.LabelFile(str(out))
    assert theirs.image_path == name and theirs.image_data == Path(os.fsdecode(image)).read_bytes()


@pytest.fixture(params=["pillow", "ultralytics-patched"])
def pillow_as_in_the_app(request):
    """Both ways Image.open is found in a process: Pillow's own, and ultralytics' wrapper (installed when
    ultralytics is imported), which answers an unknown image with a pip install of pi-heif."""
    if request.param == "ultralytics-patched":
        import ultralytics.utils.patches  # noqa: F401  (applies the patch)


def test_garbage_image_data_is_reported_in_our_words(tmp_path: Path, pillow_as_in_the_app) -> None:
    for garbage in ("not base64 at all!!", base64.b64encode(b"\x00" * 64).decode()):
        data = _doc([], imageData=garbage)
        del data["imageHeight"], data["imageWidth"]
        with pytest.raises(FormatError) as info:
            labelme_from_dict(data, tmp_path / "a.json")
        assert str(info.value) == f"{tmp_path / 'a.json'}: no imageHeight/imageWidth, and imageData is not a " \
                                  "base64-encoded image"
    data = _doc([])
    del data["imageHeight"], data["imageWidth"]
    with pytest.raises(FormatError, match=r"the image .*x\.jpg does not exist"):
        labelme_from_dict(data, tmp_path / "a.json")


def test_a_mask_with_a_negative_origin_keeps_its_part_inside_the_image(tmp_path: Path, pillow_as_in_the_app) -> None:
    crop = np.ones((10, 8), bool)
    shape = {"label": "m", "shape_type": "mask", "points": [[-3, -4], [4, 5]], "mask": _png(crop)}
    ann = labelme_from_dict(_doc([shape]), tmp_path / "a.json")
    mask = rle_decode(ann.shapes[0].mask)
    expected = np.zeros((100, 120), bool)
    expected[0:6, 0:5] = True
    np.testing.assert_array_equal(mask, expected)
    with pytest.raises(FormatError, match=r"shape 0: the mask \(8x10 at 500, 5\) lies outside the 120x100 image"):
        labelme_from_dict(_doc([{**shape, "points": [[500, 5], [507, 14]]}]), tmp_path / "a.json")
    with pytest.raises(FormatError, match="shape 0: mask is not a base64-encoded PNG$"):
        labelme_from_dict(_doc([{**shape, "mask": "AAAA"}]), tmp_path / "a.json")


def test_rle_from_crop_equals_the_full_size_encoding() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        H, W = (int(v) for v in rng.integers(1, 25, 2))
        h, w = (int(v) for v in rng.integers(1, 15, 2))
        x0, y0 = (int(v) for v in rng.integers(-12, 30, 2))
        crop = rng.random((h, w)) < rng.random()
        full = np.zeros((H + 60, W + 60), bool)
        full[y0 + 20:y0 + 20 + h, x0 + 20:x0 + 20 + w] = crop
        assert rle_from_crop(crop, x0, y0, (H, W)) == rle_encode(full[20:20 + H, 20:20 + W])


def test_a_tiny_file_claiming_a_huge_image_is_read_quickly_with_a_warning(tmp_path: Path) -> None:
    shapes = [{"label": "m", "shape_type": "mask", "points": [[0, 0], [3, 3]], "mask": _png(np.ones((4, 4)))},
              {"label": "r", "shape_type": "mask", "points": [[0, 0], [1, 1]],
               "mask": {"size": [30000, 30000], "counts": [5, 10, 30000 * 30000 - 15]}},
              {"label": "p", "points": [[0, 0], [10, 0], [10, 10]]}]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(_doc(shapes, 30000, 30000)))
    assert path.stat().st_size < 1000
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.warns(AnylabelWarning, match=r"big\.json: the image size 30000x30000 \(900 MP\) is unusually large"):
        ann = load_labelme(path)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert seconds < 2.0 and peak < 20e6  # was 22 s and 1.8 GB (a full-size raster per mask)
    assert [s.mask["size"] for s in ann.shapes[:2]] == [[30000, 30000]] * 2


def test_absurd_vertex_counts_are_read_with_a_warning(tmp_path: Path) -> None:
    ring = np.random.default_rng(0).random((150_001, 2)) * 100
    with pytest.warns(AnylabelWarning, match=r"a\.json: shape 0 \('p'\) has 150,001 vertices"):
        ann = labelme_from_dict(_doc([{"label": "p", "points": ring.tolist()}]), tmp_path / "a.json")
    assert len(ann.shapes[0].points) == 150_001
