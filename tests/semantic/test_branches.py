"""The semantic branches and the --semantic spec parser."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from semantic_testutil import write_palette_png

from anylabel.errors import AnylabelError, FormatError, ModelError
from anylabel.semantic import parse_semantic_spec, read_names
from anylabel.semantic.labelmap import LabelMapBranch, read_label_png
from anylabel.semantic.spec import split_spec
from anylabel.semantic.yolo_branch import rasterise_instances


@pytest.fixture
def maps(tmp_path):
    folder = tmp_path / "maps"
    folder.mkdir()
    (folder / "class_names.txt").write_text("_background_\ncat\n\ndog\n\n\n", encoding="utf-8")
    ids = np.zeros((6, 8), np.uint8)
    ids[:, 4:] = 3
    ids[0, 0] = 255
    write_palette_png(folder / "a.png", ids)
    Image.fromarray(ids, mode="L").save(folder / "b.png")
    Image.fromarray((ids.astype(np.int32) * 100).astype(np.uint16)).save(folder / "c.png")
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(folder / "rgb.png")
    return folder, ids


def test_names_file_keeps_inner_blank_lines_and_drops_trailing_ones(maps, tmp_path):
    folder, _ = maps
    assert read_names(folder / "class_names.txt") == ["_background_", "cat", "", "dog"]
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(FormatError, match="empty"):
        read_names(tmp_path / "empty.txt")
    with pytest.raises(FormatError, match="cannot read"):
        read_names(tmp_path / "missing.txt")


def test_labelmap_reads_palette_gray_and_16bit_pngs(maps):
    folder, ids = maps
    branch = parse_semantic_spec(f"labelmap:{folder}")
    assert isinstance(branch, LabelMapBranch) and not branch.needs_image
    assert branch.name == f"labelmap:{folder}" and branch.ignore_ids == (255,)
    cm, names = branch.class_map(None, folder.parent / "photos" / "a.jpg")
    assert cm.dtype == np.int32 and np.array_equal(cm, ids) and names[3] == "dog"
    cm_b, _ = branch.class_map(None, "b.jpeg")
    assert np.array_equal(cm_b, ids)
    cm_c = read_label_png(folder / "c.png")
    assert np.array_equal(cm_c, ids.astype(np.int32) * 100)
    with pytest.raises(FormatError, match="one class id per pixel") as e:
        read_label_png(folder / "rgb.png")
    assert e.value.path == folder / "rgb.png"
    with pytest.raises(FormatError, match="no label map for image zzz.jpg"):
        branch.class_map(None, "zzz.jpg")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(FormatError, match="cannot read the label map"):
        branch.class_map(None, "broken.jpg")


def test_labelmap_finds_names_in_the_parent_like_labelme2voc(voc_dir, tmp_path):
    branch = LabelMapBranch(voc_dir / "data_dataset_voc" / "SegmentationClass")
    assert branch.names[0] == "_background_" and branch.names[15] == "person" and len(branch.names) == 21
    empty = tmp_path / "nothing"
    empty.mkdir()
    with pytest.raises(FormatError, match="class_names.txt"):
        LabelMapBranch(empty)
    with pytest.raises(FormatError, match="not found"):
        LabelMapBranch(tmp_path / "missing")
    names = tmp_path / "names.txt"
    names.write_text("a\nb\n")
    assert LabelMapBranch(empty, names_file=names).names == ["a", "b"]


def test_spec_parser_errors():
    assert split_spec("labelmap:C:\\maps") == ("labelmap", "C:\\maps")
    assert split_spec(" HF:/models/x ") == ("hf", "/models/x")
    for bad in ("labelmap", "labelmap:", "mask2former:/x", ""):
        with pytest.raises(AnylabelError):
            split_spec(bad)
    with pytest.raises(ModelError, match="not found"):
        parse_semantic_spec("yolo:/nonexistent/model.pt")
    with pytest.raises(ModelError, match="config.json"):
        parse_semantic_spec("hf:/nonexistent")


def test_rasterise_instances_most_confident_wins():
    a = np.zeros((4, 4), bool)
    a[:3, :3] = True
    b = np.zeros((4, 4), bool)
    b[1:, 1:] = True
    cm = rasterise_instances([a, b], classes=[0, 5], scores=[0.9, 0.3], size=(4, 4))
    assert cm[0, 0] == 1 and cm[1, 1] == 1 and cm[3, 3] == 6 and cm[3, 0] == 0
    cm = rasterise_instances([a, b], classes=[0, 5], scores=[0.3, 0.9], size=(4, 4))
    assert cm[1, 1] == 6 and cm[0, 0] == 1
    assert rasterise_instances([], [], [], (2, 3)).shape == (2, 3)


def test_yolo_branch_with_random_weights(yolo_seg_model, tmp_path):
    branch = parse_semantic_spec(f"yolo:{yolo_seg_model}")
    branch.conf, branch.imgsz = 1e-6, 64  # random weights: accept every detection; tiny input for speed
    assert branch.names[0] == "background" and len(branch.names) == 81 and branch.needs_image
    image = (np.random.default_rng(0).random((48, 72, 3)) * 255).astype(np.uint8)
    cm, names = branch.class_map(image)
    assert cm.shape == (48, 72) and cm.dtype == np.int32
    assert cm.min() >= 0 and cm.max() < len(names)
    assert (cm > 0).any()  # with conf ~0 some instance was rasterised
    Image.fromarray(image).save(tmp_path / "img.png")
    cm2, _ = branch.class_map(None, tmp_path / "img.png")
    assert np.array_equal(cm, cm2)  # from the path, the same pixels give the same map
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ModelError):
        parse_semantic_spec(f"yolo:{tmp_path / 'junk.pt'}")


def test_hf_segformer_branch(segformer_dir):
    branch = parse_semantic_spec(f"hf:{segformer_dir}")
    assert branch.names == ["sky", "road", "car", "person"]
    image = (np.random.default_rng(1).random((40, 50, 3)) * 255).astype(np.uint8)
    cm, names = branch.class_map(image)
    assert cm.shape == (40, 50) and cm.dtype == np.int32
    assert cm.min() >= 0 and cm.max() < 4
    from anylabel.semantic.voting import vote_masks

    votes = vote_masks([np.ones((40, 50), bool)], cm, names)
    assert votes[0].label in names and votes[0].pixels == 2000
