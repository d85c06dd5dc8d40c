"""Every shape operation of AnnotationSession, undoable, with stable ids and id-keyed view state."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anylabel.document import Shape
from anylabel.document.history import HistoryEvent
from anylabel.session import AnnotationSession, ChangedOnDiskError


def _square(label: str, x: float, size: float = 20) -> Shape:
    return Shape(label, [(x, 10), (x + size, 10), (x + size, 10 + size), (x, 10 + size)])


@pytest.fixture
def session(tmp_path: Path) -> AnnotationSession:
    Image.fromarray(np.full((120, 200, 3), 90, np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.full((120, 200, 3), 30, np.uint8)).save(tmp_path / "b.png")
    s = AnnotationSession()
    s.load(s.open(tmp_path / "a.png"))
    s.add_shapes([_square("a", 10), _square("b", 50), _square("c", 90)])
    return s


def labels(s: AnnotationSession, ids=None) -> list:
    return [s.shapes[i].label for i in (range(len(s.shapes)) if ids is None else s.indices(ids))]


def test_ids_are_stable_when_shapes_are_added_removed_and_reordered(session):
    s = session
    a, b, c = (sh.id for sh in s.shapes)
    assert len({a, b, c}) == 3
    s.delete([a])
    assert [sh.id for sh in s.shapes] == [b, c]
    s.undo()
    assert [sh.id for sh in s.shapes] == [a, b, c]  # undo brings the same shape back, same id
    s.bring_to_front([a])
    assert [sh.id for sh in s.shapes] == [b, c, a] and labels(s) == ["b", "c", "a"]
    s.send_to_back([c])
    assert labels(s) == ["c", "b", "a"]
    s.undo()
    s.undo()
    assert [sh.id for sh in s.shapes] == [a, b, c]


def test_view_state_keys_on_ids(session):
    s = session
    a, b, c = (sh.id for sh in s.shapes)
    events = []
    s.visibility_changed.connect(lambda ids: events.append(("hidden", set(ids))))
    s.selection_changed.connect(lambda ids: events.append(("selected", set(ids))))
    s.hide([b])
    s.select([c])
    s.delete([a])  # the shapes behind move forward in the list; hidden / selected stay with their shapes
    assert s.hidden == {b} and s.selected == {c}
    s.delete([b])
    assert s.hidden == frozenset() and ("hidden", set()) in events  # a deleted shape is no longer hidden
    s.show([b])
    assert s.hidden == frozenset()


def test_history_events_report_ids(session):
    s = session
    got = []
    s.shapes_changed.connect(got.append)
    a, b, c = (sh.id for sh in s.shapes)
    s.delete([b])
    assert isinstance(got[-1], HistoryEvent) and got[-1].removed == (b,)
    s.undo()
    assert got[-1].kind == "undo" and got[-1].ids == (b,) and s.selected == {b}


def test_relabel_move_edit_points_duplicate_copy_paste_all_undo(session, tmp_path):
    s = session
    a, b, c = (sh.id for sh in s.shapes)
    s.relabel([a, b], label="dog", group_id=7, description="two", flags={"occluded": True})
    assert labels(s) == ["dog", "dog", "c"] and s.shape(a).group_id == 7 and s.shape(b).flags == {"occluded": True}
    assert s.last_label == "dog"
    s.relabel([a], group_id=None)  # None = no group; other details kept
    assert s.shape(a).group_id is None and s.shape(a).label == "dog"
    s.undo()
    s.undo()
    assert labels(s) == ["a", "b", "c"] and s.shape(a).group_id is None
    s.move(5, -2, [c])
    assert s.shape(c).points[0] == (95.0, 8.0) and [sh.id for sh in s.shapes] == [a, b, c]
    s.set_points(c, [(0, 0), (10, 0), (10, 10)])
    assert s.shape(c).points == [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)]
    s.undo()
    s.undo()
    assert s.shape(c).points[0] == (90.0, 10.0)
    (dup,) = s.duplicate([a])
    assert dup not in (a, b, c) and s.shape(dup).points[0] == (20.0, 20.0) and s.selected == {dup}
    s.undo()
    assert len(s.shapes) == 3
    assert s.copy([a, c]) == 2
    pasted = s.paste()  # on the same image: new shapes, new ids; the originals keep theirs
    assert len(pasted) == 2 and not set(pasted) & {a, b, c} and [sh.id for sh in s.shapes[:3]] == [a, b, c]
    s.load(1)  # the next image: the clipboard stays
    assert s.shapes == [] and len(s.paste()) == 2 and labels(s) == ["a", "c"]
    assert s.undo() and s.shapes == []


def test_save_writes_the_labelme_file_and_detects_another_writer(session, tmp_path):
    s = session
    saved = []
    s.saved.connect(saved.append)
    assert s.dirty
    path = s.save()
    assert saved == [path] and not s.dirty
    data = json.loads(path.read_text())
    assert [sh["label"] for sh in data["shapes"]] == ["a", "b", "c"] and "id" not in data["shapes"][0]
    path.write_text(path.read_text().replace('"a"', '"x"'))  # another program changed the file
    s.relabel(s.selected or [s.shapes[0].id], label="mine")
    with pytest.raises(ChangedOnDiskError):
        s.save()
    assert s.dirty  # nothing lost
    s.save(overwrite=True)
    assert json.loads(path.read_text())["shapes"][0]["label"] == "mine"


def test_preview_cycles_candidates_and_finish_uses_the_chosen_one(session):
    from anylabel.backends import MaskCandidate
    from anylabel.session import PlainAnswer

    s = session
    h, w = s.image.shape[:2]
    masks = []
    for size in (60, 30, 10):
        m = np.zeros((h, w), bool)
        m[5:5 + size, 5:5 + size] = True
        masks.append(m)
    logits = [np.full((1, 256, 256), k, np.float32) for k in range(3)]
    changed = []
    s.preview_changed.connect(lambda: changed.append(s.candidate))
    s.add_point(10, 10)
    assert s.accept(PlainAnswer(s.image_key, s.prompts.version,
                                [MaskCandidate(m, 0.9 - k / 10, lg) for k, (m, lg) in enumerate(zip(masks, logits))]))
    assert s.preview.mask is masks[0] and s.cycle_candidate() == 1 and s.preview.mask is masks[1]
    assert changed[-2:] == [0, 1]
    assert s.cycle_candidate() == 2 and s.cycle_candidate() == 0 and s.cycle_candidate() == 1
    s.add_point(12, 12)  # refines: the chosen candidate's logits go with the next prompt
    assert s.prompt().mask_logits is logits[1]
    assert s.waiting and s.preview.mask is masks[1]  # the older answer stays shown until the new one arrives
    s.accept(PlainAnswer(s.image_key, s.prompts.version, [MaskCandidate(masks[1], 0.8)]))
    (new,) = s.finish("small")
    assert s.shape(new).points == [(5.0, 5.0), (5.0, 34.0), (34.0, 34.0), (34.0, 5.0)]
