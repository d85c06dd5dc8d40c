"""`anylabel segment` and `anylabel everything` write valid LabelMe files."""
from __future__ import annotations

import json
from pathlib import Path

from anylabel.cli import main
from anylabel.formats.labelme import load_labelme


def test_segment_appends_polygons_with_the_label(voc_image_path: Path, voc_image, tmp_path: Path,
                                                random_models) -> None:
    out = tmp_path / "out" / "ann.json"
    out.parent.mkdir()
    args = [str(voc_image_path), "--point", "250,200", "--box", "150,100,350,350", "--label", "person",
            "-o", str(out)]
    assert main(["segment", *args, "--model", "classical"]) == 0
    ann = load_labelme(out)
    assert (ann.image_height, ann.image_width) == voc_image.shape[:2]
    assert (out.parent / ann.image_path).resolve() == voc_image_path.resolve()
    assert [s.label for s in ann.shapes] == ["person"] and ann.shapes[0].shape_type == "polygon"
    assert len(ann.shapes[0].points) >= 3
    # a random-weight SAM through ANYLABEL_MODELS, with a negative point and a negative box, appended
    assert main(["segment", *args, "--model", "sam_vit_b", "--point", "60,40,0", "--neg-box", "0,0,100,100",
                 "--label", "dog"]) == 0
    ann2 = load_labelme(out)
    assert ann2.shapes[0].points == ann.shapes[0].points  # the first shape is kept
    dogs = [s for s in ann2.shapes if s.label == "dog"]
    assert dogs and all(max(x for x, _ in s.points) >= 100 or max(y for _, y in s.points) >= 100 for s in dogs)
    if len(dogs) > 1:  # several parts of one mask share a group id
        assert len({s.group_id for s in dogs}) == 1 and dogs[0].group_id is not None


def test_segment_mask_output_and_default_model(voc_image_path: Path, voc_image, tmp_path: Path,
                                              random_models) -> None:
    out = tmp_path / "mask.json"
    assert main(["segment", str(voc_image_path), "-p", "250,200", "-l", "thing", "-o", str(out), "--mask"]) == 0
    ann = load_labelme(out)
    assert ann.shapes[0].shape_type == "mask" and ann.shapes[0].mask["size"] == list(voc_image.shape[:2])
    assert json.loads(out.read_text())["shapes"][0]["mask"]  # labelme's base64 PNG


def test_segment_user_errors_exit_2(voc_image_path: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "x.json"
    assert main(["segment", str(voc_image_path), "-p", "1,2,7", "-l", "a", "-o", str(out)]) == 2
    assert "must be 1 (object) or 0" in capsys.readouterr().err
    assert main(["segment", str(voc_image_path), "-p", "5,5,0", "-l", "a", "-o", str(out)]) == 2
    assert "nothing to segment" in capsys.readouterr().err
    assert main(["segment", str(tmp_path / "none.jpg"), "-p", "5,5", "-l", "a", "-o", str(out)]) == 2
    assert "no such image" in capsys.readouterr().err
    assert main(["segment", str(voc_image_path), "-p", "5,5", "-l", "a", "-o", str(out), "-m", "sam_vit_q"]) == 2
    assert "unknown model" in capsys.readouterr().err
    assert not out.exists()


def test_everything_writes_one_shape_group_per_object(voc_image_path: Path, tmp_path: Path,
                                                      random_models) -> None:
    out = tmp_path / "all.json"
    assert main(["everything", str(voc_image_path), "--model", "classical", "-o", str(out),
                 "--max-masks", "20"]) == 0
    ann = load_labelme(out)
    objects = {s.group_id if s.group_id is not None else id(s) for s in ann.shapes}
    assert 10 <= len(objects) <= 20
    assert all(s.label == "object" and len(s.points) >= 3 for s in ann.shapes)
    assert main(["everything", str(voc_image_path), "--model", "fastsam_s", "-o", str(out)]) == 0
    assert len(load_labelme(out).shapes) > len(ann.shapes)


def test_segment_waits_for_another_writer_and_keeps_its_shape(voc_image_path: Path, tmp_path: Path) -> None:
    """segment's read-modify-write holds the file's lock: a writer that loaded the file before it and saves
    after it (the GUI, another command) is neither overwritten nor overwrites segment's shape."""
    import threading
    import time

    from anylabel.document import Shape
    from anylabel.filelock import locked
    from anylabel.formats.labelme import save_labelme

    out = tmp_path / "ann.json"
    base = [str(voc_image_path), "--point", "250,200", "--box", "150,100,350,350", "--model", "classical",
            "-o", str(out)]
    assert main(["segment", *base, "--label", "first"]) == 0
    holding = threading.Event()

    def other_writer() -> None:
        with locked(out):
            ann = load_labelme(out)  # loaded before segment runs ...
            holding.set()
            time.sleep(1.0)
            ann.shapes.append(Shape(label="other", points=[(1.0, 1.0), (9.0, 1.0), (9.0, 9.0)]))
            save_labelme(ann, out)  # ... saved after segment would have saved without the lock

    writer = threading.Thread(target=other_writer)
    writer.start()
    assert holding.wait(10)
    try:
        assert main(["segment", *base, "--label", "second"]) == 0
    finally:
        writer.join()
    assert [s.label for s in load_labelme(out).shapes] == ["first", "other", "second"]
