"""issue 13 #4, #6, #9, #10: odd names, corrupt images, absurd sizes and paths outside the input folder."""
from __future__ import annotations

import base64
import io
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from formats_util import poly, write_doc, write_image
from PIL import Image

from anylabel.cli import main
from anylabel.formats.base import NothingWrittenError, Options
from anylabel.formats.folder import read_labelme_folder
from anylabel.formats.registry import export_folder, import_dataset

TRI = [(1, 1), (20, 1), (10, 15)]
CAFE = os.fsdecode(b"caf\xe9")  # a Latin-1 name on a UTF-8 system: 'caf\udce9' in Python


def _non_utf8_source(folder: Path) -> Path:
    """A LabelMe JSON and its image, both named with the byte 0xE9 (not UTF-8)."""
    write_doc(folder, "tmp", [poly("cat", TRI)])
    os.rename(folder / "tmp.png", folder / f"{CAFE}.png")
    data = json.loads((folder / "tmp.json").read_text())
    data["imagePath"] = f"{CAFE}.png"
    (folder / f"{CAFE}.json").write_text(json.dumps(data))  # ensure_ascii: the name as a \udce9 escape
    (folder / "tmp.json").unlink()
    return folder


# --- #4: names that are not UTF-8 ---------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["coco", "yolo-seg", "yolo-det", "labelme", "mot", "voc", "masks", "yolo-obb", "dota",
                                 "cvat", "cvat-video"])
def test_non_utf8_names_export_under_an_escaped_name(tmp_path, capsys, fmt):
    src = _non_utf8_source(tmp_path / "src")
    out = tmp_path / "out"
    assert main(["export", str(src), "-f", fmt, "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "caf\\xe9.png is not valid UTF-8: exported as caf%E9.png" in printed or fmt in ("mot", "cvat-video")
    names = [p.name for p in out.rglob("*")]
    for n in names:
        n.encode("utf-8")  # every name we wrote is valid UTF-8
    if fmt == "coco":
        coco = json.loads((out / "annotations.json").read_text(encoding="utf-8"))
        assert [im["file_name"] for im in coco["images"]] == ["caf%E9.png"]
        assert (out / "images" / "caf%E9.png").is_file()


@pytest.mark.parametrize("fmt", ["coco", "yolo-seg", "yolo-det", "voc", "masks", "dota", "cvat"])
def test_non_utf8_round_trip_through_every_import(tmp_path, fmt):
    src = _non_utf8_source(tmp_path / "src")
    export_folder(src, fmt, tmp_path / "ds", Options(min_area_rect=True))
    report = import_dataset(tmp_path / "ds", fmt, tmp_path / "lm", Options(image_mode="reference"))
    assert report.images == 1
    (item,) = read_labelme_folder(tmp_path / "lm")
    assert item.image is not None and item.image.name == ("caf%E9.jpg" if fmt == "voc" else "caf%E9.png")
    assert len(item.annotation.shapes) == 1 and item.annotation.shapes[0].label == "cat"


@pytest.mark.parametrize("fmt", ["yolo-seg", "yolo-det"])
def test_yolo_import_of_a_non_utf8_image_name_keeps_the_real_name(tmp_path, capsys, fmt):
    """The issue: ``import -f yolo-seg|yolo-det`` printed tracebacks for such names."""
    (tmp_path / "ds" / "images" / "train").mkdir(parents=True)
    (tmp_path / "ds" / "labels" / "train").mkdir(parents=True)
    write_image(tmp_path / "ds" / "images" / "train" / f"{CAFE}.png", 40, 30)
    (tmp_path / "ds" / "labels" / "train" / f"{CAFE}.txt").write_text("0 0.1 0.1 0.5 0.1 0.3 0.6\n")
    (tmp_path / "ds" / "data.yaml").write_text("train: images/train\nval: images/train\nnames: {0: cat}\n")
    assert main(["import", str(tmp_path / "ds"), "-f", fmt, "-o", str(tmp_path / "lm"), "-q"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    (item,) = read_labelme_folder(tmp_path / "lm")
    assert os.fsencode(item.image.name) == b"caf\xe9.png"  # imagePath points at the real file (\udce9 in JSON)


# --- #6: corrupt images ----------------------------------------------------------------------------------------
def _truncated_jpeg(folder: Path, stem: str) -> Path:
    write_doc(folder, stem, [poly("cat", TRI)], width=320, height=240, suffix=".jpg")
    data = (folder / f"{stem}.jpg").read_bytes()
    (folder / f"{stem}.jpg").write_bytes(data[: len(data) // 2])
    return folder / f"{stem}.jpg"


@pytest.mark.parametrize("fmt", ["coco", "yolo-seg", "labelme", "mot", "voc", "masks", "dota", "cvat"])
def test_a_truncated_jpeg_is_left_out_with_the_reason(tmp_path, fmt):
    _truncated_jpeg(tmp_path / "src", "broken")
    write_doc(tmp_path / "src", "good", [poly("cat", TRI)])
    report = export_folder(tmp_path / "src", fmt, tmp_path / "out")
    (w,) = [w for w in report.warnings if w.kind == "corrupt_image"]
    assert w.file == "broken.json" and "broken.jpg" in w.message and "truncated" in w.message
    assert not list((tmp_path / "out").rglob("broken.jpg")) and not list((tmp_path / "out").rglob("000001.jpg"))
    kept = export_folder(tmp_path / "src", fmt, tmp_path / "kept", Options(keep_corrupt=True))
    assert kept.images == report.images + (fmt != "mot")  # MOT counts the frame's rows either way
    assert "kept on request" in " ".join(w.message for w in kept.warnings)


def test_a_corrupt_png_is_caught_and_the_check_is_cheap(tmp_path):
    path = write_image(tmp_path / "src" / "big.png", 3000, 2000)
    write_doc(tmp_path / "src", "big", [poly("cat", TRI)], 3000, 2000, image=False)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside the pixel data: its chunk's CRC no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(NothingWrittenError, match=r"(corrupt_image|bad_image).*\n.*big\.png"):
        export_folder(tmp_path / "src", "coco", tmp_path / "out")
    from anylabel.formats.images import pixels_problem

    good = write_image(tmp_path / "good.png", 3000, 2000)
    t = time.perf_counter()
    assert pixels_problem(good) == ""
    assert time.perf_counter() - t < 2.0  # a CRC pass, not a 6-megapixel decode


# --- #9: absurd sizes and vertex counts cost little ------------------------------------------------------
def test_a_tiny_json_claiming_a_huge_image_costs_a_header_read(tmp_path):
    """The issue: a 673-byte JSON claiming 30000 x 30000 (with a mask) took 25 s and 1.8 GB to export."""
    src = tmp_path / "src"
    write_image(src / "a.png", 64, 48)
    buf = io.BytesIO()
    Image.fromarray(np.ones((2, 2), bool)).save(buf, "PNG")
    doc = {"version": "5.4.1", "flags": {}, "imagePath": "a.png", "imageData": None, "imageHeight": 30000,
           "imageWidth": 30000, "shapes": [{"label": "x", "points": [[0, 0], [29999, 29999]], "shape_type": "mask",
                                            "mask": base64.b64encode(buf.getvalue()).decode(), "flags": {}}]}
    (src / "a.json").write_text(json.dumps(doc))
    write_doc(src, "b", [poly("cat", TRI)])
    t = time.perf_counter()
    report = export_folder(src, "coco", tmp_path / "out")
    assert time.perf_counter() - t < 5.0
    assert report.images == 1 and any(w.kind == "size_mismatch" and w.file == "a.json" for w in report.warnings)


def test_a_million_vertex_polygon_is_left_out_quickly(tmp_path):
    """The issue: one random self-intersecting 1e6-vertex polygon took 211 s in the COCO export."""
    src = tmp_path / "src"
    write_doc(src, "a", [poly("cat", TRI)], 1000, 1000)
    data = json.loads((src / "a.json").read_text())
    pts = np.random.default_rng(0).uniform(0, 1000, (1_000_000, 2)).round(1).tolist()
    data["shapes"].append({**data["shapes"][0], "points": pts})
    (src / "a.json").write_text(json.dumps(data))
    t = time.perf_counter()
    report = export_folder(src, "coco", tmp_path / "out")
    elapsed = time.perf_counter() - t
    (w,) = [w for w in report.warnings if w.kind == "too_many_vertices"]
    assert (w.file, w.shape) == ("a.json", 1) and "1,000,000 vertices" in w.message
    assert report.instances == 1 and elapsed < 30.0


# --- #10: paths outside the input folder ----------------------------------------------------------------
@pytest.mark.parametrize("how", ["relative", "absolute", "symlink"])
def test_an_image_outside_the_input_folder_is_not_exported(tmp_path, how):
    private = write_image(tmp_path / "home" / "private.png", 64, 48)
    src = tmp_path / "src"
    write_doc(src, "a", [poly("cat", TRI)], image=False)
    write_doc(src, "b", [poly("cat", TRI)])
    data = json.loads((src / "a.json").read_text())
    if how == "symlink":
        (src / "link.png").symlink_to(private)
        data["imagePath"] = "link.png"
    else:
        data["imagePath"] = "../home/private.png" if how == "relative" else str(private)
    (src / "a.json").write_text(json.dumps(data))
    report = export_folder(src, "coco", tmp_path / "out")
    (w,) = [w for w in report.warnings if w.kind == "outside_input"]
    assert w.file == "a.json" and "private.png" in w.message and "--allow-outside" in w.message
    assert sorted(p.name for p in (tmp_path / "out" / "images").iterdir()) == ["b.png"]
    allowed = export_folder(src, "coco", tmp_path / "allowed", Options(allow_outside=True))
    assert allowed.images == 2


def test_images_beside_the_annotations_are_read_when_their_folder_is_given(tmp_path, capsys):
    """The layout our own writers make (``anylabel --output LABELS IMAGES``, a reference-mode import): the
    JSONs point into a sibling folder. ``--images DIR`` allows that folder, and only that one."""
    images, labels = tmp_path / "images", tmp_path / "labels"
    write_image(images / "a.png", 64, 48)
    write_image(tmp_path / "home" / "private.png", 64, 48)
    write_doc(labels, "a", [poly("cat", TRI)], image=False)
    write_doc(labels, "b", [poly("cat", TRI)], image=False)
    for name, target in (("a", "../images/a.png"), ("b", "../home/private.png")):
        data = json.loads((labels / f"{name}.json").read_text())
        data["imagePath"] = target
        (labels / f"{name}.json").write_text(json.dumps(data))
    assert main(["export", str(labels), "-f", "coco", "-o", str(tmp_path / "refused"), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"--images {images.resolve()}" in err  # the hint names the folder to allow
    assert main(["export", str(labels), "-f", "coco", "-o", str(tmp_path / "out"), "-q", "--images",
                 str(images)]) == 0
    assert sorted(p.name for p in (tmp_path / "out" / "images").iterdir()) == ["a.png"]  # never private.png
    report = export_folder(labels, "coco", tmp_path / "api", Options(image_roots=(images,)))
    assert report.images == 1 and [w.file for w in report.warnings if w.kind == "outside_input"] == ["b.json"]


def test_coco_import_does_not_follow_file_names_out_of_the_images_folder(tmp_path):
    write_image(tmp_path / "home" / "private.png", 40, 30)
    write_image(tmp_path / "ds" / "images" / "ok.png", 40, 30)
    doc = {"images": [{"id": 1, "file_name": "../home/private.png", "height": 30, "width": 40},
                      {"id": 2, "file_name": "ok.png", "height": 30, "width": 40}],
           "annotations": [], "categories": [{"id": 1, "name": "cat"}]}
    (tmp_path / "ds" / "annotations.json").write_text(json.dumps(doc))
    report = import_dataset(tmp_path / "ds", "coco", tmp_path / "lm", Options(image_mode="copy"))
    assert [w.kind for w in report.warnings][:1] == ["outside_input"]
    assert [p.name for p in (tmp_path / "lm").glob("*.png")] == ["ok.png"]
