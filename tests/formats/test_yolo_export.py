"""YOLO export: read by ultralytics' own loader without warnings, boxes and polygons equal to the source;
reproducible split; bridged parts; round trip LabelMe -> YOLO-seg -> LabelMe."""
from __future__ import annotations

import json
import logging
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from formats_util import poly, write_doc

from anylabel.formats.base import Options
from anylabel.formats.folder import read_labelme_folder
from anylabel.formats.labels import read_labels_file
from anylabel.formats.registry import export_folder, import_dataset, read_dataset
from anylabel.formats.yolo_geometry import bridge_parts, split_bridged


def _source_instances(json_file: Path):
    """(label, [Nx2 parts]) per instance, straight from the JSON (labelme's grouping rule)."""
    data = json.loads(json_file.read_text())
    groups = defaultdict(list)
    for i, s in enumerate(data["shapes"]):
        if s["label"] == "__ignore__":
            continue
        key = (s["label"], s["group_id"]) if s["group_id"] is not None else ("single", i)
        groups[key].append((s["label"], np.asarray(s["points"], dtype=np.float64)))
    instances = [(parts[0][0], [p for _, p in parts]) for parts in groups.values()]
    return instances, (data["imageHeight"], data["imageWidth"])


def _load_ultralytics(data_yaml: Path, split: str, task: str):
    from ultralytics.data.dataset import YOLODataset
    from ultralytics.data.utils import check_det_dataset
    from ultralytics.utils import LOGGER

    records = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append
    LOGGER.addHandler(handler)
    try:
        data = check_det_dataset(str(data_yaml), autodownload=False)
        ds = YOLODataset(img_path=data[split], data=data, task=task, imgsz=320, augment=False, cache=False,
                         batch_size=1, rect=False, prefix="")
        labels = ds.get_labels() if not ds.labels else ds.labels
    finally:
        LOGGER.removeHandler(handler)
    messages = [r.getMessage() for r in records]
    return data, labels, messages


@pytest.mark.parametrize("task,fmt", [("segment", "yolo-seg"), ("detect", "yolo-det")])
def test_voc_export_read_by_ultralytics(voc_dir, tmp_path, task, fmt):
    out = tmp_path / "yolo"
    report = export_folder(voc_dir / "data_annotated", fmt, out,
                           Options(labels=read_labels_file(voc_dir / "labels.txt"), split=0.67, seed=3))
    assert report.images == 3 and report.instances == 12
    data, labels, messages = [], [], []
    for split in ("train", "val"):
        d, lbs, msgs = _load_ultralytics(out / "data.yaml", split, task)
        data, labels, messages = d, labels + lbs, messages + msgs
    bad = [m for m in messages if "warn" in m.lower() or "⚠" in m or "corrupt" in m.lower() or "duplicate" in m]
    assert bad == [], bad
    names = data["names"]
    assert names[0] == "aeroplane" and len(names) == 20  # labelme's order, without __ignore__/_background_
    assert sorted(Path(lb["im_file"]).stem for lb in labels) == ["2011_000003", "2011_000006", "2011_000025"]
    for lb in labels:
        expected, (h, w) = _source_instances(voc_dir / "data_annotated" / f"{Path(lb['im_file']).stem}.json")
        assert lb["shape"] == (h, w)
        assert [names[int(c)] for c in lb["cls"].ravel()] == [label for label, _ in expected]
        for k, (label, parts) in enumerate(expected):
            allpts = np.clip(np.vstack(parts), 0, [w, h])  # the chair reaches 0.4 px below the image
            x1, y1 = allpts.min(axis=0)
            x2, y2 = allpts.max(axis=0)
            want = [(x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h]
            np.testing.assert_allclose(lb["bboxes"][k], want, atol=2e-6)
            if task == "segment":
                seg = lb["segments"][k] * [w, h]
                # every source vertex is in the exported polygon (grouped parts joined by bridges)
                for p in parts:
                    d = np.abs(seg[None, :, :] - np.clip(p, 0, [w, h])[:, None, :]).max(-1).min(-1)
                    assert d.max() < (0.5 if label == "chair" else 1e-3)


def test_split_reproducible_and_order_independent(tmp_path):
    src = tmp_path / "src"
    for i in range(10):
        write_doc(src, f"img{i:02d}", [poly("cat", [(1, 1), (20, 1), (10, 15)])])
    items = read_labelme_folder(src)

    def subsets(out, seed, its):
        export = __import__("anylabel.formats.yolo", fromlist=["write_yolo"]).write_yolo
        export(its, out, Options(split=0.7, seed=seed), "segment")
        return {p.stem for p in (out / "labels" / "val").glob("*.txt")}

    a = subsets(tmp_path / "a", 5, items)
    b = subsets(tmp_path / "b", 5, list(reversed(items)))
    c = subsets(tmp_path / "c", 6, items)
    assert a == b and len(a) == 3
    assert a != c  # another seed, another split (fixed seeds: deterministic)
    assert "val: images/val" in (tmp_path / "a" / "data.yaml").read_text()


def test_no_split_val_points_at_train(tmp_path):
    src = tmp_path / "src"
    write_doc(src, "one", [poly("cat", [(1, 1), (20, 1), (10, 15)])])
    export_folder(src, "yolo-det", tmp_path / "out")
    text = (tmp_path / "out" / "data.yaml").read_text()
    assert "val: images/train" in text and "path:" not in text.split("\n", 1)[1]
    assert (tmp_path / "out" / "labels" / "train" / "one.txt").read_text().startswith("0 ")


def test_bridge_then_split_recovers_parts():
    rng = np.random.default_rng(0)
    parts = [rng.uniform(0, 100, (n, 2)).round(3) + 200 * i for i, n in enumerate((5, 3, 7, 4))]
    joined = bridge_parts(parts)
    back = split_bridged(joined)
    assert len(back) == 4
    key = lambda p: tuple(sorted(map(tuple, np.round(p, 6))))  # noqa: E731
    assert sorted(map(key, back)) == sorted(map(key, parts))


def test_split_undoes_ultralytics_merge_multi_segment():
    from ultralytics.data.converter import merge_multi_segment

    parts = [np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float), np.array([[20, 0], [30, 0], [25, 8]], float),
             np.array([[40, 0], [50, 0], [50, 5], [40, 5]], float)]
    merged = np.concatenate(merge_multi_segment([p.ravel().tolist() for p in parts]), axis=0)
    back = split_bridged(merged)
    key = lambda p: tuple(sorted(map(tuple, p)))  # noqa: E731
    assert sorted(map(key, back)) == sorted(map(key, parts))


def test_roundtrip_labelme_yolo_seg_labelme(voc_dir, tmp_path):
    out = tmp_path / "yolo"
    export_folder(voc_dir / "data_annotated", "yolo-seg", out, Options(labels=read_labels_file(voc_dir / "labels.txt")))
    back = tmp_path / "back"
    report = import_dataset(out, "yolo-seg", back, Options(image_mode="reference"))
    assert report.images == 3 and report.warnings == []
    for item in read_labelme_folder(back):
        stem = Path(item.annotation.image_path).stem
        expected, (h, w) = _source_instances(voc_dir / "data_annotated" / f"{stem}.json")
        got = defaultdict(list)
        for i, s in enumerate(item.annotation.shapes):
            got[(s.label, s.group_id if s.group_id is not None else ("single", i))].append(s.points_array())
        assert sorted(lbl for lbl, _ in expected) == sorted(k[0] for k in got)  # labels and instance count
        tol = 1e-6 * max(h, w) + 1e-9  # YOLO keeps 6 decimals of the normalised coordinates
        for label, parts in expected:
            if label == "chair":
                continue  # clipped to the image on export: checked in the hostile-input tests
            candidates = [g for k, g in got.items() if k[0] == label and len(g) == len(parts)]
            assert any(_same_parts(parts, g, tol) for g in candidates), (stem, label)
        assert (back / f"{stem}.json").is_file()
        assert item.image is not None and item.image.is_file()  # imagePath points at the exported image


def _cyclic_close(p, q, tol):
    """Same ring up to where it starts (bridged parts come back rotated to their bridge vertex)."""
    if p.shape != q.shape:
        return False
    starts = np.flatnonzero(np.abs(p - q[0]).max(axis=1) <= tol)
    return any(np.abs(np.roll(p, -k, axis=0) - q).max() <= tol for k in starts)


def _same_parts(a, b, tol):
    used = set()
    for p in a:
        match = next((j for j, q in enumerate(b) if j not in used and _cyclic_close(p, q, tol)), None)
        if match is None:
            return False
        used.add(match)
    return True


def test_read_yolo_without_yaml_needs_images(tmp_path):
    from anylabel.errors import FormatError

    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    with pytest.raises(FormatError, match="--images"):
        read_dataset("yolo-det", tmp_path / "labels")
    from formats_util import write_image

    write_image(tmp_path / "imgs" / "a.png", 100, 50)
    items, report = read_dataset("yolo-det", tmp_path / "labels", Options(images_dir=tmp_path / "imgs",
                                                                           labels=["thing"]))
    (s,) = items[0].annotation.shapes
    assert s.label == "thing" and s.shape_type == "rectangle"
    np.testing.assert_allclose(s.points, [(40, 20), (60, 30)])
