"""Typed prompts, their version, the stale-answer rule and the logits-reuse rule (anylabel.session.prompts)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from anylabel.backends import MaskCandidate
from anylabel.session import BoxPrompt, PlainAnswer, PointPrompt, PromptSet, is_current, logits_to_reuse


def test_prompts_are_small_frozen_dataclasses_with_undo_redo_and_box_replacement():
    p = PromptSet()
    p.add_point(1, 2, True)
    p.add_box((0, 0, 10, 10), False)
    assert p.add_box((20, 20, 5, 5), False)  # replaces the positive box (corners put in order)
    assert p.items == [PointPrompt(1.0, 2.0, True), BoxPrompt(5.0, 5.0, 20.0, 20.0, False)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.items[0].x = 3
    assert p.undo() and p.items[-1] == BoxPrompt(0.0, 0.0, 10.0, 10.0)  # the old box is back
    assert p.undo() and p.items == [PointPrompt(1.0, 2.0, True)]
    assert p.redo() and p.redo() and p.items[-1].box == (5.0, 5.0, 20.0, 20.0)
    assert not p.redo()
    p.undo()
    p.add_point(3, 3, False)  # a new prompt after an undo: nothing to redo
    assert not p.can_redo and len(p) == 3
    prompt = p.to_prompt()
    assert prompt.positive_points.tolist() == [[1.0, 2.0]] and prompt.negative_points.tolist() == [[3.0, 3.0]]
    p.clear()
    assert not p and not p.undo() and not p.redo()


def test_every_prompt_change_moves_the_version_on():
    p = PromptSet()
    seen = [p.version]
    for change in (lambda: p.add_point(1, 1), lambda: p.add_box((0, 0, 5, 5)), p.undo, p.redo, p.clear,
                   lambda: p.replace([BoxPrompt(0, 0, 3, 3)])):
        change()
        seen.append(p.version)
    assert seen == sorted(set(seen)) and len(seen) == 7


def _answer(version: int, image="a.jpg", logits=None) -> PlainAnswer:
    mask = np.zeros((8, 8), bool)
    mask[2:5, 2:5] = True
    return PlainAnswer(image, version, [MaskCandidate(mask, 0.9, logits)])


def test_only_the_answer_for_the_current_image_and_version_is_current():
    p = PromptSet()
    p.add_point(1, 1)
    first = _answer(p.version)
    p.add_point(2, 2)
    assert not is_current(first, "a.jpg", p)  # computed for the older prompts: stale
    assert is_current(_answer(p.version), "a.jpg", p)
    assert not is_current(_answer(p.version, image="b.jpg"), "a.jpg", p)  # another image


def test_logits_refine_only_while_points_were_added():
    logits = np.ones((1, 256, 256), np.float32)
    p = PromptSet()
    p.add_point(1, 1)
    answer = _answer(p.version, logits=logits)
    p.add_point(2, 2)  # an added click refines the previous answer
    assert logits_to_reuse(answer, 0, p) is logits
    p.add_point(3, 3, False)
    assert logits_to_reuse(answer, 0, p) is logits
    p.undo()  # a removed prompt: from scratch
    assert logits_to_reuse(answer, 0, p) is None
    p = PromptSet()
    p.add_point(1, 1)
    answer = _answer(p.version, logits=logits)
    p.add_box((0, 0, 5, 5))  # a new box: from scratch
    assert logits_to_reuse(answer, 0, p) is None
    p = PromptSet()
    p.add_point(1, 1)
    answer = _answer(p.version, logits=logits)
    p.forbid_refinement()  # another model
    p.add_point(2, 2)
    assert logits_to_reuse(answer, 0, p) is None
    assert logits_to_reuse(None, 0, p) is None
