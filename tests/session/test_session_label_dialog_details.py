"""The session methods behind the label dialog's details (issue 15 GUI part B), headless: ``details.describe`` for
new shapes, ``details.edit_shapes`` for Change label (one undo step), ``assist.keep_candidate_at`` with details."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anylabel.backends import MaskCandidate
from anylabel.config import Config
from anylabel.document import Shape
from anylabel.session import AnnotationSession
from anylabel.session.details import InvalidAttribute


@pytest.fixture
def session(tmp_path: Path) -> AnnotationSession:
    Image.fromarray(np.full((60, 80, 3), 90, np.uint8)).save(tmp_path / "a.png")
    config = Config(attributes={"color": ["red", "white"]}, label_attributes={"car": {"doors": ["2", "4"]}},
                    shape_flags=["occluded"])
    s = AnnotationSession(config=config)
    s.load(s.open(tmp_path / "a.png"))
    return s


def test_describe_checks_attributes_against_each_shapes_label(session):
    car, dog = Shape("car", [(1, 1), (9, 1), (9, 9)]), Shape("dog", [(1, 1), (9, 1), (9, 9)])
    out = session.details.describe([car], flags={"occluded": 1}, attributes={"doors": "4"}, difficult=True)
    assert out == [car] and car.flags == {"occluded": True} and car.attributes == {"doors": "4"} and car.difficult
    with pytest.raises(InvalidAttribute, match="doors"):
        session.details.describe([dog], attributes={"doors": "4"})  # a dog has no doors in the settings
    session.details.describe([dog])  # None: nothing changes
    assert dog.flags == {} and dog.attributes == {} and not dog.difficult


def test_edit_shapes_is_one_undo_step_and_keeps_foreign_values(session):
    s = session
    sid = s.add_shapes([Shape("car", [(1, 1), (9, 1), (9, 9)], attributes={"pose": "side"}, difficult=True)])[0]
    s.details.edit_shapes([sid], label="car", flags={"occluded": True}, attributes={"pose": "side", "doors": "2"},
                          difficult=False)
    shape = s.shape(sid)
    assert shape.attributes == {"pose": "side", "doors": "2"} and shape.flags == {"occluded": True}
    assert not shape.difficult
    with pytest.raises(InvalidAttribute, match="'5' is not a choice"):
        s.details.edit_shapes([sid], attributes={"doors": "5"})
    assert s.undo_shapes()
    back = s.shape(sid)
    assert back.attributes == {"pose": "side"} and back.difficult and back.flags == {}
    s.details.edit_shapes([sid], label="truck", group_id=3, set_group=True)
    assert (s.shape(sid).label, s.shape(sid).group_id, s.last_label) == ("truck", 3, "truck")


def test_keep_candidate_at_takes_the_dialogs_details(session):
    s = session
    mask = np.zeros((60, 80), bool)
    mask[10:40, 10:50] = True
    s.assist.set_everything([MaskCandidate(mask, 0.9, None, (10, 10, 50, 40))])
    sid = s.assist.keep_candidate_at(20, 20, "car", group_id=7, description="parked", flags={"occluded": True},
                                     attributes={"color": "red"}, difficult=True)
    shape = s.shape(sid)
    assert (shape.label, shape.group_id, shape.description) == ("car", 7, "parked")
    assert shape.flags == {"occluded": True} and shape.attributes == {"color": "red"} and shape.difficult
    assert s.assist.candidates == []
