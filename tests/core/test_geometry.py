"""Geometry on real VOC annotations and synthetic masks."""
from __future__ import annotations

from pathlib import Path
from typing import Dict

import numpy as np
import pytest
from PIL import Image
from shapely.geometry import Polygon

from anylabel.errors import GeometryError
from anylabel.formats.labelme import load_labelme
from anylabel.geometry import (
    box_iou,
    mask_iou,
    mask_to_box,
    mask_to_polygons,
    polygon_area,
    polygon_to_mask,
    rle_area,
    rle_decode,
    rle_encode,
    shape_to_mask,
    simplify_polygon,
)

VOC_NAMES = ["2011_000003", "2011_000006", "2011_000025"]


def _voc_objects(voc_dir: Path) -> Dict[str, np.ndarray]:
    """Every VOC object as a mask: the union of the labelme polygons of one instance (shared group_id)."""
    objects = {}
    for name in VOC_NAMES:
        ann = load_labelme(voc_dir / "data_annotated" / f"{name}.json")
        for k, s in enumerate(ann.shapes):
            key = f"{name}/{s.label}/" + (f"g{s.group_id}" if s.group_id is not None else f"s{k}")
            m = polygon_to_mask(s.points_array(), ann.size)
            objects[key] = objects.get(key, np.zeros_like(m)) | m
    return objects


def _fill(polys, size) -> np.ndarray:
    out = np.zeros(size, dtype=bool)
    for p in polys:
        out |= polygon_to_mask(p, size)
    return out


def test_polygon_to_mask_to_polygon_keeps_every_voc_object(voc_dir: Path) -> None:
    objects = _voc_objects(voc_dir)
    assert len(objects) == 14  # 4 + 7 + 3 instances, __ignore__ regions included
    for key, mask in objects.items():
        polys = mask_to_polygons(mask, tolerance=0.5)
        iou = mask_iou(mask, _fill(polys, mask.shape))
        assert iou >= 0.98, f"{key}: IoU {iou:.4f}"
        assert all(len(p) >= 3 for p in polys)


def test_exact_at_zero_tolerance_for_simple_polygons(voc_dir: Path) -> None:
    ann = load_labelme(voc_dir / "data_annotated" / "2011_000025.json")
    for s in ann.shapes:
        assert Polygon(s.points).is_valid
        mask = polygon_to_mask(s.points_array(), ann.size)
        assert mask_iou(mask, _fill(mask_to_polygons(mask, tolerance=0), ann.size)) == 1.0


def test_polygons_rasterise_like_labelme_voc_export(voc_dir: Path) -> None:
    """2011_000025 has no overlaps or ignore regions: our masks equal labelme's SegmentationObject PNG."""
    ann = load_labelme(voc_dir / "data_annotated" / "2011_000025.json")
    objects = np.asarray(Image.open(voc_dir / "data_dataset_voc" / "SegmentationObject" / "2011_000025.png"))
    painted = np.zeros(ann.size, dtype=np.uint8)
    for instance_id, s in enumerate(ann.shapes, start=1):  # later shapes are drawn over earlier ones
        painted[polygon_to_mask(s.points_array(), ann.size)] = instance_id
    np.testing.assert_array_equal(painted, objects)


def test_simplification_respects_tolerance_and_reduces_vertices(voc_dir: Path) -> None:
    objects = np.asarray(Image.open(voc_dir / "data_dataset_voc" / "SegmentationObject" / "2011_000025.png"))
    dense = mask_to_polygons(objects == 1, tolerance=0)[0]
    for tol in (0.5, 1.0, 3.0):
        simple = simplify_polygon(dense, tol)
        assert 3 <= len(simple) < len(dense)
        # every removed vertex lies within tol of the simplified outline
        ring = Polygon(simple).exterior
        from shapely.geometry import Point

        assert max(ring.distance(Point(p)) for p in dense) <= tol + 1e-6


def test_parts_are_returned_largest_first_and_holes_filled() -> None:
    mask = np.zeros((50, 80), dtype=bool)
    mask[5:15, 5:15] = True  # 100 px
    mask[20:45, 30:70] = True  # 1000 px, with a hole
    mask[30:35, 40:50] = False
    mask[48, 78] = True  # a single pixel
    parts = mask_to_polygons(mask, tolerance=0)
    assert len(parts) == 3
    areas = [_fill([p], mask.shape).sum() for p in parts]
    assert areas == sorted(areas, reverse=True)
    assert areas[0] == 25 * 40  # the hole is filled: outer boundary only
    assert len(mask_to_polygons(mask, tolerance=0, min_area=2)) == 2
    assert len(mask_to_polygons(mask, max_parts=1)) == 1
    assert mask_to_polygons(np.zeros((4, 4), bool)) == []


def test_rle_round_trip_through_pycocotools() -> None:
    rng = np.random.default_rng(0)
    mask = rng.random((37, 53)) > 0.6
    rle = rle_encode(mask)
    assert rle["size"] == [37, 53] and isinstance(rle["counts"], str)
    np.testing.assert_array_equal(rle_decode(rle), mask)
    assert rle_area(rle) == mask.sum()
    # uncompressed COCO counts (iscrowd style) decode too
    flat = mask.flatten(order="F")
    runs, current, n = [], False, 0
    for v in flat:
        if v != current:
            runs.append(n)
            current, n = v, 0
        n += 1
    runs.append(n)
    np.testing.assert_array_equal(rle_decode({"size": [37, 53], "counts": runs}), mask)


def test_bad_geometry_raises() -> None:
    with pytest.raises(GeometryError, match="at least 3 points"):
        polygon_to_mask(np.array([[0, 0], [1, 1]]), (5, 5))
    with pytest.raises(GeometryError, match="2-D"):
        mask_to_polygons(np.zeros((2, 2, 3)))
    with pytest.raises(GeometryError, match="not a COCO RLE"):
        rle_decode({"counts": "abc"})
    with pytest.raises(GeometryError):
        mask_iou(np.zeros((2, 2)), np.zeros((3, 3)))
    with pytest.raises(GeometryError, match="cannot rasterise"):
        shape_to_mask("mask", [(0, 0)], (4, 4))


def test_boxes_and_areas() -> None:
    mask = np.zeros((10, 10), bool)
    mask[2:5, 3:9] = True
    assert mask_to_box(mask) == (3.0, 2.0, 9.0, 5.0)
    assert mask_to_box(np.zeros((3, 3), bool)) is None
    assert polygon_area(np.array([[0, 0], [4, 0], [4, 3], [0, 3]])) == 12.0
    assert box_iou((0, 0, 2, 2), (1, 1, 3, 3)) == pytest.approx(1 / 7)
    for kind, pts in [("rectangle", [(1, 1), (4, 3)]), ("circle", [(5, 5), (5, 8)]), ("line", [(0, 0), (9, 9)]),
                      ("point", [(5, 5)]), ("linestrip", [(0, 0), (5, 5), (9, 0)])]:
        assert shape_to_mask(kind, pts, (10, 10)).any()
    assert shape_to_mask("rectangle", [(1, 1), (4, 3)], (10, 10)).sum() == 4 * 3
