"""The "Image" dock: the shown image's review mark, its flags and its tags.

A view over the session: it shows :class:`~anylabel.document.ImageAnnotation` ``checked`` / ``flags`` /
``tags`` and turns each click into one session call (``session.details.set_checked``, ``set_image_flags``,
``set_tags``: one undo step each, saved in LabelMe's top-level ``flags`` and X-AnyLabeling's ``checked`` /
``tags``). The flags offered are the settings' ``image_flags`` (labelme's ``--flags``) plus any the file has;
the tags are the settings' ``image_tags`` plus the file's, and any text typed in the box.
"""
from __future__ import annotations

from typing import Dict, Optional

from PyQt5 import QtCore, QtWidgets
from PyQt5.QtCore import Qt

from anylabel.config import Config
from anylabel.session import AnnotationSession


class ImageDetailsPanel(QtWidgets.QWidget):
    """Checked, image flags and tags of the session's image (rebuilt when the image or its details change)."""

    def __init__(self, session: AnnotationSession, config: Config, toggle_keys: str = "",
                 parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.session, self.config = session, config
        self._updating = False
        self.checked = QtWidgets.QCheckBox("Checked (reviewed)" + (f"  [{toggle_keys}]" if toggle_keys else ""))
        self.checked.setToolTip("This image's annotation is reviewed (saved as \"checked\": true); Go → Next "
                                "unchecked skips it")
        self.checked.toggled.connect(self._checked_toggled)
        self.flags_group = QtWidgets.QGroupBox("Image flags")
        self.flags_layout = QtWidgets.QVBoxLayout(self.flags_group)
        self.flag_boxes: Dict[str, QtWidgets.QCheckBox] = {}
        self.tags = QtWidgets.QListWidget()
        self.tags.setToolTip("Image tags (saved in the file's \"tags\" list): tick to set")
        self.tags.itemChanged.connect(self._tags_changed)
        self.new_tag = QtWidgets.QLineEdit()
        self.new_tag.setPlaceholderText("add a tag, Enter")
        self.new_tag.returnPressed.connect(self._add_tag)
        completer = QtWidgets.QCompleter(list(config.image_tags), self)
        completer.setCaseSensitivity(Qt.CaseInsensitive)
        self.new_tag.setCompleter(completer)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.checked)
        layout.addWidget(self.flags_group)
        layout.addWidget(QtWidgets.QLabel("Tags"))
        layout.addWidget(self.tags, 1)
        layout.addWidget(self.new_tag)
        session.image_changed.connect(self.refresh)
        session.shapes_changed.connect(lambda _event: self.refresh())
        self.refresh()

    # ------------------------------------------------------------------------------ session -> widgets
    def refresh(self) -> None:
        ann = self.session.annotation
        self._updating = True
        try:
            self.setEnabled(ann is not None)
            self.checked.setChecked(bool(ann is not None and ann.checked))
            flags = dict(ann.flags) if ann is not None else {}
            names = list(dict.fromkeys(list(self.config.image_flags) + list(flags)))
            if names != list(self.flag_boxes):
                for box in self.flag_boxes.values():
                    box.deleteLater()
                self.flag_boxes = {}
                for name in names:
                    box = QtWidgets.QCheckBox(name)
                    box.toggled.connect(self._flags_changed)
                    self.flags_layout.addWidget(box)
                    self.flag_boxes[name] = box
            for name, box in self.flag_boxes.items():
                box.setChecked(bool(flags.get(name, False)))
            self.flags_group.setVisible(bool(self.flag_boxes))
            tags = list(ann.tags) if ann is not None else []
            shown = [self.tags.item(i).text() for i in range(self.tags.count())]
            wanted = list(dict.fromkeys(list(self.config.image_tags) + tags + shown))
            if wanted != shown:
                self.tags.clear()
                for name in wanted:
                    item = QtWidgets.QListWidgetItem(name)
                    item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
                    self.tags.addItem(item)
            for i in range(self.tags.count()):
                item = self.tags.item(i)
                item.setCheckState(Qt.Checked if item.text() in tags else Qt.Unchecked)
        finally:
            self._updating = False

    # ------------------------------------------------------------------------------ widgets -> session
    def _checked_toggled(self, on: bool) -> None:
        if not self._updating and self.session.annotation is not None and on != self.session.annotation.checked:
            self.session.details.set_checked(on)

    def _flags_changed(self, _on: bool = False) -> None:
        if self._updating or self.session.annotation is None:
            return
        flags = {**self.session.annotation.flags, **{n: b.isChecked() for n, b in self.flag_boxes.items()}}
        if flags != self.session.annotation.flags:
            self.session.details.set_image_flags(flags)

    def _ticked_tags(self) -> list:
        return [self.tags.item(i).text() for i in range(self.tags.count())
                if self.tags.item(i).checkState() == Qt.Checked]

    def _tags_changed(self, _item: QtWidgets.QListWidgetItem) -> None:
        if self._updating or self.session.annotation is None:
            return
        tags = self._ticked_tags()
        if tags != list(self.session.annotation.tags):
            self.session.details.set_tags(tags)

    def _add_tag(self) -> None:
        """The typed tag is set on the image (and offered in the list from now on)."""
        text = self.new_tag.text().strip()
        if not text or self.session.annotation is None:
            return
        self.new_tag.clear()
        tags = list(self.session.annotation.tags)
        if text not in tags:
            self.session.details.set_tags(tags + [text])
        QtCore.QTimer.singleShot(0, self.refresh)
