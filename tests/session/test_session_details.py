"""session.details (flags, attributes, difficult, image flags, tags, checked), session.review (next unchecked over
the folder) and the view adjustment: undoable where they change the annotation, round-trips through save + reopen."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anylabel.config import Config
from anylabel.document import Shape
from anylabel.session import AnnotationSession
from anylabel.session.details import InvalidAttribute


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, value in (("a.png", 90), ("b.png", 30), ("c.png", 150), ("d.png", 200)):
        Image.fromarray(np.full((40, 60, 3), value, np.uint8)).save(tmp_path / name)
    return tmp_path


@pytest.fixture
def session(folder: Path) -> AnnotationSession:
    config = Config(attributes={"color": ["red", "white"]}, label_attributes={"car": {"doors": ["2", "4"]}},
                    shape_flags=["occluded"], image_flags=["night"])
    s = AnnotationSession(config=config)
    s.load(s.open(folder / "a.png"))
    s.add_shapes([Shape("car", [(1, 1), (20, 1), (20, 20)]), Shape("dog", [(30, 1), (50, 1), (50, 20)])])
    return s


def test_shape_details_are_undoable_and_round_trip(session, folder):
    s = session
    car, dog = (sh.id for sh in s.shapes)
    events = []
    s.shapes_changed.connect(events.append)
    s.details.set_shape_flags(car, {"occluded": True})
    s.details.set_attributes(car, {"color": "red", "doors": "4"})
    s.details.set_difficult(dog, True)
    assert [e.ids for e in events] == [(car,), (car,), (dog,)]
    assert s.shape(car).flags == {"occluded": True} and s.shape(car).attributes == {"color": "red", "doors": "4"}
    s.save()
    reopened = AnnotationSession()
    reopened.load(reopened.open(folder / "a.png"))
    c, d = reopened.shapes
    assert (c.flags, c.attributes, d.difficult) == ({"occluded": True}, {"color": "red", "doors": "4"}, True)
    assert s.undo_shapes() and not s.shape(dog).difficult
    assert s.undo_shapes() and s.shape(car).attributes == {}
    assert s.redo_shapes() and s.shape(car).attributes == {"color": "red", "doors": "4"}


def test_a_wrong_attribute_names_the_attribute_and_the_choices(session):
    s = session
    car, dog = (sh.id for sh in s.shapes)
    with pytest.raises(InvalidAttribute, match=r"'blue' is not a choice of attribute 'color'.*allowed: red, white"):
        s.details.set_attributes(car, {"color": "blue"})
    with pytest.raises(InvalidAttribute, match=r"no attribute 'doors' for label 'dog'.*attributes: color"):
        s.details.set_attributes(dog, {"doors": "2"})  # doors is for cars only
    assert s.shape(car).attributes == {} and not s.history.undo_text.startswith("edit attr")


def test_image_details_are_undoable_and_round_trip_in_labelmes_places(session, folder):
    s = session
    selected = s.selected
    s.details.set_image_flags({"night": True})
    s.details.set_tags(["rain", " blur ", "rain", ""])
    assert s.details.toggle_checked() is True
    assert (s.annotation.flags, s.annotation.tags, s.annotation.checked) == ({"night": True}, ["rain", "blur"], True)
    assert s.dirty and s.selected == selected
    path = s.save()
    data = json.loads(path.read_text())
    assert data["flags"] == {"night": True} and data["tags"] == ["rain", "blur"] and data["checked"] is True
    reopened = AnnotationSession()
    reopened.load(reopened.open(folder / "a.png"))
    assert (reopened.annotation.flags, reopened.annotation.tags, reopened.annotation.checked) == (
        {"night": True}, ["rain", "blur"], True)
    assert s.undo_shapes() and not s.annotation.checked and s.annotation.tags == ["rain", "blur"]
    assert s.undo_shapes() and s.annotation.tags == []
    assert s.undo_shapes() and s.annotation.flags == {} and s.selected == selected
    assert s.redo_shapes() and s.annotation.flags == {"night": True}


def test_next_unchecked_walks_the_folder_and_sees_each_save(session, folder):
    s = session  # shows a.png (row 0)
    (folder / "c.json").write_text("not json")  # unreadable: counts as unchecked, so review leads to it
    assert s.review.next_unchecked() == 1 and s.review.next_unchecked(backwards=True) == 3
    s.load(1)
    s.details.set_checked(True)
    s.save()
    s.load(3)
    s.details.set_checked(True)
    s.save()
    s.load(0)
    assert s.review.next_unchecked() == 2 and s.review.next_unchecked(backwards=True) == 2
    assert s.review.count_checked() == 2
    s.details.set_checked(True)  # not saved yet: the shown image counts as in the session
    assert s.review.count_checked() == 3
    s.load(1)
    s.details.set_checked(False)
    s.save()  # the saved file is read afresh, not from the cache
    s.load(0)
    assert s.review.next_unchecked() == 1


def test_view_adjustment_is_display_only(session):
    s = session
    image = s.image.copy()
    fired = []
    s.view.adjustment_changed.connect(fired.append)
    s.view.set_adjustment(brightness=0.2, gamma=1.5)
    shown = s.view.display_image(s.image)
    assert fired and shown.mean() > image.mean() and np.array_equal(s.image, image)
    assert s.history.undo_text == "add shapes"  # the adjustment is no undo step
    s.save()
    assert "brightness" not in s.folder.annotation_path(0).read_text()
    with pytest.raises(ValueError, match="gamma"):
        s.view.set_adjustment(gamma=0)
