"""Voting on real data: labelme's VOC export as the semantic branch, its object instances as the masks."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from anylabel.formats.labelme import load_labelme
from anylabel.geometry import mask_iou, shape_to_mask
from anylabel.semantic.labelmap import LabelMapBranch
from anylabel.semantic.proposers import SemanticVoter

STEMS = ["2011_000003", "2011_000006", "2011_000025"]


def _labelme_instances(json_path):
    """labelme's instances: shapes grouped by (label, group_id), rasterised like labelme."""
    ann = load_labelme(json_path)
    instances = {}
    for i, s in enumerate(ann.shapes):
        key = (s.label, s.group_id if s.group_id is not None else f"shape{i}")
        m = shape_to_mask(s.shape_type, s.points, ann.size)
        instances[key] = instances.get(key, np.zeros(ann.size, bool)) | m
    return instances


@pytest.mark.parametrize("stem", STEMS)
def test_every_voc_object_gets_its_labelme_class(voc_dir, stem):
    voc = voc_dir / "data_dataset_voc"
    branch = LabelMapBranch(voc / "SegmentationClass")
    assert branch.names_file == voc / "class_names.txt" and branch.ignore_ids == (255,)
    voter = SemanticVoter(branch)
    image_path = voc_dir / "data_annotated" / f"{stem}.jpg"
    objects = np.asarray(Image.open(voc / "SegmentationObject" / f"{stem}.png")).astype(np.int32)
    ids = [int(i) for i in np.unique(objects) if i not in (0, 255)]
    masks = [objects == i for i in ids]
    votes = voter.propose(masks, None, image_path)

    instances = _labelme_instances(voc_dir / "data_annotated" / f"{stem}.json")
    expected_objects = [k for k in instances if k[0] != "__ignore__"]
    assert len(ids) == len(expected_objects)
    matched = set()
    for mask, vote in zip(masks, votes):
        # the labelme instance this object came from: the one it overlaps best
        key = max(instances, key=lambda k: mask_iou(mask, instances[k]))
        assert mask_iou(mask, instances[key]) > 0.5
        matched.add(key)
        assert vote.label == key[0], f"object of {key} voted {vote.label}"
        assert vote.confidence > 0.9 and vote.proposals[0].label == key[0]
    assert matched == set(expected_objects)
