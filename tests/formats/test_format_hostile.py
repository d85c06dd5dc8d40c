"""Hostile input never crashes and never writes a silently wrong file: each case is a warning naming the
file (and the shape), and the output leaves the offending shape or image out (or clips it)."""
from __future__ import annotations

import contextlib
import io
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from formats_util import poly, write_doc, write_image
from pycocotools.coco import COCO

from anylabel.document import Shape
from anylabel.errors import AnylabelError, CancelledError
from anylabel.formats.base import Options
from anylabel.formats.registry import export_folder, read_dataset

TRI = [(1, 1), (20, 1), (10, 15)]
FORMATS = ["coco", "yolo-seg", "yolo-det"]
#: the formats that write instances, beyond COCO and YOLO (rotated-box formats: with min_area_rect)
MORE = ["voc", "masks", "yolo-obb", "dota"]


def _coco_anns(out: Path):
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(out / "annotations.json"))
    return coco, coco.dataset["annotations"]


def _yolo_rows(out: Path):
    return [ln.split() for f in sorted((out / "labels").rglob("*.txt")) for ln in f.read_text().splitlines()]


def _count(out: Path, fmt: str) -> int:
    if fmt in MORE:  # read back by the format's own reader
        items, _ = read_dataset(fmt, out)
        return sum(len(it.annotation.shapes) for it in items)
    return len(_coco_anns(out)[1]) if fmt == "coco" else len(_yolo_rows(out))


def _options(fmt: str, **kw) -> Options:
    return Options(min_area_rect=fmt in ("yolo-obb", "dota"), **kw)


def _warned(report, kind, file, shape=None):
    hits = [w for w in report.warnings if w.kind == kind and w.file == file and (shape is None or w.shape == shape)]
    assert hits, f"no {kind} warning for {file} shape {shape}: {[str(w) for w in report.warnings]}"
    assert file in str(hits[0])
    return hits[0]


@pytest.mark.parametrize("fmt", FORMATS + MORE)
@pytest.mark.parametrize("bad,kind", [
    (poly("cat", [(1, 1), (5, 5)]), "too_few_points"),
    (poly("cat", [(1, 1), (5, 5), (9, 9)]), "zero_area"),
    (poly("cat", [(100, 100), (120, 100), (110, 130)]), "outside_image"),
    (Shape("cat", [(3, 3), (3, 9)], "rectangle"), "zero_area"),
    (Shape("cat", [(3, 3)], "point"), "not_an_area"),
    (poly("", TRI), "empty_label"),
    (poly("cat", [(1, 1), (float("nan"), 5), (9, 1)]), "bad_shape"),  # the LabelMe reader refuses non-finite points
])
def test_bad_shape_left_out_with_warning(tmp_path, fmt, bad, kind):
    write_doc(tmp_path / "src", "img", [poly("cat", TRI), bad])
    report = export_folder(tmp_path / "src", fmt, tmp_path / "out", _options(fmt))
    _warned(report, kind, "img.json", 1)
    assert report.instances == 1 and _count(tmp_path / "out", fmt) == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_outside_coordinates_are_clipped(tmp_path, fmt):
    write_doc(tmp_path / "src", "img", [poly("cat", [(-10, -5), (30, 2), (80, 40), (10, 60)])], 64, 48)
    report = export_folder(tmp_path / "src", fmt, tmp_path / "out")
    _warned(report, "clipped", "img.json", 0)
    if fmt == "coco":
        (a,) = _coco_anns(tmp_path / "out")[1]
        pts = np.asarray(a["segmentation"][0]).reshape(-1, 2)
        assert pts.min() >= 0 and pts[:, 0].max() <= 64 and pts[:, 1].max() <= 48
        assert a["bbox"][0] == 0 and a["bbox"][1] == 0
    else:
        (row,) = _yolo_rows(tmp_path / "out")
        vals = np.asarray(row[1:], float)
        assert vals.min() >= 0 and vals.max() <= 1


@pytest.mark.parametrize("fmt", FORMATS + MORE + ["cvat", "cvat-video", "mot", "labelme"])
def test_missing_image_skipped(tmp_path, fmt):
    write_doc(tmp_path / "src", "good", [poly("cat", TRI, track_id=1)], frame_index=0)
    write_doc(tmp_path / "src", "gone", [poly("cat", TRI, track_id=1)], image=False, frame_index=1)
    report = export_folder(tmp_path / "src", fmt, tmp_path / "out")
    _warned(report, "missing_image", "gone.json")
    assert not list((tmp_path / "out").rglob("gone.png"))
    if fmt in FORMATS + MORE + ["cvat"]:
        assert report.images == 1 and report.skipped_images == 1


@pytest.mark.parametrize("fmt", FORMATS + MORE)
def test_unknown_labels_with_labels_file(tmp_path, fmt):
    write_doc(tmp_path / "src", "img", [poly("cat", TRI), poly("dog", TRI)])
    report = export_folder(tmp_path / "src", fmt, tmp_path / "out", _options(fmt, labels=["__ignore__", "cat"]))
    _warned(report, "unknown_label", "img.json", 1)
    assert report.classes == ["cat"] and _count(tmp_path / "out", fmt) == 1


@pytest.mark.parametrize("fmt", FORMATS + ["labelme"])
def test_duplicate_file_names(tmp_path, fmt):
    write_doc(tmp_path / "src" / "a", "x", [poly("cat", TRI)])
    write_doc(tmp_path / "src" / "b", "x", [poly("dog", TRI)], width=50)  # another image, same name
    dup = tmp_path / "src" / "c.json"  # a third annotation of a/x.png: exported once only
    dup.write_text((tmp_path / "src" / "a" / "x.json").read_text().replace('"x.png"', '"a/x.png"'))
    report = export_folder(tmp_path / "src", fmt, tmp_path / "out")
    _warned(report, "duplicate_name", "b/x.json")
    _warned(report, "duplicate_image", "c.json")
    assert report.images == 2
    names = sorted(p.name for p in (tmp_path / "out").rglob("*.png"))
    assert names == ["x.png", "x_1.png"]


@pytest.mark.parametrize("fmt", FORMATS + MORE + ["cvat"])
def test_not_labelme_json_skipped(tmp_path, fmt):
    write_doc(tmp_path / "src", "img", [poly("cat", TRI)])
    (tmp_path / "src" / "coco.json").write_text(json.dumps({"images": [], "annotations": []}))
    (tmp_path / "src" / "list.json").write_text("[1, 2]")
    (tmp_path / "src" / "junk.json").write_bytes(b"\xff\xfe{not json")
    (tmp_path / "src" / "badshape.json").write_text(json.dumps(
        {"shapes": [{"label": "cat", "points": "nope"}, {"label": "cat", "points": TRI}],
         "imagePath": "img.png", "imageHeight": 48, "imageWidth": 64}))
    report = export_folder(tmp_path / "src", fmt, tmp_path / "out", _options(fmt))
    for name in ("coco.json", "list.json", "junk.json"):
        _warned(report, "not_labelme", name)
    _warned(report, "bad_shape", "badshape.json", 0)
    _warned(report, "duplicate_image", "img.json")  # badshape.json (sorted first) already exported img.png
    assert report.images == 1 and report.instances == 1


@pytest.mark.parametrize("fmt", FORMATS + MORE + ["cvat", "labelme"])
def test_non_ascii_paths_and_labels(tmp_path, fmt):
    folder = tmp_path / "src" / "données"
    write_doc(folder, "图像 1", [poly("猫", TRI), poly("chat été", TRI)], suffix=".jpg")
    report = export_folder(tmp_path / "src", fmt, tmp_path / "sortie é", _options(fmt))
    assert report.images == 1 and report.instances == 2
    kinds = [(w.kind, w.file) for w in report.warnings]
    assert ("non_ascii", "données/图像 1.json") in kinds
    assert set(report.classes) == {"猫", "chat été"}
    out = tmp_path / "sortie é"
    assert list(out.rglob("图像 1.jpg"))
    if fmt == "coco":
        coco, anns = _coco_anns(out)
        assert {c["name"] for c in coco.dataset["categories"]} == {"猫", "chat été"}
    if fmt.startswith("yolo"):
        assert "猫" in (out / "data.yaml").read_text(encoding="utf-8")


def test_size_mismatch_skipped(tmp_path):
    path = write_doc(tmp_path / "src", "img", [poly("cat", TRI)], 64, 48)
    write_image(tmp_path / "src" / "img.png", 32, 32)  # the image was replaced by another size
    write_doc(tmp_path / "src", "good", [poly("cat", TRI)], 64, 48)
    report = export_folder(tmp_path / "src", "coco", tmp_path / "out")
    _warned(report, "size_mismatch", "img.json")
    assert report.images == 1 and path.exists()


def test_mixed_group_labels_warned(tmp_path):
    write_doc(tmp_path / "src", "img", [poly("cat", TRI, group_id=1), poly("dog", TRI, group_id=1)])
    report = export_folder(tmp_path / "src", "coco", tmp_path / "out")
    _warned(report, "group_mixed_labels", "img.json", 1)
    assert report.instances == 2


def test_duplicate_instance_in_yolo(tmp_path):
    write_doc(tmp_path / "src", "img", [poly("cat", TRI), poly("cat", TRI)])
    report = export_folder(tmp_path / "src", "yolo-seg", tmp_path / "out")
    _warned(report, "duplicate_instance", "img.json", 1)
    assert len(_yolo_rows(tmp_path / "out")) == 1


def test_output_not_empty_refused_and_overwrite_removes_stale(tmp_path):
    write_doc(tmp_path / "src", "a", [poly("cat", TRI)])
    write_doc(tmp_path / "src", "b", [poly("cat", TRI)])
    export_folder(tmp_path / "src", "yolo-seg", tmp_path / "out")
    with pytest.raises(AnylabelError, match="not empty"):
        export_folder(tmp_path / "src", "yolo-seg", tmp_path / "out")
    (tmp_path / "src" / "b.json").unlink()
    export_folder(tmp_path / "src", "yolo-seg", tmp_path / "out", Options(overwrite=True))
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.txt")) == ["a.txt"]  # b's stale label removed
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.md").write_text("mine")
    with pytest.raises(AnylabelError, match="notes.md"):
        export_folder(tmp_path / "src", "coco", tmp_path / "other", Options(overwrite=True))
    assert (tmp_path / "other" / "notes.md").read_text() == "mine"


def test_cancel_keeps_previous_export_intact(tmp_path):
    for i in range(5):
        write_doc(tmp_path / "src", f"i{i}", [poly("cat", TRI)])
    export_folder(tmp_path / "src", "coco", tmp_path / "out")
    before = (tmp_path / "out" / "annotations.json").read_bytes()
    cancel = threading.Event()

    def progress(done, total, stage):
        if stage == "writing" and done == 2:
            cancel.set()

    with pytest.raises(CancelledError):
        export_folder(tmp_path / "src", "coco", tmp_path / "out", Options(overwrite=True, progress=progress,
                                                                          cancel=cancel))
    assert (tmp_path / "out" / "annotations.json").read_bytes() == before
    assert not [p for p in (tmp_path / "out").rglob("*") if p.name.endswith(".tmp")]


def test_coco_import_rejects_truncated_rle(tmp_path):
    """pycocotools decodes short counts into uninitialised memory: such masks must never be imported."""
    from anylabel.formats.registry import read_dataset
    from anylabel.geometry.rle import rle_encode

    full = rle_encode(np.ones((30, 40), bool))["counts"]
    segs = [{"size": [30, 40], "counts": [1, 2, 3]}, {"size": [30, 40], "counts": ""},
            {"size": [30, 40], "counts": full[:-1] if len(full) > 1 else "0"},
            {"size": [30, 40], "counts": [0, 1200]}]
    write_image(tmp_path / "images" / "a.png", 40, 30)
    data = {"images": [{"id": 1, "file_name": "a.png", "height": 30, "width": 40}],
            "annotations": [{"id": i + 1, "image_id": 1, "category_id": 1, "segmentation": s}
                            for i, s in enumerate(segs)],
            "categories": [{"id": 1, "name": "wall"}]}
    (tmp_path / "annotations.json").write_text(json.dumps(data))
    items, report = read_dataset("coco", tmp_path)
    assert [(w.file, w.shape, w.kind) for w in report.warnings] == [
        ("annotations.json", i, "bad_mask") for i in range(3)]
    (shape,) = items[0].annotation.shapes  # only the last, complete RLE
    assert shape.shape_type == "mask"


def test_yolo_import_warns_per_line(tmp_path):
    from anylabel.formats.registry import read_dataset

    write_image(tmp_path / "images" / "train" / "a.png", 40, 30)
    (tmp_path / "labels" / "train").mkdir(parents=True)
    (tmp_path / "labels" / "train" / "a.txt").write_text(
        "0 0.1 0.1 0.2\n7 0.5 0.5 0.1 0.1\n0 0.95 0.5 0.2 0.2\nx y z\n1 0.1 0.1 0.5 0.1 0.9 0.9\n0 0.5 0.5 0 0.1\n")
    (tmp_path / "data.yaml").write_text("train: images/train\nval: images/train\nnames: [wall, door]\n")
    write_image(tmp_path / "images" / "train" / "b.png", 40, 30)  # an image without labels: no warning
    items, report = read_dataset("yolo-seg", tmp_path / "data.yaml")
    assert [(w.file, w.shape, w.kind) for w in report.warnings] == [
        ("labels/train/a.txt", 0, "bad_row"), ("labels/train/a.txt", 1, "unknown_class"),
        ("labels/train/a.txt", 2, "clipped"), ("labels/train/a.txt", 3, "bad_row"),
        ("labels/train/a.txt", 5, "zero_area")]
    shapes = items[0].annotation.shapes
    assert [(s.label, s.shape_type) for s in shapes] == [("wall", "rectangle"), ("door", "polygon")]
    np.testing.assert_allclose(shapes[0].points, [(34, 12), (40, 18)])  # clipped to the image
    assert items[1].annotation.shapes == []
