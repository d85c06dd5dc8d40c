"""The window as the features see it: :class:`WindowHost` implements :class:`anylabel.gui.features.FeatureHost`.

This is the one module that knows both the window's internals and what features need: when the window
changes (the annotation session of issue 14), this file changes, not the features.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from PyQt5 import QtWidgets
from PyQt5.QtCore import Qt

from anylabel.gui.features import SuggestionProvider
from anylabel.session.prompts import BoxPrompt, PromptItem
from anylabel.votes import LabelSuggestion

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.main_window import MainWindow

log = logging.getLogger(__name__)


class WindowPrompting:
    """:class:`~anylabel.gui.features.Prompting` over the window's AI controller and canvas."""

    def __init__(self, window: "MainWindow") -> None:
        self._w = window

    def image_id(self) -> Optional[str]:
        return self._w.ai.image_id

    def preview_mask(self) -> Optional[np.ndarray]:
        return self._w.ai.preview_mask

    def has_prompts(self) -> bool:
        return self._w.ai.has_prompts

    def clear(self) -> None:
        self._w.ai.clear()

    def shown(self) -> Tuple[Any, int]:
        """The result shown as the preview (or None) and which of its candidates."""
        return self._w.ai.result, self._w.ai.candidate

    def first_prompt(self) -> Optional[PromptItem]:
        """The first of the session's prompts (a :class:`PointPrompt` or :class:`BoxPrompt`), or None."""
        items = self._w.session.prompts.items
        return items[0] if items else None

    def show_answer_for_box(self, box: Sequence[float], answer: Callable[[int, Any], Any]) -> Any:
        return self._w.ai.show_answer_for_box(box, answer)

    def set_first_box(self, box: Union[BoxPrompt, Sequence[float]]) -> None:
        """Move the box prompt (the first prompt) to ``box`` without asking the model again: the shown answer
        is the one the new box describes (the session's :meth:`~AnnotationSession.retarget_prompt`)."""
        first = self.first_prompt()
        new = box if isinstance(box, BoxPrompt) else BoxPrompt.of(box)
        if first is not None:
            self._w.session.retarget_prompt(first, new)

    def settings(self) -> Tuple[float, float, Tuple[int, int, int, float]]:
        """(polygon tolerance, minimum part area, preview colour) of the AI answers."""
        ai = self._w.ai
        return ai.tolerance, ai.min_area, ai.colour

    def set_busy(self, text: str) -> None:
        self._w.canvas.set_busy(text)

    def focus(self) -> None:
        self._w.canvas.setFocus()


class WindowDocuments:
    """:class:`~anylabel.gui.features.Documents` over the window's folder, image and history."""

    def __init__(self, window: "MainWindow") -> None:
        self._w = window
        self._saved_prefetch: Optional[int] = None

    @property
    def folder(self) -> Any:
        return self._w.folder

    @property
    def row(self) -> Optional[int]:
        return self._w.row

    @property
    def annotation(self) -> Any:
        return self._w.annotation

    @property
    def dirty(self) -> bool:
        return self._w.history is not None and self._w.history.dirty

    @property
    def output_dir(self) -> Optional[str]:
        return self._w.output_dir

    def show_folder(self, folder: Any) -> None:
        """Make ``folder`` (an :class:`~anylabel.session.folder.ImageFolder`-like object) the window's folder
        and show its first row (the caller asked about unsaved work)."""
        w = self._w
        w.folder, w.row = folder, None
        w.file_list.set_folder(folder)
        w.load_row(0, ask=False)

    def show_row(self, row: int, ask: bool = True) -> bool:
        return self._w.load_row(row, ask=ask)

    def reload_row(self, row: int) -> None:
        """Show ``row`` again from its file (the window holds no unsaved change)."""
        self._w.row = None
        self._w.load_row(row, ask=False)

    def refresh_row(self, row: int) -> None:
        """The file of ``row`` was written elsewhere: update its mark in the file list."""
        self._w.file_list.model.refresh_row(row)

    def save(self) -> bool:
        return self._w.save()

    def push(self, command: Any) -> Sequence[int]:
        """Apply a :class:`~anylabel.document.history.Command` to the shown annotation (one undo step)."""
        return self._w.history.push(command)

    def finished_shapes(self, mask: np.ndarray, polygons: Sequence[np.ndarray], choice: Any) -> Any:
        return self._w.finished_shapes(mask, polygons, choice)

    def object_finished(self, label: str, indices: Sequence[int]) -> None:
        """After a feature added a finished object: remember the label, drop the prompts, select it."""
        w = self._w
        w.last_label = label
        w.ai.clear()
        w.canvas.set_selection(set(indices))
        w.after_object_finished()

    def set_selection(self, indices: Sequence[int]) -> None:
        self._w.canvas.set_selection(set(indices))

    def suspend_prefetch(self, suspended: bool) -> None:
        """Stop (or resume) pre-encoding the next images with the image model (video frames are not)."""
        cfg = self._w.config
        if suspended and self._saved_prefetch is None:
            self._saved_prefetch, cfg.prefetch = cfg.prefetch, 0
        elif not suspended and self._saved_prefetch is not None:
            cfg.prefetch, self._saved_prefetch = self._saved_prefetch, None

    def on_folder_changed(self, fn: Callable[[], None]) -> None:
        self._w.file_list.model.modelReset.connect(fn)

    def on_row_changed(self, fn: Callable[[], None]) -> None:
        self._w.file_list.view.selectionModel().currentChanged.connect(lambda *_: fn())

    def on_selection_changed(self, fn: Callable[[List[int]], None]) -> None:
        self._w.canvas.selectionChanged.connect(fn)

    def mark_saved(self) -> None:
        """The shown annotation equals its file now (a feature wrote the file and showed what it holds)."""
        self._w.history.mark_saved()

    def on_shapes_changed(self, fn: Callable[[str], None]) -> None:
        """``fn(kind)`` after every change of the shown annotation's shapes: ``do``, ``undo``, ``redo`` (a
        person's edit), ``reset`` (an image shown or reloaded), ``saved``."""
        self._w.session.shapes_changed.connect(lambda event: fn(event.kind))


class WindowHost:
    """:class:`~anylabel.gui.features.FeatureHost` for a :class:`~anylabel.gui.main_window.MainWindow`."""

    def __init__(self, window: "MainWindow") -> None:
        self._w = window
        self.prompting = WindowPrompting(window)
        self.documents = WindowDocuments(window)
        self._finishers: List[Callable[[np.ndarray, List[np.ndarray]], bool]] = []
        self._device_listeners: List[Callable[[str], None]] = []
        # F goes through the features' finishers first (video mode confirms a tracked object), then the window
        window.ai.finishReady.disconnect(window.finish_ai_object)
        window.ai.finishReady.connect(self.finish)

    # ------------------------------------------------------------------ settings, models, messages
    @property
    def config(self) -> Any:
        return self._w.config

    @property
    def registry(self) -> Any:
        return self._w.registry

    def widget(self) -> QtWidgets.QMainWindow:
        return self._w

    def status(self, text: str, ms: int = 4000) -> None:
        self._w.statusBar().showMessage(text, ms)

    def status_text(self) -> str:
        return self._w.statusBar().currentMessage()

    def clear_status(self) -> None:
        self._w.statusBar().clearMessage()

    def warn(self, message: str, title: str = "anylabel") -> None:
        self._w.warn(message, title)

    def refocus(self) -> None:
        self._w.refocus()

    def on_device_changed(self, fn: Callable[[str], None]) -> None:
        self._device_listeners.append(fn)

    def device_changed(self, name: str) -> None:
        """Called by the Device menu after the image model was reloaded on ``name``."""
        for fn in list(self._device_listeners):
            fn(name)

    def on_model_chosen(self, fn: Callable[[str], None]) -> None:
        self._w.model_picker.modelChosen.connect(fn)

    def image_model(self) -> Any:
        """The image model's worker (:class:`~anylabel.gui.ai.worker.SegmentWorker`: ``name``, ``segmenter``,
        ``load_error``), or None before a model is chosen."""
        return self._w.worker

    def start_download(self, spec: Any) -> None:
        """Download ``spec`` with the model picker's progress dialog; it is chosen when done."""
        self._w.model_picker.start_download(spec)

    # ------------------------------------------------------------------ the current image
    def current_image(self) -> Optional[np.ndarray]:
        return self._w.image

    def current_path(self) -> Optional[str]:
        w = self._w
        if w.folder is None or w.row is None:
            return None
        return str(w.folder.image_path(w.row))

    def annotation_folder(self) -> Optional[str]:
        """The folder of the LabelMe files: the output folder, else the images' folder (None: nothing open)."""
        w = self._w
        if w.output_dir:
            return str(w.output_dir)
        return str(w.folder.folder) if w.folder is not None else None

    def images_folder(self) -> Optional[str]:
        """The images' folder when the LabelMe files live elsewhere (``--output``), else None."""
        w = self._w
        return str(w.folder.folder) if w.output_dir and w.folder is not None else None

    def known_labels(self) -> List[str]:
        return self._w.known_labels()

    def on_image_loaded(self, fn: Callable[[str], None]) -> None:
        self._w.imageLoaded.connect(fn)

    def on_preview_changed(self, fn: Callable[[], None]) -> None:
        self._w.ai.previewChanged.connect(fn)

    # ------------------------------------------------------------------ label suggestions
    def add_suggestion_provider(self, name: str, fn: SuggestionProvider, first: bool = False,
                                after: Optional[str] = None) -> None:
        """Register ``fn`` as the label-suggestion source ``name`` (replacing one of that name): first, right
        after the source ``after`` when it is there, else last. The label dialog shows the sources in order."""
        providers = [(n, f) for n, f in self._w.suggestion_providers if n != name]
        if first:
            at = 0
        else:
            at = next((i + 1 for i, (n, _) in enumerate(providers) if n == after), len(providers))
        providers.insert(at, (name, fn))
        self._w.suggestion_providers[:] = providers

    def remove_suggestion_provider(self, name: str) -> None:
        self._w.suggestion_providers[:] = [(n, f) for n, f in self._w.suggestion_providers if n != name]

    def suggestions_from(self, name: str, image: np.ndarray, mask: np.ndarray) -> List[LabelSuggestion]:
        """The proposals of the source ``name`` alone ([] when it is not registered)."""
        for n, fn in self._w.suggestion_providers:
            if n == name:
                return [LabelSuggestion(str(label), float(c)) for label, c in fn(image, mask)]
        return []

    def suggestion_sources(self, mask: np.ndarray) -> Dict[str, List[LabelSuggestion]]:
        """Every source's proposals for ``mask`` on the current image (a failing source is reported)."""
        return self._w.label_suggestion_sources(mask)

    # ------------------------------------------------------------------ menus, actions, docks
    def menu(self, name: str) -> Optional[QtWidgets.QMenu]:
        return self._w.menus.get(name)

    def add_action(self, action: QtWidgets.QAction) -> None:
        """A window-wide action (its shortcut works wherever the focus is in the window)."""
        self._w.addAction(action)

    def add_corner_widget(self, widget: QtWidgets.QWidget) -> None:
        """In the menu bar's free right corner; a native menu bar (macOS) shows no widgets: there the
        widget gets a tool bar of its own."""
        w = self._w
        bar = w.menuBar()
        if not bar.isNativeMenuBar():
            holder = QtWidgets.QWidget()
            layout = QtWidgets.QHBoxLayout(holder)
            layout.setContentsMargins(0, 1, 6, 1)
            layout.addWidget(widget)
            bar.setCornerWidget(holder, Qt.TopRightCorner)
            return
        toolbar = QtWidgets.QToolBar(widget.objectName() or "feature", w)
        toolbar.setObjectName(widget.objectName() or "feature")
        toolbar.addWidget(widget)
        w.addToolBarBreak(Qt.TopToolBarArea)
        w.addToolBar(Qt.TopToolBarArea, toolbar)

    def add_dock(self, key: str, title: str, widget: QtWidgets.QWidget, area: Any) -> QtWidgets.QDockWidget:
        """A hidden dock in ``area`` (``Qt.BottomDockWidgetArea`` ...), listed in the window's docks as ``key``."""
        dock = QtWidgets.QDockWidget(title, self._w)
        dock.setObjectName(key)
        dock.setWidget(widget)
        self._w.addDockWidget(area, dock)
        self._w.docks[key] = dock
        dock.hide()
        return dock

    # ------------------------------------------------------------------ prompting, documents, finishing
    def route_clicks(self, worker: Any) -> None:
        """Send the AI clicks to ``worker`` (a :class:`~anylabel.gui.ai.worker.SegmentWorker`-like object, e.g.
        the tracker), or back to the image model with None."""
        self._w.ai.set_worker(worker if worker is not None else self._w.worker)

    def clicks_routed_to(self, worker: Any) -> bool:
        return self._w.ai.worker is worker

    def open_path(self, path: str) -> bool:
        return self._w.open_path(path)

    def maybe_leave(self) -> bool:
        """Ask about (or autosave) unsaved changes of the shown image; False: the user cancelled."""
        return self._w.maybe_leave()

    def intercept_finish(self, fn: Callable[[np.ndarray, List[np.ndarray]], bool]) -> None:
        """``fn(mask, polygons) -> handled`` runs first when an AI object is finished (F); when it returns
        False the window finishes the object itself."""
        self._finishers.append(fn)

    def finish(self, mask: np.ndarray, polygons: List[np.ndarray]) -> None:
        """The window's F: the features' finishers first, else the window's own finish."""
        for fn in list(self._finishers):
            if fn(mask, polygons):
                return
        self._w.finish_ai_object(mask, polygons)

    def ask_label(self, default: str, sources: Mapping[str, List[LabelSuggestion]]) -> Any:
        return self._w.ask_label(default, dict(sources))

    def label_icon(self, label: str) -> Any:
        """The colour swatch of ``label`` as the canvas paints it (a QIcon)."""
        return self._w.colors.icon(label)

    @property
    def last_label(self) -> str:
        return self._w.last_label
