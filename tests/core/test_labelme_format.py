"""LabelMe JSON: round trips of labelme's own files, labelme's loader on what we write, bad input."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from anylabel.document import ImageAnnotation, Shape
from anylabel.errors import AnylabelError, FormatError
from anylabel.formats.labelme import labelme_to_dict, load_labelme, save_labelme
from anylabel.geometry import rle_decode, rle_encode

VOC_NAMES = ["2011_000003", "2011_000006", "2011_000025"]


@pytest.fixture()
def voc_copy(voc_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "voc"
    shutil.copytree(voc_dir / "data_annotated", out)
    return out


@pytest.mark.parametrize("name", VOC_NAMES)
def test_voc_round_trip_keeps_labels_points_groups_and_size(voc_copy: Path, tmp_path: Path, name: str) -> None:
    src = voc_copy / f"{name}.json"
    raw = json.loads(src.read_text())
    ann = load_labelme(src)
    assert (ann.image_height, ann.image_width) == (raw["imageHeight"], raw["imageWidth"])
    assert len(ann.shapes) == len(raw["shapes"])

    out = voc_copy / f"{name}.roundtrip.json"
    save_labelme(ann, out)
    again = load_labelme(out)
    assert again.image_path == raw["imagePath"]
    assert (again.image_height, again.image_width) == (raw["imageHeight"], raw["imageWidth"])
    for shape, raw_shape in zip(again.shapes, raw["shapes"]):
        assert shape.label == raw_shape["label"]
        assert shape.group_id == raw_shape["group_id"]
        assert shape.shape_type == raw_shape["shape_type"]
        # exactly: every coordinate survives the float -> JSON -> float trip bit for bit
        assert [list(p) for p in shape.points] == raw_shape["points"]


@pytest.mark.parametrize("name", VOC_NAMES)
def test_labelme_own_loader_reads_what_we_write(voc_copy: Path, name: str) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    label_file = pytest.importorskip("labelme._label_file")
    ann = load_labelme(voc_copy / f"{name}.json")
    ann.shapes[0].track_id = 7
    ann.shapes[0].score = 0.875
    out = voc_copy / f"{name}.ours.json"
    save_labelme(ann, out)

    theirs = label_file.LabelFile(str(out))
    assert [s["label"] for s in theirs.shapes] == ann.labels()
    assert [s["group_id"] for s in theirs.shapes] == [s.group_id for s in ann.shapes]
    assert theirs.shapes[0]["points"] == [list(p) for p in ann.shapes[0].points]
    # our additions travel in labelme's "other data" and survive labelme's own save
    assert theirs.shapes[0]["other_data"] == {"track_id": 7, "score": 0.875}
    resaved = voc_copy / f"{name}.labelme-resaved.json"
    label_file.write_label_file(
        str(resaved), shapes=[_labelme_shape_to_json(s) for s in theirs.shapes], image_path=theirs.image_path,
        image_height=ann.image_height, image_width=ann.image_width, other_data=theirs.other_data,
        flags=theirs.flags)
    back = load_labelme(resaved)
    assert back.shapes[0].track_id == 7 and back.shapes[0].score == pytest.approx(0.875)


def _labelme_shape_to_json(s: dict) -> dict:
    d = {k: s[k] for k in ("label", "points", "group_id", "shape_type", "flags", "description")}
    d["mask"] = None
    d.update(s["other_data"])
    return d


def test_unknown_keys_are_kept_on_round_trip(tmp_path: Path) -> None:
    data = {
        "version": "5.5.0", "flags": {"night": True}, "imagePath": "a.jpg", "imageData": None,
        "imageHeight": 10, "imageWidth": 20, "customTop": {"reviewer": "kim"},
        "shapes": [{"label": "cat", "points": [[1, 2], [5, 2], [5, 6]], "group_id": None,
                    "shape_type": "polygon", "flags": {}, "attributes": {"occluded": True}}],
    }
    src = tmp_path / "a.json"
    src.write_text(json.dumps(data))
    save_labelme(load_labelme(src), tmp_path / "b.json")
    out = json.loads((tmp_path / "b.json").read_text())
    assert out["customTop"] == {"reviewer": "kim"}
    assert out["flags"] == {"night": True}
    assert out["shapes"][0]["attributes"] == {"occluded": True}


def test_mask_shape_is_written_as_labelme_png_and_read_back(tmp_path: Path) -> None:
    mask = np.zeros((40, 60), dtype=bool)
    mask[10:20, 15:45] = True
    mask[12:14, 20:22] = False  # a hole survives in mask shapes
    ann = ImageAnnotation("img.png", 40, 60, [Shape("blob", [(15, 10), (44, 19)], "mask", mask=rle_encode(mask))])
    save_labelme(ann, tmp_path / "m.json")
    raw = json.loads((tmp_path / "m.json").read_text())
    assert isinstance(raw["shapes"][0]["mask"], str)  # base64 PNG, as labelme writes it
    assert raw["shapes"][0]["points"] == [[15.0, 10.0], [44.0, 19.0]]
    back = load_labelme(tmp_path / "m.json")
    np.testing.assert_array_equal(rle_decode(back.shapes[0].mask), mask)


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2, 3]", "top level is a list"),
        (b'{"shapes": []}', "missing key(s) 'imagePath'"),
        (b'{"shapes": {}, "imagePath": "a.jpg", "imageHeight": 1, "imageWidth": 1}', "'shapes' must be a list"),
        (b'{"shapes": [{"label": "a", "points": [[1]]}], "imagePath": "a.jpg", "imageHeight": 5, "imageWidth": 5}',
         "shape 0: points must be a list of [x, y]"),
        # the points are converted and checked as one array: every malformed shape is still named
        *[(b'{"shapes": [{"label": "a", "points": %s}], "imagePath": "a.jpg", "imageHeight": 5, "imageWidth": 5}'
           % pts, "shape 0: points must be a list of [x, y]")
          for pts in (b"[[1, 2, 3]]", b"[[]]", b"[[1, 2], [3]]", b"[[[1, 2]]]", b'"12"', b"5", b"null",
                      b'[{"x": 1, "y": 2}]', b'[[1, "a"]]')],
        (b'{"shapes": [{"label": "a", "points": [], "shape_type": "blob"}], "imagePath": "a.jpg", '
         b'"imageHeight": 5, "imageWidth": 5}', "shape 0: unknown shape_type 'blob'"),
        (b'{"shapes": [], "imagePath": "a.jpg", "imageHeight": -3, "imageWidth": 5}', "invalid image size"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"shapes": [], "imagePath": "a.jpg", "imageHeight": 100000, "imageWidth": 100000}', "larger than"),
        (b'{"shapes": [], "imagePath": "a.jpg", "imageHeight": 5, "imageWidth": 5, "frame_index": 1e999}',
         "'frame_index' must be a non-negative integer"),
        (b'{"shapes": [{"label": "a", "points": [[1, 2]], "track_id": "x"}], "imagePath": "a.jpg", '
         b'"imageHeight": 5, "imageWidth": 5}', "shape 0: track_id must be an integer"),
        (b'{"shapes": [{"label": "a", "points": [[NaN, 2]]}], "imagePath": "a.jpg", '
         b'"imageHeight": 5, "imageWidth": 5}', "shape 0: points must be finite"),
        (b'{"shapes": [], "imagePath": "a.jpg", "imageHeight": 5, "imageWidth": 5, "imageData": 3}',
         "'imageData' must be a base64 string"),
    ],
)
def test_bad_files_raise_format_error_naming_file_and_problem(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(FormatError) as e:
        load_labelme(path)
    assert e.value.path == path
    assert str(path) in str(e.value)
    assert reason in str(e.value)


def test_missing_file_raises_format_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="cannot read"):
        load_labelme(tmp_path / "nope.json")


def test_failed_write_leaves_existing_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "keep.json"
    ann = ImageAnnotation("a.jpg", 5, 5, [Shape("ok", [(0, 0), (4, 0), (4, 4)])])
    save_labelme(ann, path)
    before = path.read_bytes()
    broken = ImageAnnotation("a.jpg", 5, 5, [Shape("bad", [(0, 0), (4, 0), (4, 4)], extra={"x": object()})])
    with pytest.raises(AnylabelError, match="cannot serialise"):
        save_labelme(broken, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.json"]  # no temporary file left behind


def test_write_into_unwritable_folder_names_the_file(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root ignores permissions: make the parent a file instead, which nobody can write into
        blocker = tmp_path / "not_a_dir"
        blocker.write_text("x")
        target = blocker / "out.json"
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
        target = folder / "out.json"
    with pytest.raises(AnylabelError) as e:
        save_labelme(ImageAnnotation("a.jpg", 5, 5), target)
    assert str(target) in str(e.value)


def test_interrupted_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk or a crash mid-write: os.replace never runs, the old file stays whole."""
    path = tmp_path / "a.json"
    save_labelme(ImageAnnotation("a.jpg", 5, 5, [Shape("old", [(0, 0), (1, 0), (1, 1)])]), path)
    before = path.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(AnylabelError, match="No space left on device") as e:
        save_labelme(ImageAnnotation("a.jpg", 5, 5, [Shape("new", [(0, 0), (1, 0), (1, 1)])]), path)
    assert e.value.path == path
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_labelme_to_dict_uses_labelme_keys() -> None:
    d = labelme_to_dict(ImageAnnotation("x/y.jpg", 3, 4, [Shape("a", [(0, 0)], "point", group_id=2)]))
    assert list(d)[:7] == ["version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth"]
    assert d["shapes"][0]["group_id"] == 2 and d["shapes"][0]["shape_type"] == "point"
