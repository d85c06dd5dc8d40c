"""The label dialog's details: shape flags, attributes (choices per label, from the settings) and difficult.

What the form offers comes from the settings (:class:`~anylabel.config.Config` ``shape_flags``,
``attributes`` / ``label_attributes`` through :meth:`~anylabel.config.Config.attribute_choices`); the values
go to the session (:meth:`anylabel.session.details.LabelDetails.describe` / ``edit_shapes``), which checks
them and stores them in LabelMe's places (shape ``flags``, and X-AnyLabeling's ``attributes`` /
``difficult``). A flag or an attribute the shape already has but the settings do not list (a file from
another tool) is shown and kept.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional

from PyQt5 import QtWidgets

from anylabel.config import Config

UNSET = "—"  # the attribute choice "not set" (no key in the file)


class ShapeDetailsForm(QtWidgets.QWidget):
    """Flags (check boxes), attributes (one combo box each, for the label typed) and difficult.

    Args:
        config: the settings (what is offered).
        label: the label the attributes are offered for at first (:meth:`set_label` follows the dialog).
        flags, attributes, difficult: the shape's current details (editing an existing shape).
    """

    def __init__(self, config: Config, label: str = "", flags: Optional[Mapping[str, bool]] = None,
                 attributes: Optional[Mapping[str, str]] = None, difficult: bool = False,
                 parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.config = config
        self._values: Dict[str, str] = {str(k): str(v) for k, v in (attributes or {}).items()}
        self._label: Optional[str] = None
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        names = list(dict.fromkeys(list(config.shape_flags) + list(flags or {})))
        self.flag_boxes: Dict[str, QtWidgets.QCheckBox] = {}
        if names:
            group = QtWidgets.QGroupBox("Flags")
            grid = QtWidgets.QGridLayout(group)
            for k, name in enumerate(names):
                box = QtWidgets.QCheckBox(name)
                box.setChecked(bool((flags or {}).get(name, False)))
                grid.addWidget(box, k // 3, k % 3)
                self.flag_boxes[name] = box
            layout.addWidget(group)
        self.attribute_group = QtWidgets.QGroupBox("Attributes")
        self.attribute_form = QtWidgets.QFormLayout(self.attribute_group)
        self.attribute_boxes: Dict[str, QtWidgets.QComboBox] = {}
        layout.addWidget(self.attribute_group)
        self.difficult = QtWidgets.QCheckBox("Difficult (hard to recognise)")
        self.difficult.setChecked(bool(difficult))
        layout.addWidget(self.difficult)
        self.set_label(label)

    def set_label(self, label: str) -> None:
        """Offer the attributes of ``label`` (the values chosen so far are kept where the name is offered)."""
        label = label.strip()
        if label == self._label:
            return
        self._remember()
        self._label = label
        while self.attribute_form.rowCount():
            self.attribute_form.removeRow(0)
        self.attribute_boxes = {}
        choices = self.config.attribute_choices(label)
        for name in list(choices) + [n for n in self._values if n not in choices]:
            box = QtWidgets.QComboBox()
            offered: List[str] = list(choices.get(name, []))
            value = self._values.get(name)
            box.addItems([UNSET] + offered + ([value] if value is not None and value not in offered else []))
            box.setCurrentText(value if value is not None else UNSET)
            if name not in choices:
                box.setToolTip(f"{name} is not in the settings' attributes for {label or 'this label'}: "
                               "kept as it is")
            self.attribute_form.addRow(name, box)
            self.attribute_boxes[name] = box
        self.attribute_group.setVisible(bool(self.attribute_boxes))

    def _remember(self) -> None:
        for name, box in self.attribute_boxes.items():
            text = box.currentText()
            if text == UNSET:
                self._values.pop(name, None)
            else:
                self._values[name] = text

    def flags(self) -> Dict[str, bool]:
        return {name: box.isChecked() for name, box in self.flag_boxes.items()}

    def attributes(self) -> Dict[str, str]:
        """The attributes set for the current label (unset ones have no key)."""
        self._remember()
        return {name: self._values[name] for name in self.attribute_boxes if name in self._values}

    def is_difficult(self) -> bool:
        return self.difficult.isChecked()
