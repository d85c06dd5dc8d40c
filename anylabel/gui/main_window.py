"""The main window: image list, canvas, label and shape lists, model picker, status bar.

The window is a view over one :class:`~anylabel.session.AnnotationSession` (``window.session``, Qt-free):
the image, its annotation and history, the prompts and the preview, the selected and hidden shapes (by
stable id) all live there. The window renders the session's events (``image_changed``, ``shapes_changed``,
``selection_changed``, ``visibility_changed``, ``preview_changed``) and turns input into session calls:
:class:`~anylabel.gui.navigation.Navigation` (open, next / previous, save and its questions),
:class:`~anylabel.gui.editing.Editing` (label dialog, edit actions), :class:`AiController` (prompts → the
:class:`SegmentWorker` thread → the preview).

Kept for the other GUI modules (video panel, suggestions, find, export), as thin delegations to the
session or to those objects: ``window.annotation``, ``history``, ``image``, ``folder``, ``row``,
``last_label``, ``mask_output``, ``finish_ai_object``, ``finished_shapes``, ``ask_label``, ``save``,
``load_row``, ``maybe_leave``, ``after_object_finished``, ``label_suggestion_sources``, ``known_labels``.

Features (SSA vote, CLIP, video, export / import, statistics) are registered explicitly: each module's
``attach(host)`` gets a :class:`~anylabel.gui.host.WindowHost`, the documented API of
:mod:`anylabel.gui.features` (see :mod:`anylabel.gui.plugins` for the list and the menu commands).
"""
from __future__ import annotations

import logging
from typing import Callable, Optional, Sequence

from PyQt5 import QtCore, QtGui, QtWidgets
from PyQt5.QtCore import Qt

from anylabel import __version__
from anylabel.backends import Segmenter
from anylabel.config import Config
from anylabel.document.history import HistoryEvent
from anylabel.gui.actions import build_actions, build_menus, build_toolbar
from anylabel.gui.ai.controller import AiController
from anylabel.gui.ai.device_menu import DeviceMenu
from anylabel.gui.ai.everything import SegmentEverything
from anylabel.gui.ai.model_picker import ModelPicker
from anylabel.gui.ai.models_glue import default_segmenter_factory, initial_model, load_registry
from anylabel.gui.ai.worker import SegmentWorker
from anylabel.gui.canvas.colors import LabelColors
from anylabel.gui.canvas.widget import Canvas
from anylabel.gui.dialogs.label import ShortcutsDialog, ask_changed_on_disk, ask_save_path, ask_unsaved
from anylabel.gui.editing import Editing
from anylabel.gui.features import FeatureFactory
from anylabel.gui.navigation import VIDEO_EXTENSIONS, Navigation  # noqa: F401 - re-exported
from anylabel.gui.panels.details import ImageDetailsPanel
from anylabel.gui.panels.docks import LabelListWidget, ShapeListWidget
from anylabel.gui.panels.file_list import FileListWidget
from anylabel.gui.plugins import DEFAULT_FEATURES, PluginsMixin
from anylabel.gui.polygon_detail import PolygonDetail, detail_toolbar
from anylabel.gui.review import Review
from anylabel.gui.shape_edits import ShapeEditing
from anylabel.gui.view_adjust import ViewAdjust
from anylabel.imaging.readahead import ImageReadAhead
from anylabel.session import AnnotationSession, ImageFolder
from anylabel.session.folder import display_name

log = logging.getLogger(__name__)


def _delegate(owner: str, name: str) -> Callable:
    """A window method that calls ``window.<owner>.<name>`` (kept for callers of the window's old API)."""

    def call(self, *args, **kwargs):
        return getattr(getattr(self, owner), name)(*args, **kwargs)

    call.__name__, call.__doc__ = name, f"``self.{owner}.{name}``"
    return call


class MainWindow(PluginsMixin, QtWidgets.QMainWindow):
    """The annotation window.

    Args:
        config: the user's settings (defaults when None).
        output_dir: folder for LabelMe files (overrides ``config.output_dir``); None = next to the images.
        registry: the model registry (``ModelRegistry.load()`` when None).
        segmenter_factory: ``fn(model name) -> Segmenter``, called on the worker thread (tests pass fakes).
        model: the model to start with (default: ``config.default_model``, else the best available).
        features: the ``attach(host)`` functions of the window's features (None: :data:`DEFAULT_FEATURES`).
    """

    #: the path of the image just shown (the SSA vote prepares its class map then)
    imageLoaded = QtCore.pyqtSignal(str)

    def __init__(self, config: Optional[Config] = None, output_dir: Optional[str] = None, registry=None,
                 segmenter_factory: Optional[Callable[[str], Segmenter]] = None, model: Optional[str] = None,
                 features: Optional[Sequence[FeatureFactory]] = None) -> None:
        super().__init__()
        self.config = config or Config()
        self.readahead = ImageReadAhead()  # the neighbours of the shown image, decoded in the background
        self.colors = LabelColors(self.config.label_colors)
        self.output_dir = output_dir or self.config.output_dir
        self.session = AnnotationSession(self.output_dir, self.config.polygon_tolerance, self.config.min_part_area,
                                         self.config.ai_output == "mask",
                                         image_loader=lambda path: self.readahead.get(path), config=self.config)
        self.session.last_label = self.config.labels[0] if self.config.labels else ""
        self.worker: Optional[SegmentWorker] = None
        self.label_dialog = None
        self.ask_unsaved = ask_unsaved
        self.ask_changed = ask_changed_on_disk  # the annotation file changed on disk: reload / keep mine / save as
        self.ask_save_path = ask_save_path
        self.messages = {}  # title -> the non-modal QMessageBox showing the latest problem

        self.canvas = Canvas(self.colors)
        self.canvas.bind(self.session)
        self.canvas.fill_alpha = self.config.mask_opacity
        self.ai = AiController(self.canvas, self.session, self)
        self.ai.set_colour(QtGui.QColor(0, 200, 255), self.config.mask_opacity)
        self.setCentralWidget(self.canvas)
        self.navigation = Navigation(self, self.session)
        self.editing = Editing(self, self.session)
        self.shape_edits = ShapeEditing(self, self.session)  # boolean edits, turning, re-prompt, brush radius
        self.file_list = FileListWidget()
        self.label_list = LabelListWidget(self.colors)
        self.label_list.add_known(self.config.labels)
        self.shape_list = ShapeListWidget(self.colors)
        self.image_details = ImageDetailsPanel(self.session, self.config, ", ".join(self.config.shortcut(
            "toggle_checked")))
        self.docks = {
            "labels": self._dock("Labels", self.label_list, Qt.RightDockWidgetArea),
            "shapes": self._dock("Shapes", self.shape_list, Qt.RightDockWidgetArea),
            "files": self._dock("Images", self.file_list, Qt.RightDockWidgetArea),
            "image": self._dock("Image", self.image_details, Qt.RightDockWidgetArea),
        }
        self.tabifyDockWidget(self.docks["labels"], self.docks["image"])  # flags, tags, checked: beside labels
        self.docks["labels"].raise_()
        # issue 15 part B: segment everything, view adjustment, review, polygon detail (their own modules)
        self.everything = SegmentEverything(self, self.session)
        self.view_adjust = ViewAdjust(self, self.session)
        self.review = Review(self, self.session)
        self.polygon_detail = PolygonDetail(self, self.session)
        self.model_picker = ModelPicker()
        self.actions_ = build_actions(self)
        self.menus = build_menus(self, self.actions_)
        self.device_menu = DeviceMenu(self, self.menus["ai"])  # AI > Device (anylabel.gui.ai.device_menu)
        self.toolbar = build_toolbar(self, self.actions_)
        self.review_toolbar = detail_toolbar(self, self.polygon_detail, self.actions_)
        self._build_status_bar()
        self._connect()
        self.set_mode("ai")
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        QtCore.QTimer.singleShot(0, self._initial_dock_sizes)  # once laid out: sizes need the real geometry
        self._update_title()
        self.registry = registry if registry is not None else load_registry(self.warn)
        self._factory = segmenter_factory or default_segmenter_factory(self.registry, self.config.precision,
                                                                       device=lambda: self.config.device)
        self.model_picker.set_registry(self.registry, None)
        name = model or initial_model(self.registry, self.config.default_model)
        if name:
            self.set_model(name)
        if self.bad_shortcuts:
            self.warn("Some shortcuts in the settings file were ignored:\n" + "\n".join(self.bad_shortcuts))
        try:
            self._attach_features(DEFAULT_FEATURES if features is None else features)  # anylabel.gui.plugins
        except BaseException:  # a window that failed to start leaves no thread behind (the process could not exit)
            self._stop_threads()
            raise
        self.semantic = self.features.get("ssa")  # the SSA vote (AI menu, settings)

    # -------------------------------------------------------------------------------- building
    def _dock(self, title: str, widget: QtWidgets.QWidget, area) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(title.lower())
        dock.setWidget(widget)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetMovable | QtWidgets.QDockWidget.DockWidgetClosable
                         | QtWidgets.QDockWidget.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _initial_dock_sizes(self) -> None:
        docks = [self.docks[k] for k in ("labels", "shapes", "files")]
        self.resizeDocks(docks, [320] * 3, Qt.Horizontal)
        self.resizeDocks(docks, [150, 300, 400], Qt.Vertical)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.model_status = QtWidgets.QLabel("no model")
        self.position_label = QtWidgets.QLabel("")
        self.zoom_label = QtWidgets.QLabel("")
        self.mode_label = QtWidgets.QLabel("")
        for w in (self.mode_label, self.model_status, self.position_label, self.zoom_label):
            w.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(w)

    def _connect(self) -> None:
        c, s, e = self.canvas, self.session, self.editing
        s.image_changed.connect(self._on_image_changed)
        s.shapes_changed.connect(self._on_history)
        s.visibility_changed.connect(lambda _ids: self._refresh_lists())
        c.cursorMoved.connect(self._cursor_moved)
        c.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        c.shapeDrawn.connect(e.on_shape_drawn)
        c.shapesEdited.connect(e.on_shapes_edited)
        c.toolMessage.connect(lambda m: self.statusBar().showMessage(m, 5000))
        c.selectionChanged.connect(self.shape_list.select)
        c.editLabelRequested.connect(lambda i: self.change_label([i]))
        self.ai.finishReady.connect(self.finish_ai_object)
        self.ai.previewChanged.connect(self._update_redo)  # every prompt change ends in a preview update
        self.ai.message.connect(lambda m: self.statusBar().showMessage(m, 4000))
        self.ai.error.connect(lambda m: self.warn(m, "Model error"))
        self.file_list.rowActivated.connect(self.load_row)
        self.shape_list.visibilityChanged.connect(self._shape_visibility)
        self.shape_list.selectionChangedByUser.connect(c.set_selection)
        self.shape_list.editRequested.connect(lambda i: self.change_label([i]))
        self.label_list.visibilityChanged.connect(self._label_visibility)
        self.label_list.labelActivated.connect(e.on_label_activated)
        self.model_picker.modelChosen.connect(self.set_model)
        self.model_picker.message.connect(lambda m: self.statusBar().showMessage(m, 5000))

    # ------------------------------------------------------------------------ the session, for other modules
    annotation = property(lambda self: self.session.annotation, doc="the shown image's ImageAnnotation")
    history = property(lambda self: self.session.history, doc="its undo History")
    image = property(lambda self: self.session.image, doc="its HxWx3 uint8 RGB pixels")
    suggestion_providers = property(lambda self: self.editing.suggestion_providers,
                                    doc="(source name, fn(image, mask) -> [(label, confidence)]), changed in place")

    @property
    def folder(self) -> Optional[ImageFolder]:
        return self.session.folder

    @folder.setter
    def folder(self, folder) -> None:  # the video panel shows a folder of frames
        self.session.folder = folder

    @property
    def row(self) -> Optional[int]:
        return self.session.row

    @row.setter
    def row(self, row: Optional[int]) -> None:  # None: the next load_row loads the row again
        self.session.row = row

    @property
    def last_label(self) -> str:
        return self.session.last_label

    @last_label.setter
    def last_label(self, label: str) -> None:
        self.session.last_label = label

    @property
    def mask_output(self) -> bool:
        return self.session.mask_output

    # navigation, editing: the actions' slots (anylabel.gui.actions) and what other GUI modules call
    open_path = _delegate("navigation", "open_path")
    load_row = _delegate("navigation", "load_row")
    save = _delegate("navigation", "save")
    maybe_leave = _delegate("navigation", "maybe_leave")
    finish_ai_object = _delegate("editing", "finish_ai_object")
    finished_shapes = _delegate("editing", "finished_shapes")
    ask_label = _delegate("editing", "ask_label")
    known_labels = _delegate("editing", "known_labels")
    label_suggestion_sources = _delegate("editing", "label_suggestion_sources")
    label_suggestions = _delegate("editing", "label_suggestions")
    after_object_finished = _delegate("editing", "after_object_finished")
    refocus = _delegate("editing", "refocus")
    next_image = _delegate("navigation", "next_image")
    prev_image = _delegate("navigation", "prev_image")
    open_file_dialog = _delegate("navigation", "open_file_dialog")
    open_dir_dialog = _delegate("navigation", "open_dir_dialog")
    choose_output_dir = _delegate("navigation", "choose_output_dir")
    set_autosave = _delegate("navigation", "set_autosave")
    undo = _delegate("editing", "undo")
    redo = _delegate("editing", "redo")
    delete_selected = _delegate("editing", "delete_selected")
    select_all = _delegate("editing", "select_all")
    copy_selected = _delegate("editing", "copy_selected")
    paste = _delegate("editing", "paste")
    duplicate_selected = _delegate("editing", "duplicate_selected")
    bring_to_front = _delegate("editing", "bring_to_front")
    send_to_back = _delegate("editing", "send_to_back")
    change_label = _delegate("editing", "change_label")
    toggle_shapes = _delegate("editing", "toggle_shapes")
    set_mask_output = _delegate("editing", "set_mask_output")

    def open_video(self, path: str) -> bool:
        return self._open_video(path)

    # -------------------------------------------------------------------------------- models
    def set_model(self, name: str, reload: bool = False) -> None:
        """Use model ``name``: one worker thread per backend; the previous one is stopped (``reload``: also
        when it is the current model, e.g. on another device)."""
        if self.worker is not None and self.worker.name == name and not reload:
            return
        old, self.worker = self.worker, None
        if old is not None:
            old.status.disconnect()
            old.retire()  # never blocks: a running encode finishes in the background, then memory is freed
        # the embedding prefetch decodes through the display read-ahead: each next image is decoded once
        worker = SegmentWorker(lambda: self._factory(name), name, image_loader=lambda p: self.readahead.get(p))
        worker.status.connect(lambda text: self.model_status.setText(display_name(text)))
        self.worker = worker
        self.ai.set_worker(worker)
        self.model_picker.set_current(name)
        worker.load()
        self.prefetch_embeddings()

    def reload_model(self) -> None:
        """Load the current model again (its device changed)."""
        if self.worker is not None:
            self.set_model(self.worker.name, reload=True)

    def prefetch_embeddings(self) -> None:
        """The worker encodes the next images of the list in the background."""
        if self.worker is None or self.folder is None or self.row is None:
            return
        n = self.config.prefetch
        rows = range(self.row + 1, min(len(self.folder), self.row + 1 + n))
        self.worker.prefetch([str(self.folder.image_path(r)) for r in rows])

    # -------------------------------------------------------------------------------- updates
    def _on_image_changed(self) -> None:
        """The session shows another image (or none)."""
        image = self.session.image
        if image is None:
            self.canvas.set_image(None)
        else:
            qimage, _pixels = self.view_adjust.display_qimage(image)  # the display adjustment, if any
            self.canvas.set_image(qimage)
        self.canvas.set_shapes(self.session.shapes)
        self._refresh_lists()
        self._update_title()

    def _on_history(self, event: HistoryEvent) -> None:
        self.canvas.shapes_changed()
        if event.kind in ("do", "undo", "redo", "reset"):
            self._refresh_lists()
            if event.kind in ("undo", "redo"):
                self.statusBar().showMessage(f"{event.kind.capitalize()}: {event.text}", 2000)
            if event.kind != "reset":
                self.navigation.schedule_autosave()
        self.file_list.model.set_dirty(self.row if self.session.dirty else None)
        self._update_title()

    def _refresh_lists(self) -> None:
        shapes = self.session.shapes
        self.label_list.refresh(shapes)
        self.canvas.set_hidden_labels(self.label_list.hidden_labels)
        self.shape_list.refresh(shapes, self.canvas.hidden, self.canvas.selected)
        self.actions_["undo"].setEnabled(True)
        self._update_redo()

    def _update_redo(self) -> None:
        """Redo is possible for an undone AI prompt or an undone edit."""
        self.actions_["redo"].setEnabled(self.session.prompts.can_redo
                                         or (self.history is not None and self.history.can_redo))

    def _shape_visibility(self, hidden) -> None:
        """The shape list's check boxes: the unchecked shapes not hidden by their label are hidden by id."""
        self.canvas.set_hidden(set(hidden) - self.canvas.hidden_by_label())

    def _label_visibility(self, labels) -> None:
        self.canvas.set_hidden_labels(labels)
        self.shape_list.refresh(self.session.shapes, self.canvas.hidden, self.canvas.selected)

    def _update_title(self) -> None:
        name = display_name(self.folder.names[self.row]) if self.folder is not None and self.row is not None else ""
        dirty = "*" if self.history is not None and self.history.dirty else ""
        where = f" ({self.row + 1}/{len(self.folder)})" if name else ""
        self.setWindowTitle(f"{name}{dirty}{where} — anylabel {__version__}" if name else f"anylabel {__version__}")

    def _cursor_moved(self, x: float, y: float) -> None:
        h, w = self.canvas.image_size
        self.position_label.setText(f"x {x:.0f}  y {y:.0f}" if 0 <= x < w and 0 <= y < h else "")

    def set_mode(self, mode: str) -> None:
        self.canvas.set_mode(mode)
        self.actions_[f"{mode}_mode"].setChecked(True)
        self.mode_label.setText({"ai": "AI: click / box", "linestrip": "line strip", "rotation": "rotated rectangle",
                                 }.get(mode, mode))

    def warn(self, message: str, title: str = "anylabel") -> None:
        """Show a problem without blocking: status bar plus a non-modal message box (one per title)."""
        message = display_name(message)  # a non-UTF-8 file name in it: its bytes spelled out
        log.warning("%s: %s", title, message)
        self.statusBar().showMessage(message.splitlines()[0], 8000)
        box = self.messages.get(title)
        if box is None:
            box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Warning, title, "", QtWidgets.QMessageBox.Ok, self)
            box.setModal(False)
            self.messages[title] = box
        box.setText(message)
        box.show()

    def show_shortcuts(self) -> None:
        ShortcutsDialog(self, self.config).exec_()
        self.refocus()

    def show_about(self) -> None:
        QtWidgets.QMessageBox.about(self, "About anylabel", f"<b>anylabel {__version__}</b><br>"
                                    "Annotate images and videos with SAM, SAM2, FastSAM and a classical backend.")

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self.maybe_leave():
            event.ignore()
            return
        self._stop_threads()
        event.accept()

    def _stop_threads(self) -> None:
        """Every thread of the window ends: a closed window leaves none running (embedded, or a script that
        quits without an event loop, where QApplication.aboutToQuit never comes)."""
        self.everything.close()
        if hasattr(self, "features"):  # not yet there when a feature failed to start
            self.features.close()
        self.model_picker.downloads.shutdown()  # cancels a download in progress
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        self.readahead.close()
