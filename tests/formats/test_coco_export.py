"""COCO export: loads in pycocotools, matches labelme's own export of the VOC example, groups merge,
masks become RLE; COCO import (polygon, compressed and uncompressed RLE, boxes); round trip."""
from __future__ import annotations

import contextlib
import io
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from formats_util import poly, write_doc, write_image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from anylabel.document import Shape
from anylabel.formats.base import Options
from anylabel.formats.folder import read_labelme_folder
from anylabel.formats.labels import read_labels_file
from anylabel.formats.registry import export_folder, import_dataset, read_dataset
from anylabel.geometry.rle import rle_decode, rle_encode


def _coco(path: Path) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


def test_voc_matches_labelmes_own_export(voc_dir, tmp_path):
    out = tmp_path / "coco"
    report = export_folder(voc_dir / "data_annotated", "coco", out,
                           Options(labels=read_labels_file(voc_dir / "labels.txt")))
    assert (report.images, report.instances) == (3, 12)
    ours, ref = _coco(out / "annotations.json"), _coco(voc_dir / "data_dataset_coco" / "annotations.json")
    # categories: labelme's ids by name; _background_ (labelme's id 0) and __ignore__ are not categories
    ref_ids = {c["name"]: c["id"] for c in ref.dataset["categories"]}
    our_ids = {c["name"]: c["id"] for c in ours.dataset["categories"]}
    assert our_ids == {n: i for n, i in ref_ids.items() if n != "_background_"}
    ref_by_stem = {Path(im["file_name"]).stem: im for im in ref.dataset["images"]}
    for im in ours.dataset["images"]:
        rim = ref_by_stem[Path(im["file_name"]).stem]
        assert (im["height"], im["width"]) == (rim["height"], rim["width"])
        assert (out / "images" / im["file_name"]).is_file()
        a_anns = ours.loadAnns(ours.getAnnIds(imgIds=im["id"]))
        b_anns = ref.loadAnns(ref.getAnnIds(imgIds=rim["id"]))
        assert len(a_anns) == len(b_anns)
        unmatched = list(a_anns)
        for b in b_anns:  # each of labelme's instances has one of ours of the same class with IoU >= 0.99
            mb = ref.annToMask(b).astype(bool)
            ious = [(_iou(ours.annToMask(a).astype(bool), mb), a) for a in unmatched
                    if a["category_id"] == b["category_id"]]
            iou, a = max(ious, key=lambda t: t[0])
            assert iou >= 0.99, (im["file_name"], b["id"], iou)
            unmatched.remove(a)
            assert a["bbox"] == b["bbox"]  # same rasterisation rule as labelme
            assert a["area"] == pytest.approx(b["area"], rel=2e-3)  # equal except the clipped chair (0.1 %)
            assert a["iscrowd"] == 0 and len(a["segmentation"]) == len(b["segmentation"])
    # and as a detector evaluation sees it: our annotations as results score AP 1.0 against labelme's.
    # labelme numbers annotations from 0, and COCOeval takes a matched id 0 for "unmatched" (its own file
    # scores 0.949 against itself): shift its ids, which is why we number from 1.
    from pycocotools.cocoeval import COCOeval

    fixed = json.loads((voc_dir / "data_dataset_coco" / "annotations.json").read_text())
    for a in fixed["annotations"]:
        a["id"] += 1
    (tmp_path / "ref.json").write_text(json.dumps(fixed))
    gt = _coco(tmp_path / "ref.json")
    results = []
    for a in ours.dataset["annotations"]:
        stem = Path(ours.imgs[a["image_id"]]["file_name"]).stem
        results.append({**a, "image_id": ref_by_stem[stem]["id"], "score": 1.0})
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(gt, gt.loadRes(results), "segm")
        ev.evaluate(), ev.accumulate(), ev.summarize()
    assert ev.stats[0] > 0.99


def _iou(a, b):
    return (a & b).sum() / max(1, (a | b).sum())


def test_groups_merge_and_masks_become_rle(tmp_path):
    mask = np.zeros((48, 64), bool)
    mask[30:40, 40:60] = True
    shapes = [
        poly("car", [(2, 2), (12, 2), (12, 12), (2, 12)], group_id=1),
        poly("car", [(20, 2), (30, 2), (30, 12)], group_id=1),
        poly("car", [(2, 20), (12, 20), (7, 30)]),
        Shape("tree", [(40, 30), (59, 39)], "mask", mask=rle_encode(mask)),
        Shape("box", [(50, 2), (60, 10)], "rectangle"),
    ]
    write_doc(tmp_path / "src", "img", shapes)
    report = export_folder(tmp_path / "src", "coco", tmp_path / "out")
    assert report.instances == 4 and report.warnings == []
    coco = _coco(tmp_path / "out" / "annotations.json")
    names = {c["id"]: c["name"] for c in coco.dataset["categories"]}
    assert sorted(names.values()) == ["box", "car", "tree"]  # discovered, sorted, ids 1..3
    assert sorted(names) == [1, 2, 3]
    anns = coco.dataset["annotations"]
    merged = [a for a in anns if names[a["category_id"]] == "car" and len(a["segmentation"]) == 2]
    assert len(merged) == 1  # two parts, one instance (X-AnyLabeling splits them)
    m = coco.annToMask(merged[0])
    assert m[7, 7] and m[5, 25] and not m[25, 7]
    tree = next(a for a in anns if names[a["category_id"]] == "tree")
    assert isinstance(tree["segmentation"], dict)
    assert np.array_equal(coco.annToMask(tree).astype(bool), mask) and tree["area"] == mask.sum()
    assert tree["bbox"] == [40.0, 30.0, 20.0, 10.0]
    box = next(a for a in anns if names[a["category_id"]] == "box")
    assert box["segmentation"] == [[50.0, 2.0, 60.0, 2.0, 60.0, 10.0, 50.0, 10.0]]  # 4 corners, not 2


def test_roundtrip_labelme_coco_labelme(voc_dir, tmp_path):
    export_folder(voc_dir / "data_annotated", "coco", tmp_path / "coco",
                  Options(labels=read_labels_file(voc_dir / "labels.txt")))
    report = import_dataset(tmp_path / "coco", "coco", tmp_path / "back", Options(image_mode="reference"))
    assert report.images == 3 and report.warnings == []
    originals = {it.source.stem: it for it in read_labelme_folder(voc_dir / "data_annotated")}
    for item in read_labelme_folder(tmp_path / "back"):
        orig = originals[item.source.stem].annotation
        want = _instances(orig.shapes)
        got = _instances(item.annotation.shapes)
        assert sorted(want) == sorted(got)  # same labels, same instance count
        for label in set(want):
            for parts in want[label]:
                assert any(_close(parts, g, (orig.image_width, orig.image_height)) for g in got[label]), label


def _instances(shapes):
    groups = defaultdict(list)
    for i, s in enumerate(shapes):
        if s.label != "__ignore__":
            groups[(s.label, s.group_id if s.group_id is not None else ("single", i))].append(s.points_array())
    out = defaultdict(list)
    for (label, _), parts in groups.items():
        out[label].append(parts)
    return {k: v for k, v in out.items()}


def _close(a, b, size):
    """Parts inside the image come back vertex for vertex; a part reaching outside (clipped on export) has
    every vertex, clamped to the image, within 0.5 px of a vertex of ``b``."""
    if len(a) != len(b):
        return False
    pa, pb = np.vstack(a), np.vstack(b)
    if pa.min() >= 0 and (pa <= size).all():
        return pa.shape == pb.shape and np.abs(pa - pb).max() <= 0.5
    return np.abs(np.clip(pa, 0, size)[:, None, :] - pb[None, :, :]).max(-1).min(-1).max() <= 0.5


def _write_coco(tmp_path: Path, anns, images=None, categories=None) -> Path:
    write_image(tmp_path / "images" / "a.png", 40, 30)
    data = {"images": images or [{"id": 7, "file_name": "a.png", "height": 30, "width": 40}],
            "annotations": anns, "categories": categories or [{"id": 3, "name": "cat"}]}
    (tmp_path / "annotations.json").write_text(json.dumps(data))
    return tmp_path / "annotations.json"


def test_import_polygons_rle_and_boxes(tmp_path):
    mask = np.zeros((30, 40), bool)
    mask[5:15, 10:30] = True
    compressed = rle_encode(mask)
    fortran = np.asfortranarray(mask.astype(np.uint8)).ravel(order="F")
    counts, run, value = [], 0, 0
    for v in fortran:  # uncompressed COCO RLE, as crowd annotations carry it
        if v != value:
            counts.append(run)
            run, value = 0, v
        run += 1
    counts.append(run)
    anns = [
        {"id": 1, "image_id": 7, "category_id": 3, "segmentation": [[1, 1, 10, 1, 10, 10], [20, 20, 30, 20, 25, 28]],
         "bbox": [1, 1, 29, 27], "area": 1, "iscrowd": 0},
        {"id": 2, "image_id": 7, "category_id": 3, "segmentation": compressed, "iscrowd": 0},
        {"id": 3, "image_id": 7, "category_id": 3, "segmentation": {"size": [30, 40], "counts": counts}, "iscrowd": 1},
        {"id": 4, "image_id": 7, "category_id": 3, "bbox": [2, 3, 4, 5]},
    ]
    # our hand-made uncompressed counts are what pycocotools makes of them: the same mask
    assert np.array_equal(mask_utils.decode(mask_utils.frPyObjects({"size": [30, 40], "counts": counts}, 30, 40)), mask)
    items, report = read_dataset("coco", _write_coco(tmp_path, anns))
    assert report.warnings == []
    shapes = items[0].annotation.shapes
    assert [s.shape_type for s in shapes] == ["polygon", "polygon", "mask", "mask", "rectangle"]
    assert shapes[0].group_id == shapes[1].group_id is not None  # two polygons, one instance
    assert np.array_equal(rle_decode(shapes[2].mask), mask) and np.array_equal(rle_decode(shapes[3].mask), mask)
    assert shapes[3].extra == {"iscrowd": 1}
    assert shapes[4].points == [(2.0, 3.0), (6.0, 8.0)]
    assert items[0].image == tmp_path / "images" / "a.png"
    # and written as LabelMe, then read back by our loader (the mask survives labelme's PNG encoding)
    import_dataset(tmp_path, "coco", tmp_path / "lm", Options(image_mode="reference"))
    back = read_labelme_folder(tmp_path / "lm")[0].annotation
    assert np.array_equal(rle_decode(back.shapes[3].mask), mask)
    assert back.image_path == "../images/a.png"


def test_import_warns_about_broken_entries(tmp_path):
    anns = [
        {"id": 1, "image_id": 7, "category_id": 99, "segmentation": [[1, 1, 10, 1, 10, 10]]},
        {"id": 2, "image_id": 8, "category_id": 3, "segmentation": [[1, 1, 10, 1, 10, 10]]},
        {"id": 3, "image_id": 7, "category_id": 3, "segmentation": [[1, 1, 10, 1]]},
        {"id": 4, "image_id": 7, "category_id": 3, "segmentation": {"size": [10, 10], "counts": "00"}},
        {"id": 5, "image_id": 7, "category_id": 3, "segmentation": [[1, 1, 10, 1, 10, 10]]},
    ]
    items, report = read_dataset("coco", _write_coco(tmp_path, anns))
    kinds = [(w.file, w.shape, w.kind) for w in report.warnings]
    assert kinds == [("annotations.json", 0, "unknown_category"), ("annotations.json", 1, "bad_annotation"),
                     ("annotations.json", 2, "too_few_points"), ("annotations.json", 3, "bad_mask")]
    assert len(items[0].annotation.shapes) == 1


@pytest.mark.parametrize("text", ["not json", "[]", '{"images": 3}', '{"annotations": []}'])
def test_import_rejects_non_coco(tmp_path, text):
    from anylabel.errors import FormatError

    (tmp_path / "annotations.json").write_text(text)
    with pytest.raises(FormatError, match="annotations.json"):
        read_dataset("coco", tmp_path / "annotations.json")


def test_import_labelmes_own_coco_export(voc_dir, tmp_path):
    """labelme's file names its images JPEGImages/NAME.jpg (not shipped): --images finds them by name."""
    report = import_dataset(voc_dir / "data_dataset_coco" / "annotations.json", "coco", tmp_path / "lm",
                            Options(images_dir=voc_dir / "data_annotated", image_mode="reference"))
    assert (report.images, report.warnings) == (3, [])
    items = read_labelme_folder(tmp_path / "lm")
    folder = (voc_dir / "data_annotated").resolve()
    assert all(it.image is not None and it.image.resolve().parent == folder for it in items)
    originals = {it.source.stem: it.annotation for it in read_labelme_folder(voc_dir / "data_annotated")}
    for it in items:
        want = _instances([s for s in originals[it.source.stem].shapes])
        assert sorted((k, len(v)) for k, v in _instances(it.annotation.shapes).items()) == sorted(
            (k, len(v)) for k, v in want.items())


def test_pixel_extent_counts_the_pixels_labelme_draws():
    """COCO's area / bbox come from PIL's core drawing (no ImageDraw wrapper): the same pixels as labelme's
    ``shape_to_mask`` (ImageDraw.polygon with outline=1, fill=1) on the full image, for random polygons,
    grouped parts, slivers and polygons touching the border."""
    from PIL import Image, ImageDraw

    from anylabel.formats.instances import Instance

    rng = np.random.default_rng(3)
    h, w = 60, 80
    for k in range(300):
        parts = []
        for _ in range(1 + k % 3):
            n = int(rng.integers(3, 12))
            scale = (0.3, 3.0, 40.0)[k % 3]
            centre = rng.uniform(0, (w, h))
            parts.append(np.clip(centre + rng.normal(0, scale, (n, 2)), 0, (w, h)))
        inst = Instance("x", polygons=parts)
        full = Image.new("L", (w, h), 0)
        for p in parts:
            ImageDraw.Draw(full).polygon(p.ravel().tolist(), outline=1, fill=1)
        mask = np.asarray(full, dtype=bool)
        area, extent = inst.pixel_extent((h, w))
        assert area == int(mask.sum())
        if area:
            rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
            assert extent == (cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1)
        else:
            assert extent is None


def test_the_collectors_bounds_give_the_same_box_as_the_polygons():
    """collect_instances hands box() the bounds it measured while validating (no reductions again); a group
    with a clipped part falls back to measuring its polygons: the same box either way."""
    from anylabel.document import ImageAnnotation, Shape
    from anylabel.formats.base import Report
    from anylabel.formats.instances import collect_instances

    shapes = [Shape("a", [(1, 1), (20, 2), (9, 15)], group_id=1), Shape("a", [(30, 5), (50, 5), (40, 30)], group_id=1),
              Shape("b", [(60, 10), (90, 10), (70, 40)], group_id=2),  # leaves the 80 px wide image: clipped
              Shape("b", [(5, 30), (25, 30), (15, 45)], group_id=2), Shape("c", [(2, 2), (7, 2), (4, 6)])]
    for inst in collect_instances(ImageAnnotation("x.png", 48, 80, shapes), "x.json", Report()):
        pts = np.concatenate(inst.polygons)
        assert inst.box() == (pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()), inst.label
        assert len(inst.polygon_bounds) == (0 if inst.label == "b" else len(inst.polygons))
