"""Undo / redo over an ImageAnnotation (Qt-free)."""
from __future__ import annotations

from anylabel.document import ImageAnnotation, Shape
from anylabel.document.history import History


def _shape(label: str, x: float = 0.0) -> Shape:
    return Shape(label, [(x, 0), (x + 10, 0), (x + 10, 10)])


def test_add_remove_replace_undo_redo_in_order():
    ann = ImageAnnotation("a.jpg", 100, 100, shapes=[_shape("a"), _shape("b"), _shape("c")])
    h = History(ann)
    events = []
    h.changed.connect(lambda e: events.append((e.kind, e.indices)))
    assert h.add([_shape("d")]) == (3,)
    h.remove([0, 2])
    assert ann.labels() == ["b", "d"]
    moved = _shape("b", x=5)
    h.replace({0: moved}, "move")
    assert ann.shapes[0] is moved
    assert h.undo_text == "move"
    h.undo()
    assert ann.labels() == ["b", "d"] and ann.shapes[0].points[0] == (0.0, 0.0)
    h.undo()
    assert ann.labels() == ["a", "b", "c", "d"]
    h.undo()
    assert ann.labels() == ["a", "b", "c"]
    assert not h.undo()
    h.redo()
    h.redo()
    assert ann.labels() == ["b", "d"]
    assert [k for k, _ in events] == ["do", "do", "do", "undo", "undo", "undo", "redo", "redo"]
    assert events[4] == ("undo", (0, 2))  # the restored shapes' indices, for the GUI's selection


def test_new_command_drops_redo():
    ann = ImageAnnotation("a.jpg", 10, 10)
    h = History(ann)
    h.add([_shape("a")])
    h.undo()
    h.add([_shape("b")])
    assert not h.can_redo and ann.labels() == ["b"]


def test_dirty_tracks_the_saved_position():
    ann = ImageAnnotation("a.jpg", 10, 10)
    h = History(ann)
    assert not h.dirty
    h.add([_shape("a")])
    assert h.dirty
    h.mark_saved()
    assert not h.dirty
    h.undo()
    assert h.dirty  # the file has the shape, the document does not
    h.redo()
    assert not h.dirty
    h.undo()
    h.add([_shape("b")])  # the saved state is now unreachable
    assert h.dirty
    h.undo()
    assert h.dirty


def test_limit_forgets_the_oldest_commands():
    ann = ImageAnnotation("a.jpg", 10, 10)
    h = History(ann, limit=3)
    for k in range(5):
        h.add([_shape(str(k))])
    assert sum(h.undo() for _ in range(10)) == 3
    assert ann.labels() == ["0", "1"]
    assert h.dirty


def test_callbacks_can_disconnect():
    h = History(ImageAnnotation("a.jpg", 10, 10))
    seen = []
    fn = h.changed.connect(lambda e: seen.append(e.kind))
    h.add([_shape("a")])
    h.changed.disconnect(fn)
    h.undo()
    assert seen == ["do"]
