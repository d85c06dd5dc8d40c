"""The main window's actions, menus and toolbar, with shortcuts from the settings file."""
from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Callable, Dict, List, Optional

from PyQt5 import QtGui, QtWidgets
from PyQt5.QtCore import Qt

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.main_window import MainWindow

SP = QtWidgets.QStyle


def key_sequences(keys: List[str]) -> List[QtGui.QKeySequence]:
    """Qt key sequences for the strings of the settings file; raises ValueError for one Qt cannot read."""
    out = []
    for k in keys:
        seq = QtGui.QKeySequence.fromString(k, QtGui.QKeySequence.PortableText)
        unknown = any((int(seq[i]) & ~int(Qt.KeyboardModifierMask)) == int(Qt.Key_unknown) for i in range(seq.count()))
        if seq.isEmpty() or unknown:
            raise ValueError(f"not a key sequence Qt understands: {k!r}")
        out.append(seq)
    return out


#: the drawing modes beyond AI / polygon / rectangle / edit: (mode, menu text, tip); see anylabel.gui.canvas
DRAW_MODES = (
    ("brush", "Brush", "Paint the AI preview or the selected shape (it becomes a mask); [ ] change the radius"),
    ("eraser", "Eraser", "Erase from the AI preview or the selected shape; [ ] change the radius"),
    ("point", "Point", "Draw points"),
    ("line", "Line", "Draw lines"),
    ("linestrip", "Line strip", "Draw line strips"),
    ("circle", "Circle", "Draw circles"),
    ("rotation", "Rotated rectangle", "Draw rotated rectangles (Z / X turn the selected one)"),
)
#: every canvas mode with an action ``<mode>_mode``, in menu order
MODES = ("ai", "polygon", "rectangle", "edit") + tuple(m for m, _, _ in DRAW_MODES)


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def build_actions(w: "MainWindow") -> Dict[str, QtWidgets.QAction]:
    """Create every action of the window (shortcut names are the keys of ``config.SHORTCUTS``)."""
    style = w.style()
    acts: Dict[str, QtWidgets.QAction] = {}
    bad: List[str] = []

    def add(name: str, text: str, slot: Callable, icon: Optional[int] = None, checkable: bool = False,
            tip: str = "") -> QtWidgets.QAction:
        act = QtWidgets.QAction(text, w)
        if icon is not None:
            act.setIcon(style.standardIcon(icon))
        act.setCheckable(checkable)
        try:
            act.setShortcuts(key_sequences(w.config.shortcut(name)))
        except ValueError as e:
            bad.append(f"{name}: {e}")
        keys = ", ".join(w.config.shortcut(name))
        act.setToolTip(f"{tip or text.replace('&', '')}" + (f"  ({keys})" if keys else ""))
        act.setStatusTip(tip or text.replace("&", ""))
        act.triggered.connect(slot if checkable else (lambda _=False, s=slot: s()))
        w.addAction(act)  # shortcuts work whatever has focus, also with the menu bar hidden
        acts[name] = act
        return act

    add("open_file", "&Open…", w.open_file_dialog, SP.SP_DialogOpenButton)
    add("open_dir", "Open &folder…", w.open_dir_dialog, SP.SP_DirOpenIcon)
    add("save", "&Save", w.save, SP.SP_DialogSaveButton)
    add("quit", "&Quit", w.close)
    add("next_image", "&Next image", w.next_image, SP.SP_ArrowForward)
    add("prev_image", "&Previous image", w.prev_image, SP.SP_ArrowBack)
    add("undo", "&Undo", w.undo)
    add("redo", "&Redo", w.redo)
    add("delete", "&Delete", w.delete_selected)
    add("copy", "&Copy", w.copy_selected)
    add("paste", "&Paste", w.paste)
    add("change_label", "Change &label…", w.change_label)
    add("select_all", "Select &all", w.select_all)
    add("duplicate", "&Duplicate", w.duplicate_selected)
    add("bring_to_front", "Bring to &front", w.bring_to_front)
    add("send_to_back", "Send to &back", w.send_to_back)
    for mode, text in (("ai", "AI"), ("polygon", "Polygon"), ("rectangle", "Rectangle"), ("edit", "Edit")):
        add(f"{mode}_mode", text, lambda m=mode: w.set_mode(m), checkable=False,
            tip={"ai": "AI mode: click = positive point, right click = negative, drag = box",
                 "polygon": "Draw a polygon", "rectangle": "Draw a rectangle",
                 "edit": "Select, move and reshape shapes"}[mode]).setCheckable(True)
    # ---- mask and shape editing (issue 15, gui-draw): modes, brush radius, boolean edits, turning, re-prompt
    for mode, text, tip in DRAW_MODES:
        add(f"{mode}_mode", text, lambda m=mode: w.set_mode(m), tip=tip).setCheckable(True)
    se = w.shape_edits
    add("brush_smaller", "Brush s&maller", lambda: se.change_brush_radius(False))
    add("brush_larger", "Brush &larger", lambda: se.change_brush_radius(True))
    add("rotate_left", "Turn &left (1°)", lambda: se.rotate(False))
    add("rotate_right", "Turn &right (1°)", lambda: se.rotate(True))
    add("union_shapes", "&Union of shapes", se.union)
    add("subtract_shapes", "&Subtract shapes (second from first)", se.subtract)
    add("intersect_shapes", "&Intersect shapes", se.intersect)
    add("to_mask", "To &mask shapes", se.to_mask)
    add("to_polygons", "To &polygons", se.to_polygons)
    add("reprompt_shape", "&Refine shape with the model…", se.reprompt)
    # ---- end of gui-draw's block
    group = QtWidgets.QActionGroup(w)
    for mode in MODES:
        group.addAction(acts[f"{mode}_mode"])
    add("finish_object", "&Finish object", w.ai.finish, tip="Finish the object: label dialog, then a shape")
    add("clear_prompts", "Clear &prompts", w.ai.clear)
    add("cycle_candidate", "Next mask &candidate", w.ai.cycle_candidate)
    add("toggle_output", "Output &masks instead of polygons", w.set_mask_output, checkable=True)
    add("toggle_shapes", "&Hide shapes", w.toggle_shapes, checkable=True)
    add("fit_window", "&Fit to window", w.canvas.fit_to_window)
    add("zoom_in", "Zoom &in", lambda: w.canvas.zoom_at(1.25))
    add("zoom_out", "Zoom &out", lambda: w.canvas.zoom_at(0.8))
    add("zoom_original", "Zoom &100 %", lambda: w.canvas.set_zoom(1.0))
    add("shortcuts", "&Shortcuts…", w.show_shortcuts)
    add("propagate", "&Propagate tracks", w.video_action("propagate"))
    add("propagate_backward", "Propagate tracks &backward", w.video_action("propagate_backward"))
    add("propagate_both", "Propagate tracks both &ways", w.video_action("propagate_both"))
    add("interpolate", "&Interpolate between keyframes", w.video_action("interpolate"),
        tip="Fill the frames between two keyframes of the selected track (or of every track)")
    add("reset_tracker", "&Reset tracker", w.video_action("reset_tracker"))
    add("export", "&Export dataset…", w.open_export)
    # issue 15 part B (gui-review): segment everything, view adjustment, review, polygon detail
    add("everything", "Segment &everything", w.everything.toggle,
        tip="Segment everything: every object the model finds becomes a candidate; click one to keep it")
    add("view_adjust", "Adjust &image…", w.view_adjust.open,
        tip="Brightness, contrast and gamma of the display only (the image and the files are unchanged)")
    add("toggle_checked", "Mark &checked", w.review.toggle_checked, tip="Mark the image checked (reviewed) or not")
    add("next_unchecked", "Next unchecked", w.review.next_unchecked, tip="Go to the next image not checked")
    add("prev_unchecked", "Previous unchecked", w.review.prev_unchecked, tip="Go to the previous image not checked")
    add("detail_finer", "&Finer polygons", w.polygon_detail.finer, tip="AI polygons with more vertices")
    add("detail_coarser", "C&oarser polygons", w.polygon_detail.coarser, tip="AI polygons with fewer vertices")
    acts["autosave"] = QtWidgets.QAction("&Autosave", w, checkable=True)
    acts["autosave"].setChecked(w.config.autosave)
    acts["autosave"].toggled.connect(w.set_autosave)
    acts["output_dir"] = QtWidgets.QAction("Output &folder…", w)
    acts["output_dir"].triggered.connect(w.choose_output_dir)
    acts["stats"] = QtWidgets.QAction("Dataset &statistics…", w)
    acts["stats"].triggered.connect(w.open_stats)
    acts["import"] = QtWidgets.QAction("&Import annotations…", w)
    acts["import"].triggered.connect(w.open_import)
    acts["about"] = QtWidgets.QAction("&About anylabel", w)
    acts["about"].triggered.connect(w.show_about)
    acts["export"].setEnabled(_module_exists("anylabel.gui.dialogs.export"))
    acts["import"].setEnabled(_module_exists("anylabel.gui.dialogs.export"))
    acts["stats"].setEnabled(_module_exists("anylabel.gui.dialogs.stats"))
    w.bad_shortcuts = bad
    return acts


def build_menus(w: "MainWindow", acts: Dict[str, QtWidgets.QAction]) -> Dict[str, QtWidgets.QMenu]:
    bar = w.menuBar()
    menus: Dict[str, QtWidgets.QMenu] = {}

    def menu(key: str, title: str, names: List[Optional[str]]) -> QtWidgets.QMenu:
        m = bar.addMenu(title)
        for n in names:
            m.addSeparator() if n is None else m.addAction(acts[n])
        menus[key] = m
        return m

    menu("file", "&File", ["open_file", "open_dir", None, "save", "autosave", "output_dir", None,
                           "export", "import", "stats", None, "quit"])
    menu("edit", "&Edit", ["undo", "redo", None, "copy", "paste", "delete", "select_all", None, "change_label",
                           "duplicate", "bring_to_front", "send_to_back",
                           None, "union_shapes", "subtract_shapes", "intersect_shapes", "to_mask", "to_polygons",
                           "reprompt_shape", "rotate_left", "rotate_right", "brush_smaller", "brush_larger"])
    menu("mode", "&Mode", [f"{m}_mode" for m in MODES])
    menu("ai", "&AI", ["finish_object", "clear_prompts", "cycle_candidate", None, "toggle_output", None,
                       "everything", "detail_finer", "detail_coarser"])
    menu("view", "&View", ["fit_window", "zoom_in", "zoom_out", "zoom_original", None, "toggle_shapes",
                           "view_adjust"])
    menu("go", "&Go", ["next_image", "prev_image", None, "next_unchecked", "prev_unchecked", "toggle_checked"])
    menu("video", "&Video", ["propagate", "propagate_backward", "propagate_both", "interpolate", "reset_tracker"])
    menu("help", "&Help", ["shortcuts", "about"])
    menus["view"].addSeparator()
    for dock in w.docks.values():
        menus["view"].addAction(dock.toggleViewAction())
    return menus


def build_toolbar(w: "MainWindow", acts: Dict[str, QtWidgets.QAction]) -> QtWidgets.QToolBar:
    tb = QtWidgets.QToolBar("Tools", w)
    tb.setObjectName("tools")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
    for n in ("open_dir", "save", "prev_image", "next_image"):
        tb.addAction(acts[n])
    tb.addSeparator()
    for n in ("ai_mode", "polygon_mode", "rectangle_mode", "edit_mode", "brush_mode", "eraser_mode"):
        tb.addAction(acts[n])
    tb.addSeparator()
    tb.addWidget(QtWidgets.QLabel(" Model "))
    tb.addWidget(w.model_picker)
    for n in ("finish_object", "clear_prompts", "cycle_candidate", "toggle_output"):
        tb.addAction(acts[n])
    for name, text in (("toggle_output", "Masks"), ("cycle_candidate", "Next mask"), ("finish_object", "Finish"),
                       ("clear_prompts", "Clear"), ("open_dir", "Open"), ("prev_image", "Prev"),
                       ("next_image", "Next")):
        acts[name].setIconText(text)  # short toolbar labels; menus and tooltips keep the full text
    w.addToolBar(Qt.TopToolBarArea, tb)
    return tb
