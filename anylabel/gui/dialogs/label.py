"""Small dialogs: the label dialog (with suggestions), the shortcuts list, the unsaved-changes question."""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from PyQt5 import QtGui, QtWidgets
from PyQt5.QtCore import Qt

from anylabel.config import Config
from anylabel.document import Shape
from anylabel.gui.canvas.colors import LabelColors
from anylabel.gui.dialogs.shape_details import ShapeDetailsForm
from anylabel.gui.dialogs.shortcuts import ShortcutsDialog  # noqa: F401 - re-exported (the window, tests)

Suggestion = Tuple[str, float]


@dataclass
class LabelChoice:
    """What the label dialog answered. ``flags`` / ``attributes`` / ``difficult`` are None when the dialog
    did not offer them (the shape's details stay as they are)."""

    label: str
    group_id: Optional[int] = None
    description: str = ""
    flags: Optional[Dict[str, bool]] = None
    attributes: Optional[Dict[str, str]] = None
    difficult: Optional[bool] = None

    def details(self) -> Dict[str, Any]:
        """The keyword arguments of ``session.details.describe`` / ``edit_shapes`` / ``keep_candidate_at``."""
        return {"flags": self.flags, "attributes": self.attributes, "difficult": self.difficult}


class LabelDialog(QtWidgets.QDialog):
    """Ask for a label. Enter accepts, Esc cancels, the list and the suggestion buttons fill the text.

    Args:
        labels: known labels (the settings' labels first, then the ones seen in this session).
        text: the pre-filled label (the top suggestion, or the last label used).
        suggestions: source name (e.g. "SSA vote", "CLIP") -> [(label, confidence 0..1)], best first.
        group_id, description: pre-filled values (editing an existing shape).
        config: the settings: with them the dialog offers the shape flags, the attributes of the label typed
            and difficult (:class:`~anylabel.gui.dialogs.shape_details.ShapeDetailsForm`), pre-filled from
            ``shape`` (editing an existing shape).
    """

    def __init__(self, parent: Optional[QtWidgets.QWidget], labels: Sequence[str], text: str = "",
                 suggestions: Optional[Dict[str, List[Suggestion]]] = None, colors: Optional[LabelColors] = None,
                 group_id: Optional[int] = None, description: str = "", title: str = "Label",
                 config: Optional[Config] = None, shape: Optional[Shape] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        colors = colors or LabelColors()
        self.edit = QtWidgets.QLineEdit(text)
        self.edit.setPlaceholderText("label")
        self.edit.selectAll()
        completer = QtWidgets.QCompleter(list(labels), self)
        completer.setCaseSensitivity(Qt.CaseInsensitive)
        completer.setFilterMode(Qt.MatchContains)
        self.edit.setCompleter(completer)
        self.group = QtWidgets.QLineEdit("" if group_id is None else str(group_id))
        self.group.setPlaceholderText("group id (parts of one object)")
        self.group.setValidator(QtGui.QIntValidator(0, 1 << 30, self))
        self.group.setMaximumWidth(120)
        self.description = QtWidgets.QLineEdit(description)
        self.description.setPlaceholderText("description (optional)")
        self.list = QtWidgets.QListWidget()
        for label in labels:
            self.list.addItem(QtWidgets.QListWidgetItem(colors.icon(label), label))
        self.list.itemClicked.connect(lambda it: self.edit.setText(it.text()))
        self.list.itemDoubleClicked.connect(lambda it: (self.edit.setText(it.text()), self.accept()))
        self.edit.textChanged.connect(self._filter)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.edit)
        self.suggestion_buttons: List[QtWidgets.QPushButton] = []
        for source, items in (suggestions or {}).items():
            if not items:
                continue
            row = QtWidgets.QHBoxLayout()
            row.addWidget(QtWidgets.QLabel(f"<b>{source}</b>"))
            for name, conf in items[:5]:
                button = QtWidgets.QPushButton(colors.icon(name), f"{name}  {conf:.0%}")
                button.setToolTip(f"{source}: {name} ({conf:.1%})")
                button.setFlat(True)
                button.setAutoDefault(False)
                button.clicked.connect(lambda _=False, n=name: self.edit.setText(n))
                row.addWidget(button)
                self.suggestion_buttons.append(button)
            row.addStretch(1)
            layout.addLayout(row)
        extra = QtWidgets.QHBoxLayout()
        extra.addWidget(self.group)
        extra.addWidget(self.description)
        layout.addLayout(extra)
        self.details: Optional[ShapeDetailsForm] = None
        if config is not None:
            self.details = ShapeDetailsForm(config, text, shape.flags if shape else None,
                                            shape.attributes if shape else None, bool(shape and shape.difficult))
            self.edit.textChanged.connect(self.details.set_label)
            layout.addWidget(self.details)
        layout.addWidget(self.list)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(360, 320)

    def _filter(self, text: str) -> None:
        t = text.strip().lower()
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(t) and t not in item.text().lower())

    def accept(self) -> None:
        if not self.edit.text().strip():
            self.edit.setFocus()
            return  # an empty label is not a label: stay open
        super().accept()

    def choice(self) -> LabelChoice:
        group = self.group.text().strip()
        choice = LabelChoice(self.edit.text().strip(), int(group) if group else None, self.description.text().strip())
        if self.details is not None:
            self.details.set_label(choice.label)
            choice.flags, choice.attributes = self.details.flags(), self.details.attributes()
            choice.difficult = self.details.is_difficult()
        return choice

    def ask(self) -> Optional[LabelChoice]:
        """Run modally; the choice, or None when cancelled."""
        self.edit.setFocus()
        return self.choice() if self.exec_() == QtWidgets.QDialog.Accepted else None


def ask_unsaved(parent: Optional[QtWidgets.QWidget], name: str) -> str:
    """"save", "discard" or "cancel" for an image with unsaved changes."""
    box = QtWidgets.QMessageBox(parent)
    box.setIcon(QtWidgets.QMessageBox.Warning)
    box.setWindowTitle("Unsaved changes")
    box.setText(f"<b>{html.escape(name)}</b> has unsaved changes.")
    box.setInformativeText("Save them before leaving this image?")
    save = box.addButton("Save", QtWidgets.QMessageBox.AcceptRole)
    discard = box.addButton("Discard changes", QtWidgets.QMessageBox.DestructiveRole)
    box.addButton(QtWidgets.QMessageBox.Cancel)
    box.setDefaultButton(save)
    box.exec_()
    clicked = box.clickedButton()
    return "save" if clicked is save else "discard" if clicked is discard else "cancel"


def ask_changed_on_disk(parent: Optional[QtWidgets.QWidget], name: str) -> str:
    """The annotation file changed on disk since it was opened: "reload", "overwrite", "save_as" or "cancel"."""
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Warning, "Changed on disk",
                                f"{name} was changed on disk by another program since you opened it here.",
                                parent=parent)
    box.setInformativeText("Reload: show the file as it is now (your unsaved changes are dropped).\n"
                           "Keep mine: overwrite the file with your version (the other changes are lost).\n"
                           "Save as: write your version to a new file and leave theirs alone.")
    buttons = {
        box.addButton("Reload", QtWidgets.QMessageBox.DestructiveRole): "reload",
        box.addButton("Keep mine", QtWidgets.QMessageBox.AcceptRole): "overwrite",
        box.addButton("Save as…", QtWidgets.QMessageBox.ActionRole): "save_as",
    }
    cancel = box.addButton(QtWidgets.QMessageBox.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.exec_()
    return buttons.get(box.clickedButton(), "cancel")


def ask_save_path(parent: Optional[QtWidgets.QWidget], suggested: str) -> str:
    """A LabelMe file name to save to ("" when cancelled)."""
    path, _ = QtWidgets.QFileDialog.getSaveFileName(parent, "Save the annotation as", suggested,
                                                    "LabelMe JSON (*.json)")
    return path
