"""SA-1B per-image JSON: read directly, and labelled by `anylabel autolabel --masks existing`."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from anylabel.cli import main
from anylabel.errors import FormatError
from anylabel.formats.labelme import load_labelme
from anylabel.formats.sa1b import is_sa1b_dict, load_sa1b, sa1b_annotations
from anylabel.geometry import rle_decode, rle_encode
from anylabel.geometry.boxes import mask_to_box

STEM = "2011_000006"
EXPECTED = {1: "person", 2: "person", 3: "person", 4: "chair", 5: "person", 7: "sofa"}


def _sa1b_shard(voc_dir, folder):
    """An SA-1B style shard: the image and its JSON with one RLE per VOC object (no classes)."""
    objects = np.asarray(Image.open(voc_dir / "data_dataset_voc" / "SegmentationObject" / f"{STEM}.png"))
    h, w = objects.shape
    shutil.copy(voc_dir / "data_annotated" / f"{STEM}.jpg", folder / f"{STEM}.jpg")
    anns = []
    for oid in sorted(EXPECTED):
        m = objects == oid
        ys, xs = np.nonzero(m)
        anns.append({"id": 1000 + oid, "segmentation": rle_encode(m), "area": int(m.sum()),
                     "bbox": [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)],
                     "predicted_iou": 0.9 + oid / 100, "stability_score": 0.95,
                     "point_coords": [[float(xs[0]), float(ys[0])]],
                     "crop_box": [0, 0, w, h]})
    data = {"image": {"image_id": 6, "width": w, "height": h, "file_name": f"{STEM}.jpg"}, "annotations": anns}
    (folder / f"{STEM}.json").write_text(json.dumps(data))
    return objects


def test_read_sa1b(voc_dir, tmp_path):
    objects = _sa1b_shard(voc_dir, tmp_path)
    ann = load_sa1b(tmp_path / f"{STEM}.json")
    assert ann.size == objects.shape and ann.image_path == f"{STEM}.jpg"
    assert len(ann.shapes) == len(EXPECTED)
    for oid, shape, rle in zip(sorted(EXPECTED), ann.shapes, sa1b_annotations(ann)):
        m = objects == oid
        assert shape.shape_type == "mask" and shape.label == "" and shape.extra["sa1b_id"] == 1000 + oid
        assert shape.score == pytest.approx(0.9 + oid / 100)
        assert np.array_equal(rle_decode(rle), m)
        x1, y1, x2, y2 = mask_to_box(m)
        assert shape.points[0] == (x1, y1)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("image"), "not an SA-1B"),
    (lambda d: d["image"].pop("height"), "height, width and file_name"),
    (lambda d: d["annotations"][0]["segmentation"].update(counts=5), "corrupt RLE"),
    (lambda d: d["annotations"][0]["segmentation"].update(size=[10, 10]), "differs from the image size"),
    (lambda d: d["annotations"][0].pop("segmentation"), "annotation 0: needs a 'segmentation'"),
])
def test_bad_sa1b_files_name_the_problem(voc_dir, tmp_path, mutate, message):
    _sa1b_shard(voc_dir, tmp_path)
    path = tmp_path / f"{STEM}.json"
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(FormatError, match=message) as e:
        load_sa1b(path)
    assert e.value.path == path
    assert not is_sa1b_dict({"shapes": [], "image": {}, "annotations": []})


def test_autolabel_labels_an_sa1b_shard(voc_dir, tmp_path, capsys):
    shard, out = tmp_path / "shard", tmp_path / "out"
    shard.mkdir()
    objects = _sa1b_shard(voc_dir, shard)
    labelmap = voc_dir / "data_dataset_voc" / "SegmentationClass"
    assert main(["autolabel", str(shard), "--masks", "existing", "--semantic", f"labelmap:{labelmap}",
                 "-o", str(out)]) == 0
    ann = load_labelme(out / f"{STEM}.json")
    assert (out / ann.image_path).resolve() == (shard / f"{STEM}.jpg").resolve()
    assert [s.label for s in ann.shapes] == [EXPECTED[k] for k in sorted(EXPECTED)]
    for oid, shape in zip(sorted(EXPECTED), ann.shapes):
        assert np.array_equal(rle_decode(shape.mask), objects == oid)  # the mask survives exactly
        assert shape.score == pytest.approx(1.0) and shape.extra["mask_score"] == pytest.approx(0.9 + oid / 100)
        assert shape.extra["semantic"]["label"] == EXPECTED[oid]
        assert shape.extra["sa1b_id"] == 1000 + oid
    assert "1 labeled" in capsys.readouterr().out


def test_corrupt_rle_counts_fail_that_image_only(voc_dir, tmp_path, capsys):
    shard, out = tmp_path / "shard", tmp_path / "out"
    shard.mkdir()
    _sa1b_shard(voc_dir, shard)
    data = json.loads((shard / f"{STEM}.json").read_text())
    good = json.loads(json.dumps(data))
    data["annotations"][2]["segmentation"]["counts"] = "\x7f\x7f!!"
    (shard / f"{STEM}.json").write_text(json.dumps(data))
    good["image"]["file_name"] = "other.jpg"
    (shard / "other.json").write_text(json.dumps(good))
    labelmap = voc_dir / "data_dataset_voc" / "SegmentationClass" / f"{STEM}.png"
    maps = tmp_path / "maps"
    maps.mkdir()
    shutil.copy(labelmap, maps / "other.png")
    shutil.copy(voc_dir / "data_dataset_voc" / "class_names.txt", maps / "class_names.txt")
    assert main(["autolabel", str(shard), "--masks", "existing", "--semantic", f"labelmap:{maps}",
                 "-o", str(out)]) == 1
    text = capsys.readouterr().out
    assert "1 labeled" in text and "1 failed" in text
    assert f"{STEM}.json: shape 2 (mask): corrupt RLE" in text
    assert not (out / f"{STEM}.json").exists() and (out / "other.json").exists()
