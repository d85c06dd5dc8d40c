"""The registry, the instance rules shared by every writer, masks and circles, and the labels file."""
from __future__ import annotations

import numpy as np
import pytest
from formats_util import poly, write_doc

from anylabel.document import Shape
from anylabel.errors import AnylabelError, FormatError
from anylabel.formats.base import Options, Report
from anylabel.formats.labels import label_map_from_list, read_labels_file
from anylabel.formats.registry import export_folder, format_names, get_format, import_dataset, read_dataset
from anylabel.geometry.polygons import mask_to_polygons, polygon_to_mask
from anylabel.geometry.rle import mask_iou, rle_decode, rle_encode


def test_registry_lookup_and_pairs(voc_dir):
    assert format_names() == ["labelme", "coco", "yolo-seg", "yolo-det", "mot", "voc", "masks", "yolo-obb", "dota",
                              "cvat", "cvat-video"]
    with pytest.raises(AnylabelError, match="known formats: labelme, coco"):
        get_format("pascal")
    items, report = read_dataset("labelme", voc_dir / "data_annotated")
    assert report.images == 3 and report.warnings == []
    for annotation, image in items:  # an item unpacks as (annotation, image source)
        assert image.is_file() and (annotation.image_height, annotation.image_width) in ((338, 500), (375, 500))


def test_export_refuses_an_output_around_or_inside_its_input(tmp_path):
    """issue 13 #1: an export never writes where it would replace (or read back) the user's files."""
    write_doc(tmp_path / "proj" / "images", "a", [poly("cat", [(1, 1), (20, 1), (10, 15)])])
    src = tmp_path / "proj" / "images"
    for out, why in ((src, "is the input"), (tmp_path / "proj", "contains the input"),
                     (src / "coco", "lies inside the input")):
        with pytest.raises(AnylabelError, match=why):
            export_folder(src, "coco", out, Options(overwrite=True))
    assert sorted(p.name for p in src.iterdir()) == ["a.json", "a.png"]
    (tmp_path / "link").symlink_to(tmp_path / "proj")  # the same folder through a symlink
    with pytest.raises(AnylabelError, match="contains the input"):
        export_folder(src, "yolo-seg", tmp_path / "link", Options(overwrite=True))
    assert export_folder(src, "coco", tmp_path / "coco").images == 1


def test_labels_file_conventions(tmp_path):
    (tmp_path / "labels.txt").write_text("__ignore__\n_background_\ncat\n\n# comment\ndog\n")
    names = read_labels_file(tmp_path / "labels.txt")
    lm = label_map_from_list(names)
    assert lm.names == ("cat", "dog") and lm.coco_ids == (1, 2) and lm.yolo_id("dog") == 1
    assert label_map_from_list(["cat", "dog"]).coco_ids == (1, 2)  # no _background_: COCO ids from 1
    (tmp_path / "dup.txt").write_text("cat\ncat\n")
    with pytest.raises(FormatError, match="twice"):
        read_labels_file(tmp_path / "dup.txt")
    with pytest.raises(FormatError, match="missing.txt"):
        read_labels_file(tmp_path / "missing.txt")


def test_mask_with_two_blobs_to_yolo_seg_and_back(tmp_path):
    mask = np.zeros((48, 64), bool)
    mask[5:20, 5:25] = True
    mask[30:45, 40:60] = True
    write_doc(tmp_path / "src", "m", [Shape("blob", [(5, 5), (59, 44)], "mask", mask=rle_encode(mask))])
    report = export_folder(tmp_path / "src", "yolo-seg", tmp_path / "yolo")
    assert report.instances == 1 and report.warnings == []
    rows = (tmp_path / "yolo" / "labels" / "train" / "m.txt").read_text().splitlines()
    assert len(rows) == 1  # one instance, one line: the two outlines joined by a zero-width bridge
    items, _ = read_dataset("yolo-seg", tmp_path / "yolo")
    shapes = items[0].annotation.shapes
    assert len(shapes) == 2 and shapes[0].group_id == shapes[1].group_id is not None
    outlines = mask_to_polygons(mask, tolerance=0.01)  # the outline through the boundary pixels' centres
    assert [len(s.points) for s in shapes] == [len(p) for p in outlines] == [4, 4]
    for p in outlines:  # each outline comes back (in any order, from any start vertex), to YOLO's precision
        assert any(_cyclic_close(s.points_array(), p, 1e-6 * 64) for s in shapes)
    back = np.zeros_like(mask)
    for s in shapes:
        back |= polygon_to_mask(s.points_array(), mask.shape)
    # 6 decimals put a vertex at 18.999984 instead of 19: PIL then leaves out that edge's pixel row
    assert mask_iou(back, mask) > 0.9


def _cyclic_close(p, q, tol):
    starts = np.flatnonzero(np.abs(p - q[0]).max(axis=1) <= tol)
    return any(np.abs(np.roll(p, -k, axis=0) - q).max() <= tol for k in starts)


def test_circle_and_rectangle_in_coco(tmp_path):
    write_doc(tmp_path / "src", "c", [Shape("ball", [(30, 24), (30, 14)], "circle"),
                                      Shape("box", [(40, 30), (10, 5)], "rectangle")])
    export_folder(tmp_path / "src", "coco", tmp_path / "coco")
    items, report = read_dataset("coco", tmp_path / "coco")
    ball, box = items[0].annotation.shapes
    pts = ball.points_array()
    assert len(pts) >= 12 and np.allclose(np.hypot(pts[:, 0] - 30, pts[:, 1] - 24), 10)
    assert box.shape_type == "polygon" and sorted(box.points) == [(10, 5), (10, 30), (40, 5), (40, 30)]


def test_import_mask_roundtrip_through_labelme(tmp_path):
    mask = np.zeros((48, 64), bool)
    mask[10:30, 20:50] = True
    mask[15:20, 30:35] = False  # a hole: kept exactly by RLE
    write_doc(tmp_path / "src", "m", [Shape("wall", [(20, 10), (49, 29)], "mask", mask=rle_encode(mask))])
    export_folder(tmp_path / "src", "coco", tmp_path / "coco")
    report = import_dataset(tmp_path / "coco", "coco", tmp_path / "back")
    items, _ = read_dataset("labelme", tmp_path / "back")
    (shape,) = items[0].annotation.shapes
    assert report.warnings == [] and np.array_equal(rle_decode(shape.mask), mask)


def test_report_summary_names_files_and_counts():
    r = Report(format="coco", images=2, instances=5, classes=["a", "b"])
    r.warn("x.json", 3, "clipped", "polygon 'a' reaches outside")
    r.warn("y.json", None, "missing_image", "image 'y.png' not found: skipped")
    text = r.summary()
    assert "coco: 2 images, 5 instances, 2 classes written" in text
    assert "x.json shape 3: polygon 'a' reaches outside" in text and "y.json: image" in text
    assert r.warning_counts() == {"clipped": 1, "missing_image": 1}
