"""Video-mode operations of the Qt-free session: ReplaceTrack on stable ids, a tracked object's parts, the
propagation settings turned into the core's Propagation."""
from __future__ import annotations

from anylabel.document import ImageAnnotation, Shape
from anylabel.document.history import History, RemoveShapes
from anylabel.session.video import (
    PropagationSettings,
    ReplaceTrack,
    SetShapes,
    as_track,
    start_frame,
    track_shape_ids,
)
from anylabel.tracking.propagation import Propagation


def box(label: str, x: float, track=None, group=None) -> Shape:
    return Shape(label, [(x, 0.0), (x + 5, 5.0)], "rectangle", group_id=group, track_id=track)


def test_replace_track_uses_stable_ids_not_positions() -> None:
    ann = ImageAnnotation("a.jpg", 10, 10, [box("x", 0), box("girl", 1, 1, 1), box("y", 2), box("girl", 3, 1, 1)])
    history = History(ann)
    girl_ids = track_shape_ids(ann, 1)
    assert len(girl_ids) == 2
    # another edit moves the positions after the ids were taken (the old list-index version removed "y")
    history.push(RemoveShapes([0]))
    new = as_track([box("girl", 9)], 1)
    history.push(ReplaceTrack(girl_ids, new, "object 1"))
    assert [(s.label, s.points[0][0]) for s in ann.shapes] == [("y", 2), ("girl", 9)]
    history.undo()
    assert [(s.label, s.points[0][0]) for s in ann.shapes] == [("girl", 1), ("y", 2), ("girl", 3)]
    assert track_shape_ids(ann, 1) == girl_ids, "undo brings the same shapes back"
    history.redo()
    assert [(s.label, s.points[0][0]) for s in ann.shapes] == [("y", 2), ("girl", 9)]


def test_parts_of_a_tracked_object_share_the_track_id_as_group() -> None:
    parts = as_track([box("child", 0, group=2), box("child", 9, group=2)], 1)
    assert [(s.track_id, s.group_id) for s in parts] == [(1, 1), (1, 1)]
    assert [(s.track_id, s.group_id) for s in as_track([box("child", 0, group=5)], 3)] == [(3, None)]
    assert {s.group_id for s in as_track([box("c", 0), box("c", 9)], 3, group_id=7)} == {7}, "the person's choice"


def test_set_shapes_is_one_undo_step() -> None:
    ann = ImageAnnotation("a.jpg", 10, 10, [box("a", 0)])
    history = History(ann)
    history.push(SetShapes([box("b", 1), box("c", 2)], "interpolate"))
    assert [s.label for s in ann.shapes] == ["b", "c"]
    history.undo()
    assert [s.label for s in ann.shapes] == ["a"]


def test_propagation_settings_plan_each_range_and_direction() -> None:
    s = PropagationSettings()
    assert s.plan(10, 100) == Propagation("forward")
    assert s.plan(10, 100, "backward") == Propagation("backward")
    s = PropagationSettings(range="count", count=5)
    assert s.plan(10, 100, "both") == Propagation("both", count=5)
    s = PropagationSettings(range="frame", to_frame=40)
    assert s.plan(10, 100) == Propagation("forward", last=40)
    assert s.plan(10, 100, "backward") == Propagation("backward", first=10), "backward cannot go up to a later frame"
    assert s.plan(60, 100, "backward") == Propagation("backward", first=40)
    assert s.plan(60, 100, "both") == Propagation("both", first=40)
    assert s.plan(10, 100, "both") == Propagation("both", last=40)
    assert PropagationSettings(range="frame", to_frame=500).plan(10, 100) == Propagation("forward", last=99)


def test_start_frame_takes_an_earlier_new_prompt() -> None:
    assert start_frame("forward", 10, []) == 10
    assert start_frame("forward", 10, [4, 30]) == 4
    assert start_frame("backward", 10, [4, 30]) == 30
    assert start_frame("both", 10, [4]) is None


def test_remembered_settings_survive_bad_values() -> None:
    s = PropagationSettings(direction="both", range="count", count=7, existing="keep")
    assert PropagationSettings.from_dict(s.to_dict()) == s
    bad = PropagationSettings.from_dict({"direction": "sideways", "range": 3, "count": "7", "existing": "merge",
                                         "other": 1})
    assert bad == PropagationSettings()
    assert PropagationSettings.from_dict(None) == PropagationSettings()


def test_deleting_a_tracks_last_shape_marks_it_outside_the_frame() -> None:
    from anylabel.session.video import update_outside
    from anylabel.tracking.interpolate import outside_tracks

    ann = ImageAnnotation("a.jpg", 10, 10, [box("car", 0, 7), box("car", 3, 7), box("dog", 5, 2)])
    before = {2, 7}
    ann.shapes = ann.shapes[1:]  # one of the car's two parts: still visible
    assert update_outside(ann, before) == {2, 7} and outside_tracks(ann) == set()
    ann.shapes = ann.shapes[1:]
    assert update_outside(ann, {2, 7}) == {2} and outside_tracks(ann) == {7}
    shapes = ann.shapes
    ann.shapes.append(box("car", 0, 7))  # undo, or prompted again
    assert update_outside(ann, {2}) == {2, 7} and outside_tracks(ann) == set()
    ann.shapes.pop()  # an undo of an addition: no deletion by a person
    assert update_outside(ann, {2, 7}, mark=False) == {2} and outside_tracks(ann) == set()
    assert ann.shapes is shapes, "the list the window draws is never replaced"
