"""The window's shape editing: the label dialog and label suggestions, then session calls.

Every change is an :class:`~anylabel.session.AnnotationSession` method (undoable, by stable shape id); this
object adds only what needs a window: the dialog, the suggestion sources, status messages, and the canvas
tool's half-drawn state (which Ctrl+Z / Delete undo before touching shapes).

Label suggestions: ``window.suggestion_providers`` is a list of ``(source name, fn)`` where
``fn(image, mask) -> [(label, confidence 0..1)]`` (best first); image is HxWx3 uint8 RGB, mask bool HxW.
The SSA vote and the CLIP classifier register themselves there; the label dialog shows each source's
proposals, pre-fills the best one, and ``config.auto_accept_confidence`` accepts it without asking.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from PyQt5 import QtCore, QtWidgets

from anylabel.backends import MaskCandidate
from anylabel.document import Shape
from anylabel.errors import AnylabelError
from anylabel.gui.dialogs.label import LabelChoice, LabelDialog
from anylabel.session import AnnotationSession

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.main_window import MainWindow

log = logging.getLogger(__name__)
Suggestion = Tuple[str, float]
SuggestionProvider = Callable[[np.ndarray, np.ndarray], List[Suggestion]]


class Editing:
    """Label dialogs and edit actions of one window (``window.editing``)."""

    def __init__(self, window: "MainWindow", session: AnnotationSession) -> None:
        self.window = window
        self.session = session
        self.canvas = window.canvas
        self.suggestion_providers: List[Tuple[str, SuggestionProvider]] = []

    def _status(self, text: str, ms: int = 3000) -> None:
        self.window.statusBar().showMessage(text, ms)

    # ------------------------------------------------------------------------------ labels
    def known_labels(self) -> List[str]:
        """The settings' labels first, then every label seen in this session."""
        out = list(self.window.config.labels)
        for label in self.window.label_list.known:
            if label not in out:
                out.append(label)
        return out

    def label_suggestion_sources(self, mask: np.ndarray) -> Dict[str, List[Suggestion]]:
        """Every provider's proposals for ``mask`` (bool HxW) on the current image, by source name."""
        out: Dict[str, List[Suggestion]] = {}
        for name, provider in self.suggestion_providers:
            try:
                items = provider(self.session.image, mask)
            except Exception as e:  # noqa: BLE001 - a suggestion must never block finishing an object
                log.exception("label suggestions from %s failed", name)
                self._status(f"{name} suggestions failed: {e}", 5000)
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
                  group_id: Optional[int] = None, description: str = "", title: str = "Label",
                  shape: Optional[Shape] = None) -> Optional[LabelChoice]:
        """The label dialog, with the settings' flags and attributes (pre-filled from ``shape``, editing one);
        tests answer it through ``window.label_dialog``, the real widget."""
        w = self.window
        dialog = LabelDialog(w, self.known_labels(), text, suggestions, w.colors, group_id, description, title,
                             config=w.config, shape=shape)
        w.label_dialog = dialog  # reachable by tests and by the semantic helpers
        try:
            return dialog.ask()
        finally:
            w.label_dialog = None
            dialog.deleteLater()
            self.refocus()

    # ------------------------------------------------------------------------------ new shapes
    def finish_ai_object(self, mask: np.ndarray, polygons: Sequence[np.ndarray] = ()) -> List[int]:
        """Turn a finished AI answer (bool HxW ``mask``) into shapes: the label dialog pre-filled by the
        suggestion sources, or the label accepted directly above the threshold. Returns the new shape ids.
        ``polygons`` is accepted for the callers that have them; the shapes come from the core's one
        mask -> shape function (:meth:`AnnotationSession.shapes_for`)."""
        if self.session.assist.reprompting is not None:
            return self.finish_refinement(mask)
        choice = self.choose_label(mask)
        shapes = self.finished_shapes(mask, polygons, choice)
        if shapes is None:
            return []
        ids = self.session.add_shapes(shapes, f"finish {choice.label}")
        self.session.last_label = choice.label
        self.window.ai.clear()
        self.after_object_finished()
        return ids

    def choose_label(self, mask: np.ndarray) -> Optional[LabelChoice]:
        """The label of a new object (bool HxW ``mask``): the label dialog pre-filled by the suggestion sources
        (SSA vote, CLIP), or their best label accepted without asking above ``auto_accept_confidence``."""
        sources = self.label_suggestion_sources(mask)
        merged = sorted(((n, c) for items in sources.values() for n, c in items), key=lambda kv: -kv[1])
        threshold = self.window.config.auto_accept_confidence
        if merged and threshold is not None and merged[0][1] >= threshold:
            self._status(f"Accepted {merged[0][0]} ({merged[0][1]:.0%}) without asking", 4000)
            return LabelChoice(merged[0][0])
        return self.ask_label(merged[0][0] if merged else self.session.last_label, sources)

    def finish_refinement(self, mask: np.ndarray) -> List[int]:
        """F while a shape is re-prompted (Ctrl+R): the refined mask replaces that shape, keeping its label and
        details, as one undo step (no label dialog: the shape has its label). Returns the new shape ids."""
        s = self.session
        target = s.assist.reprompting
        preview = s.preview
        candidate = preview if preview is not None and preview.mask is mask else MaskCandidate(mask, None)
        label = s.shape(target).label
        try:
            ids = s.assist.replace_reprompted(target, candidate)
        except AnylabelError as e:
            self._status(f"Not replaced: {e}", 5000)
            return []
        self.window.ai.clear()
        self._status(f"Refined {label or 'the shape'} (Ctrl+Z brings the old one back)", 4000)
        self.after_object_finished()
        return ids

    def finished_shapes(self, mask: np.ndarray, polygons: Sequence[np.ndarray],
                        choice: Optional[LabelChoice]) -> Optional[List[Shape]]:
        """The shapes of a finished AI object with the label ``choice``, or None when there is nothing to add
        (no label chosen, or an empty mask): the status bar says which, and the prompts stay."""
        if choice is None:
            self._status("Not finished: the prompts are kept (B clears them)", 4000)
            return None
        preview = self.session.preview
        if preview is not None and preview.mask is mask:
            candidate = preview  # the model's own candidate: its box and score
        else:  # e.g. the tracker's answer for this frame
            candidate = MaskCandidate(mask, preview.score if preview is not None else None)
        shapes = self.session.shapes_for(candidate, choice.label, choice.group_id, choice.description)
        if not shapes:
            self._status("The mask is empty: nothing to add", 4000)
            return None
        return self.session.details.describe(shapes, **choice.details())  # flags, attributes, difficult

    def on_shape_drawn(self, shape: Shape) -> None:
        choice = self.ask_label(self.session.last_label)
        if choice is None:
            return
        shape.label, shape.group_id, shape.description = choice.label, choice.group_id, choice.description
        self.session.details.describe([shape], **choice.details())
        self.session.last_label = choice.label
        self.session.add_shapes([shape], f"draw {shape.shape_type}")
        self.after_object_finished()

    def on_shapes_edited(self, edits: Dict[int, Shape], text: str) -> None:
        """The canvas's drag / nudge / vertex edits, keyed by list position at the time of the edit."""
        shapes = self.session.shapes
        self.session.replace({shapes[i].id: s for i, s in edits.items() if 0 <= i < len(shapes)}, text)

    def after_object_finished(self) -> None:
        self.window.navigation.schedule_autosave()

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
        self.session.delete()

    def select_all(self) -> None:
        self.canvas.set_selection(self.canvas.visible_indices())

    def copy_selected(self) -> None:
        n = self.session.copy()
        if n:
            self._status(f"Copied {n} shape(s)")

    def paste(self) -> None:
        """Paste the copied shapes at the same place (handy on the next image or frame)."""
        self.session.paste()

    def duplicate_selected(self) -> None:
        """Ctrl+D: copies of the selected shapes, 10 px down and right, selected."""
        if not self.session.duplicate():
            self._status("Select shapes first (Ctrl+J, then click)")

    def bring_to_front(self) -> None:
        self.session.bring_to_front()

    def send_to_back(self) -> None:
        self.session.send_to_back()

    def change_label(self, indices: Optional[Sequence[int]] = None) -> None:
        """Ctrl+E / double-click: the label dialog for the selected shapes (or those at ``indices``)."""
        s = self.session
        ids = s.selected if indices is None else s.ids_at(indices)
        positions = s.indices(ids)
        if not positions:
            self._status("Select shapes first (Ctrl+J, then click)")
            return
        first = s.shapes[positions[0]]
        choice = self.ask_label(first.label, None, first.group_id, first.description, title="Change label",
                                shape=first)
        if choice is None:
            return
        one = len(positions) == 1
        s.details.edit_shapes(s.ids_at(positions), label=choice.label, group_id=choice.group_id,
                              set_group=one or choice.group_id is not None,
                              description=choice.description if one else None, **choice.details())

    def undo(self) -> None:
        """Ctrl+Z: the last AI prompt first, then a half-drawn polygon vertex, then the last edit."""
        if self.session.undo_prompt():
            return
        if self.canvas.tool.has_pending():
            self.canvas.tool.undo_last()
            return
        if not self.session.undo_shapes():
            self._status("Nothing to undo", 2000)

    def redo(self) -> None:
        """Ctrl+Shift+Z: the AI prompt Ctrl+Z removed first, then the last undone edit."""
        if not self.session.redo():
            self._status("Nothing to redo", 2000)

    def toggle_shapes(self, hidden: bool) -> None:
        self.canvas.show_shapes = not hidden
        self.canvas.update()

    def set_mask_output(self, on: bool) -> None:
        self.session.mask_output = bool(on)
        self._status("F makes " + ("mask shapes (RLE)" if on else "polygons"))

    def on_label_activated(self, label: str) -> None:
        if self.session.annotation is not None:
            self.window.set_mode("edit")
            self.session.select(s.id for s in self.session.shapes if s.label == label)

    def refocus(self) -> None:
        """Give the keyboard back to the canvas after a dialog (some platforms leave no active window)."""
        w = self.window

        def activate() -> None:
            if w.isVisible() and QtWidgets.QApplication.activeModalWidget() is None:
                w.activateWindow()
                w.canvas.setFocus()

        activate()
        QtCore.QTimer.singleShot(0, activate)  # again once the closed dialog's own events are processed
