"""`anylabel autolabel`: existing shapes (VOC restore), model masks, resume, failures, local vs Ray."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from anylabel.cli import main
from anylabel.errors import AnylabelError, FormatError, ModelError
from anylabel.formats.labelme import load_labelme
from anylabel.geometry import rle_decode
from anylabel.semantic.autolabel import AutolabelConfig, plan_tasks, preflight

STEMS = ["2011_000003", "2011_000006", "2011_000025"]


def _labelmap(voc_dir) -> Path:
    return voc_dir / "data_dataset_voc" / "SegmentationClass"


def _blanked_copies(voc_dir, folder: Path) -> dict:
    """Copies of labelme's VOC files (images too) with every label blanked; returns the true labels."""
    folder.mkdir()
    truth = {}
    for stem in STEMS:
        data = json.loads((voc_dir / "data_annotated" / f"{stem}.json").read_text())
        truth[stem] = [s["label"] for s in data["shapes"]]
        for s in data["shapes"]:
            s["label"] = ""
        (folder / f"{stem}.json").write_text(json.dumps(data))
        shutil.copy(voc_dir / "data_annotated" / f"{stem}.jpg", folder / f"{stem}.jpg")
    return truth


def test_cli_restores_every_label_of_the_blanked_voc_files(voc_dir, tmp_path, capsys):
    src, out = tmp_path / "blank", tmp_path / "out"
    truth = _blanked_copies(voc_dir, src)
    code = main(["autolabel", str(src), "--masks", "existing", "--semantic", f"labelmap:{_labelmap(voc_dir)}",
                 "--ignore-label", "__ignore__", "-o", str(out)])
    assert code == 0
    assert "3 labeled" in capsys.readouterr().out
    for stem in STEMS:
        original = load_labelme(voc_dir / "data_annotated" / f"{stem}.json")
        restored = load_labelme(out / f"{stem}.json")
        assert restored.labels() == truth[stem]
        assert [s.points for s in restored.shapes] == [s.points for s in original.shapes]  # geometry untouched
        assert [s.group_id for s in restored.shapes] == [s.group_id for s in original.shapes]
        assert (out / restored.image_path).resolve() == (src / f"{stem}.jpg").resolve()
        for shape in restored.shapes:
            assert 0.5 < shape.score <= 1.0
            assert shape.extra["semantic"]["proposals"][0]["label"] == shape.label
            assert shape.description.startswith(shape.label)
    # the input files were not touched
    assert json.loads((src / f"{STEMS[0]}.json").read_text())["shapes"][0]["label"] == ""


def test_existing_labels_are_kept_unless_overwrite(voc_dir, tmp_path):
    src = tmp_path / "blank"
    _blanked_copies(voc_dir, src)
    data = json.loads((src / "2011_000025.json").read_text())
    data["shapes"][0]["label"] = "my bus"
    (src / "2011_000025.json").write_text(json.dumps(data))
    base = ["autolabel", str(src), "--masks", "existing", "--semantic", f"labelmap:{_labelmap(voc_dir)}"]
    assert main(base + ["-o", str(tmp_path / "keep")]) == 0
    assert load_labelme(tmp_path / "keep" / "2011_000025.json").labels() == ["my bus", "bus", "car"]
    assert main(base + ["-o", str(tmp_path / "over"), "--overwrite-labels"]) == 0
    assert load_labelme(tmp_path / "over" / "2011_000025.json").labels() == ["bus", "bus", "car"]
    # without --ignore-label the __ignore__ region has no vote and stays unlabeled
    assert load_labelme(tmp_path / "keep" / "2011_000003.json").labels()[-1] == ""


def test_config_errors(tmp_path):
    with pytest.raises(AnylabelError, match="semantic branch"):
        AutolabelConfig(str(tmp_path), str(tmp_path / "o"))
    with pytest.raises(AnylabelError, match="must differ"):
        AutolabelConfig(str(tmp_path), str(tmp_path), masks="existing", semantic="labelmap:x")
    with pytest.raises(AnylabelError, match="input folder not found"):
        plan_tasks(AutolabelConfig(str(tmp_path / "nope"), str(tmp_path / "o"), semantic="labelmap:x"))
    assert main(["autolabel", str(tmp_path), "--semantic", "nonsense:x", "-o", str(tmp_path / "o")]) == 2
    # checks made before Ray workers start
    with pytest.raises(ModelError, match="no_such_model"):
        preflight(AutolabelConfig(str(tmp_path), str(tmp_path / "o"), model="no_such_model", semantic="labelmap:x"))
    with pytest.raises(FormatError, match="label-map folder not found"):
        preflight(AutolabelConfig(str(tmp_path), str(tmp_path / "o"), semantic=f"labelmap:{tmp_path / 'x'}"))


def _image_folder(voc_dir, folder: Path, stems=STEMS[:2]) -> None:
    """Half-size copies of the VOC images (the label maps stay full size: voting resizes them) + a corrupt one."""
    folder.mkdir()
    for stem in stems:
        img = Image.open(voc_dir / "data_annotated" / f"{stem}.jpg")
        img.resize((img.width // 2, img.height // 2)).save(folder / f"{stem}.jpg", quality=95)
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")


def _snapshot(folder: Path) -> dict:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.glob("*.json"))}


def test_model_masks_resume_and_a_corrupt_image(voc_dir, tmp_path, capsys):
    src, out = tmp_path / "images", tmp_path / "out"
    _image_folder(voc_dir, src)
    names = (voc_dir / "data_dataset_voc" / "class_names.txt").read_text().split("\n")
    args = ["autolabel", str(src), "--model", "classical", "--semantic", f"labelmap:{_labelmap(voc_dir)}",
            "-o", str(out)]
    assert main(args) == 1  # one image failed
    text = capsys.readouterr().out
    assert "2 labeled" in text and "1 failed" in text and "corrupt.jpg" in text
    assert "corrupt.jpg" in (out / "autolabel_failures.log").read_text()
    assert sorted(p.name for p in out.glob("*.json")) == [f"{s}.json" for s in STEMS[:2]]
    for stem in STEMS[:2]:
        ann = load_labelme(out / f"{stem}.json")
        assert ann.size == Image.open(src / f"{stem}.jpg").size[::-1]
        assert (out / ann.image_path).resolve() == (src / f"{stem}.jpg").resolve()
        assert ann.shapes, "the classical backend finds regions on every VOC image"
        for shape in ann.shapes:
            assert shape.label in names and shape.shape_type == "polygon" and len(shape.points) >= 3
            assert 0 < shape.score <= 1 and shape.extra["semantic"]["label"] == shape.label
        parts = [s.group_id for s in ann.shapes if s.group_id is not None]
        assert all(parts.count(g) > 1 for g in parts)  # a group_id only joins parts of one mask
    before = _snapshot(out)

    assert main(args) == 1  # resumed: the done images are skipped, the corrupt one is tried again
    text = capsys.readouterr().out
    assert "1 to label, 2 already done (skipped)" in text and "0 labeled" in text
    assert _snapshot(out) == before

    (src / "corrupt.jpg").unlink()
    assert main(args) == 0
    assert "0 to label" in capsys.readouterr().out
    assert not (out / "autolabel_failures.log").exists() and _snapshot(out) == before


def test_mask_output_and_dropped_labels(voc_dir, tmp_path):
    src, out = tmp_path / "images", tmp_path / "out"
    _image_folder(voc_dir, src, stems=STEMS[:1])
    (src / "corrupt.jpg").unlink()
    assert main(["autolabel", str(src), "--model", "classical", "--semantic", f"labelmap:{_labelmap(voc_dir)}",
                 "--output-type", "mask", "--drop-label", "_background_", "-o", str(out)]) == 0
    ann = load_labelme(out / f"{STEMS[0]}.json")
    assert ann.shapes and all(s.shape_type == "mask" and s.label != "_background_" for s in ann.shapes)
    for s in ann.shapes:
        m = rle_decode(s.mask)
        assert m.shape == ann.size and m.any()
        assert s.extra["semantic"]["proposals"][0]["label"] == s.label


def test_local_and_ray_engines_write_identical_files(voc_dir, random_models, tmp_path, capsys):
    pytest.importorskip("ray")
    src = tmp_path / "images"
    _image_folder(voc_dir, src)
    # the random FastSAM at a small network input, so both runs take seconds
    patch = tmp_path / "small.yaml"
    patch.write_text("models:\n  - {name: fastsam_s, settings: {conf: 0.001, imgsz: 256}}\n")
    common = ["autolabel", str(src), "--model", "fastsam_s", "--models", str(patch), "--semantic",
              f"labelmap:{_labelmap(voc_dir)}", "--top-k", "2"]
    assert main(common + ["-o", str(tmp_path / "local")]) == 1
    assert main(common + ["-o", str(tmp_path / "ray"), "--engine", "ray", "--num-cpus", "1"]) == 1
    text = capsys.readouterr().out
    assert text.count("2 labeled") == 2 and text.count("1 failed") == 2
    local = {p.name: p.read_bytes() for p in (tmp_path / "local").glob("*.json")}
    ray = {p.name: p.read_bytes() for p in (tmp_path / "ray").glob("*.json")}
    assert sorted(local) == [f"{s}.json" for s in STEMS[:2]]
    assert local == ray
    assert any(load_labelme(tmp_path / "local" / n).shapes for n in local)  # not trivially equal
