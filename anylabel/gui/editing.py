"""Shape operations of the main window: finishing AI objects, drawn shapes, edits, labels, clipboard,
undo / redo. Every change goes through the image's :class:`~anylabel.document.history.History`.

Label suggestions: ``window.suggestion_providers`` is a list of ``(source name, fn)`` where
``fn(image, mask) -> [(label, confidence 0..1)]`` (best first); image is HxWx3 uint8 RGB, mask bool HxW.
The SSA vote and the CLIP classifier register themselves there; the label dialog shows each source's
proposals, pre-fills the best one, and ``config.auto_accept_confidence`` accepts it without asking.
"""
from __future__ import annotations

import logging
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from PyQt5 import QtCore, QtWidgets

from anylabel.document import Shape
from anylabel.geometry import mask_to_polygons, rle_encode
from anylabel.gui.dialogs import LabelChoice, LabelDialog

log = logging.getLogger(__name__)
Suggestion = Tuple[str, float]
SuggestionProvider = Callable[[np.ndarray, np.ndarray], List[Suggestion]]


class EditingMixin:
    """Mixed into :class:`anylabel.gui.main_window.MainWindow`."""

    suggestion_providers: List[Tuple[str, SuggestionProvider]]
    last_label: str
    mask_output: bool

    # ------------------------------------------------------------------------------ labels
    def known_labels(self) -> List[str]:
        """The settings' labels first, then every label seen in this session."""
        out = list(self.config.labels)
        for label in self.label_list.known:
            if label not in out:
                out.append(label)
        return out

    def label_suggestion_sources(self, mask: np.ndarray) -> Dict[str, List[Suggestion]]:
        """Every provider's proposals for ``mask`` (bool HxW) on the current image, by source name."""
        out: Dict[str, List[Suggestion]] = {}
        for name, provider in self.suggestion_providers:
            try:
                items = provider(self.image, mask)
            except Exception as e:  # noqa: BLE001 - a suggestion must never block finishing an object
                log.exception("label suggestions from %s failed", name)
                self.statusBar().showMessage(f"{name} suggestions failed: {e}", 5000)
                continue
            out[name] = [(str(n), float(c)) for n, c in items]
        return out

    def label_suggestions(self, mask: np.ndarray) -> List[Suggestion]:
        """All sources' proposals merged, best confidence first (one entry per label)."""
        best: Dict[str, float] = {}
        for items in self.label_suggestion_sources(mask).values():
            for name, conf in items:
                best[name] = max(conf, best.get(name, 0.0))
        return sorted(best.items(), key=lambda kv: -kv[1])

    def ask_label(self, text: str = "", suggestions: Optional[Dict[str, List[Suggestion]]] = None,
                  group_id: Optional[int] = None, description: str = "", title: str = "Label") -> Optional[LabelChoice]:
        """The label dialog (tests replace the answer through the dialog itself, not this method)."""
        dialog = LabelDialog(self, self.known_labels(), text, suggestions, self.colors, group_id, description, title)
        self.label_dialog = dialog  # reachable by tests and by the semantic helpers
        try:
            return dialog.ask()
        finally:
            self.label_dialog = None
            dialog.deleteLater()
            self.refocus()

    # ------------------------------------------------------------------------------ new shapes
    def finish_ai_object(self, mask: np.ndarray, polygons: List[np.ndarray]) -> None:
        """Turn a finished AI answer (bool HxW ``mask``, its Kx2 (x, y) ``polygons``) into shapes: the label
        dialog pre-filled by the suggestion sources, or the label accepted directly above the threshold.
        Connected to the AI controller's ``finishReady``; the video panel calls it for tracker answers."""
        sources = self.label_suggestion_sources(mask)
        merged = sorted(((n, c) for items in sources.values() for n, c in items), key=lambda kv: -kv[1])
        threshold = self.config.auto_accept_confidence
        if merged and threshold is not None and merged[0][1] >= threshold:
            choice: Optional[LabelChoice] = LabelChoice(merged[0][0])
            self.statusBar().showMessage(f"Accepted {merged[0][0]} ({merged[0][1]:.0%}) without asking", 4000)
        else:
            choice = self.ask_label(merged[0][0] if merged else self.last_label, sources)
        shapes = self.finished_shapes(mask, polygons, choice)
        if shapes is None:
            return
        self.last_label = choice.label
        indices = self.history.add(shapes, f"finish {choice.label}")
        self.ai.clear()
        self.canvas.set_selection(set(indices))
        self.after_object_finished()

    def finished_shapes(self, mask: np.ndarray, polygons: Sequence[np.ndarray],
                        choice: Optional[LabelChoice]) -> Optional[List[Shape]]:
        """The shapes of a finished AI object with the label ``choice``, or None when there is nothing to add
        (no label chosen, or no part large enough): the status bar says which, and the prompts stay."""
        if choice is None:
            self.statusBar().showMessage("Not finished: the prompts are kept (B clears them)", 4000)
            return None
        shapes = self.shapes_from_mask(mask, polygons, choice)
        if not shapes:
            self.statusBar().showMessage("The mask has no part large enough for a polygon", 4000)
            return None
        return shapes

    def shapes_from_mask(self, mask: np.ndarray, polygons: Sequence[np.ndarray], choice: LabelChoice) -> List[Shape]:
        """The shapes F makes: one mask shape, or one polygon per part (parts share a group id)."""
        score = None
        if self.ai.result is not None and self.ai.result.candidates:
            score = float(self.ai.result.candidates[self.ai.candidate].score)
        if self.mask_output:
            ys, xs = np.nonzero(mask)
            if not len(xs):
                return []
            box = [(float(xs.min()), float(ys.min())), (float(xs.max()), float(ys.max()))]
            return [Shape(choice.label, box, "mask", group_id=choice.group_id, mask=rle_encode(mask),
                          description=choice.description, score=score)]
        polygons = list(polygons)
        if not polygons and mask.any():  # every part was below min_part_area: keep the object anyway
            polygons = mask_to_polygons(mask, tolerance=self.config.polygon_tolerance, min_area=1.0)
        group = choice.group_id
        if group is None and len(polygons) > 1:
            group = self.next_group_id()
        return [Shape(choice.label, [(float(x), float(y)) for x, y in poly], "polygon", group_id=group,
                      description=choice.description, score=score) for poly in polygons]

    def next_group_id(self) -> int:
        ids = [s.group_id for s in self.annotation.shapes if s.group_id is not None] if self.annotation else []
        return max(ids, default=0) + 1

    def _on_shape_drawn(self, shape: Shape) -> None:
        choice = self.ask_label(self.last_label)
        if choice is None:
            return
        shape.label, shape.group_id, shape.description = choice.label, choice.group_id, choice.description
        self.last_label = choice.label
        indices = self.history.add([shape], f"draw {shape.shape_type}")
        self.canvas.set_selection(set(indices))
        self.after_object_finished()

    def _on_shapes_edited(self, edits: Dict[int, Shape], text: str) -> None:
        if self.history is not None:
            self.history.replace(edits, text)

    # ------------------------------------------------------------------------------ edit actions
    def delete_selected(self) -> None:
        """Delete / Backspace: a half-drawn step first, then a hovered vertex, then the selected shapes."""
        tool = self.canvas.tool
        if tool.has_pending():
            tool.undo_last()
            return
        hv = getattr(tool, "hover_vertex", None)
        if self.canvas.mode == "edit" and hv is not None and tool.delete_vertex(*hv):
            return
        if self.history is not None and self.canvas.selected:
            n = len(self.canvas.selected)
            self.history.remove(sorted(self.canvas.selected), f"delete {n} shape{'s' * (n > 1)}")
            self.canvas.set_selection(set())

    def select_all(self) -> None:
        self.canvas.set_selection(set(self.canvas.visible_indices()))

    def copy_selected(self) -> None:
        if self.annotation is None or not self.canvas.selected:
            return
        self.clipboard = [self.annotation.shapes[i].copy() for i in sorted(self.canvas.selected)]
        self.statusBar().showMessage(f"Copied {len(self.clipboard)} shape(s)", 3000)

    def paste(self) -> None:
        """Paste the copied shapes at the same place (handy on the next image or frame)."""
        if self.history is None or not self.clipboard:
            return
        h, w = self.annotation.image_height, self.annotation.image_width
        shapes = []
        for s in self.clipboard:
            new = s.copy()
            if new.shape_type != "mask":
                new.points = [(min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)) for x, y in new.points]
            elif new.mask is not None and tuple(new.mask.get("size", ())) != (h, w):
                continue  # a mask of another image size cannot be placed
            shapes.append(new)
        if shapes:
            indices = self.history.add(shapes, f"paste {len(shapes)} shape(s)")
            self.canvas.set_selection(set(indices))

    def change_label(self, indices: Optional[Sequence[int]] = None) -> None:
        if self.history is None:
            return
        indices = sorted(self.canvas.selected if indices is None else indices)
        if not indices:
            self.statusBar().showMessage("Select shapes first (Ctrl+J, then click)", 3000)
            return
        first = self.annotation.shapes[indices[0]]
        choice = self.ask_label(first.label, None, first.group_id, first.description, title="Change label")
        if choice is None:
            return
        edits = {}
        for i in indices:
            new = self.annotation.shapes[i].copy()
            new.label = choice.label
            if len(indices) == 1 or choice.group_id is not None:
                new.group_id = choice.group_id
            if len(indices) == 1:
                new.description = choice.description
            edits[i] = new
        self.last_label = choice.label
        self.history.replace(edits, f"label {choice.label}")

    def undo(self) -> None:
        """Ctrl+Z: the last AI prompt first, then a half-drawn polygon vertex, then the last edit."""
        if self.ai.undo_last():
            return
        if self.canvas.tool.has_pending():
            self.canvas.tool.undo_last()
            return
        self.ai.prompts.forget_redo()  # Ctrl+Shift+Z must redo this edit, not jump back to older clicks
        if self.history is not None and not self.history.undo():
            self.statusBar().showMessage("Nothing to undo", 2000)

    def redo(self) -> None:
        """Ctrl+Shift+Z: the AI prompt Ctrl+Z removed first, then the last undone edit."""
        if self.ai.redo_last():
            return
        if self.history is not None and not self.history.redo():
            self.statusBar().showMessage("Nothing to redo", 2000)

    def toggle_shapes(self, hidden: bool) -> None:
        self.canvas.show_shapes = not hidden
        self.canvas.update()

    def set_mask_output(self, on: bool) -> None:
        self.mask_output = bool(on)
        self.statusBar().showMessage("F makes " + ("mask shapes (RLE)" if on else "polygons"), 3000)

    def _on_shape_list_selection(self, indices: List[int]) -> None:
        self.canvas.set_selection(set(indices))

    def _on_label_activated(self, label: str) -> None:
        if self.annotation is not None:
            self.set_mode("edit")
            self.canvas.set_selection({i for i, s in enumerate(self.annotation.shapes) if s.label == label})

    def refocus(self) -> None:
        """Give the keyboard back to the canvas after a dialog (some platforms leave no active window)."""
        def activate() -> None:
            if self.isVisible() and QtWidgets.QApplication.activeModalWidget() is None:
                self.activateWindow()
                self.canvas.setFocus()

        activate()
        QtCore.QTimer.singleShot(0, activate)  # again once the closed dialog's own events are processed
