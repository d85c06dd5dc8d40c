"""End to end through the CLI: `anylabel autolabel --classifier clip:NAME --vocab ...` (existing shapes and
model masks) and `anylabel segment IMAGE --text ...`, with the small random-weight CLIP.

Random weights: these check that every stage runs and writes what it must (labels from the vocabulary,
the classifier's proposals recorded, a mask chosen among the everything masks), not that labels are right.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from anylabel.cli import main, subcommands

VOCAB = ["person", "bottle", "chair", "dining table", "sofa"]


def _blank_voc_copy(voc_dir: Path, dest: Path) -> Path:
    dest.mkdir()
    for src in sorted((voc_dir / "data_annotated").glob("*.json")):
        data = json.loads(src.read_text(encoding="utf-8"))
        for shape in data["shapes"]:
            shape["label"] = ""
        (dest / src.name).write_text(json.dumps(data), encoding="utf-8")
        shutil.copy(src.with_suffix(".jpg"), dest / src.with_suffix(".jpg").name)
    return dest


def test_autolabel_existing_shapes_with_clip_vocabulary(tmp_path, voc_dir, clip_models_file, capsys):
    src = _blank_voc_copy(voc_dir, tmp_path / "in")
    vocab_file = tmp_path / "vocab.txt"
    vocab_file.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    code = main(["autolabel", str(src), "--masks", "existing", "--classifier", "clip:clip_vit_b32",
                 "--vocab", str(vocab_file), "--models", str(clip_models_file), "-o", str(out), "--top-k", "2"])
    assert code == 0, capsys.readouterr()
    files = sorted(out.glob("*.json"))
    assert [f.name for f in files] == sorted(p.name for p in src.glob("*.json"))
    n_shapes = 0
    for f in files:
        data = json.loads(f.read_text(encoding="utf-8"))
        for shape in data["shapes"]:
            n_shapes += 1
            assert shape["label"] in VOCAB
            clf = shape["classifier"]
            assert clf["source"] == "clip" and clf["label"] == shape["label"]
            assert [p["label"] for p in clf["proposals"]][0] == shape["label"] and len(clf["proposals"]) == 2
            assert 0.0 < shape["score"] <= 1.0
    assert n_shapes > 0
    # A second run skips everything (resumable).
    code = main(["autolabel", str(src), "--masks", "existing", "--classifier", "clip:clip_vit_b32",
                 "--vocab", ",".join(VOCAB), "--models", str(clip_models_file), "-o", str(out)])
    assert code == 0 and "0 labeled" in capsys.readouterr().out


def test_autolabel_clip_filters_the_semantic_vote(tmp_path, voc_dir, clip_models_file):
    """--semantic + --classifier: CLIP ranks each shape's semantic proposals ∪ the vocabulary (SSA-engine)."""
    src = _blank_voc_copy(voc_dir, tmp_path / "in")
    seg_class = voc_dir / "data_dataset_voc" / "SegmentationClass"
    names = voc_dir / "data_dataset_voc" / "class_names.txt"
    out = tmp_path / "out"
    code = main(["autolabel", str(src), "--masks", "existing", "--semantic", f"labelmap:{seg_class}",
                 "--names", str(names), "--classifier", "clip:clip_vit_b32", "--vocab", "zebra",
                 "--models", str(clip_models_file), "-o", str(out)])
    assert code == 0
    checked = 0
    for f in out.glob("*.json"):
        for shape in json.loads(f.read_text(encoding="utf-8"))["shapes"]:
            if not shape.get("semantic", {}).get("label"):
                continue
            allowed = {p["label"] for p in shape["semantic"]["proposals"]} | {"zebra"}
            assert shape["label"] in allowed
            assert {p["label"] for p in shape["classifier"]["proposals"]} <= allowed
            checked += 1
    assert checked >= 5  # the VOC files have more objects than that, all voted by the class maps


def test_autolabel_model_masks_with_clip_vocabulary(tmp_path, voc_dir, clip_models_file, capsys):
    """--masks model: the classical backend's everything masks (no download), labelled by CLIP."""
    src = tmp_path / "images"
    src.mkdir()
    shutil.copy(voc_dir / "data_annotated" / "2011_000003.jpg", src / "a.jpg")
    out = tmp_path / "out"
    code = main(["autolabel", str(src), "--model", "classical", "--classifier", "clip:clip_vit_b32",
                 "--vocab", "person, bottle, chair", "--models", str(clip_models_file), "-o", str(out)])
    assert code == 0, capsys.readouterr()
    data = json.loads((out / "a.json").read_text(encoding="utf-8"))
    assert data["shapes"], "the everything masks were all dropped"
    for shape in data["shapes"]:
        assert shape["label"] in ("person", "bottle", "chair")
        assert shape["shape_type"] == "polygon" and len(shape["points"]) >= 3
        assert shape["classifier"]["label"] == shape["label"]


def test_autolabel_rejects_a_missing_vocabulary_file(tmp_path, voc_dir, clip_models_file, capsys):
    src = _blank_voc_copy(voc_dir, tmp_path / "in")
    code = main(["autolabel", str(src), "--masks", "existing", "--classifier", "clip:clip_vit_b32",
                 "--vocab", str(tmp_path / "nope.txt"), "--models", str(clip_models_file), "-o", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert "nope.txt" in err and "vocabulary file not found" in err


@pytest.mark.skipif("segment" not in subcommands(), reason="anylabel segment is not there yet")
def test_segment_text_prompt_writes_the_best_matching_mask(tmp_path, voc_dir, clip_models_file, capsys):
    """The classical backend's everything masks (no download), the best match for the text written."""
    image = voc_dir / "data_annotated" / "2011_000003.jpg"
    out = tmp_path / "out.json"
    args = ["segment", str(image), "--model", "classical", "--text", "person", "--clip", "clip_vit_b32",
            "--models", str(clip_models_file), "-o", str(out)]
    assert main(args) == 0, capsys.readouterr()
    data = json.loads(out.read_text(encoding="utf-8"))
    assert len(data["shapes"]) >= 1
    first = data["shapes"][0]
    assert first["label"] == "person" and first["shape_type"] == "polygon" and len(first["points"]) >= 3
    match = first["text_prompt"]
    assert match["text"] == "person" and match["clip"] == "clip_vit_b32" and match["candidates"] >= 1
    assert 0.0 < match["probability"] <= 1.0 and -1.0 <= match["similarity"] <= 1.0
    # Appending: a second text with an explicit label adds shapes and keeps the first ones.
    assert main(args[:5] + ["red car", "--label", "car"] + args[6:]) == 0
    again = json.loads(out.read_text(encoding="utf-8"))["shapes"]
    assert again[: len(data["shapes"])] == data["shapes"] and again[-1]["label"] == "car"


@pytest.mark.skipif("segment" not in subcommands(), reason="anylabel segment is not there yet")
def test_segment_text_cannot_be_mixed_with_points(tmp_path, voc_dir, clip_models_file, capsys):
    image = voc_dir / "data_annotated" / "2011_000003.jpg"
    code = main(["segment", str(image), "--model", "classical", "--text", "person", "--point", "10,10",
                 "--models", str(clip_models_file), "-o", str(tmp_path / "o.json")])
    assert code == 2 and "cannot be combined" in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()
