"""Help → Shortcuts (F1): every action's keys in effect, in the README's sections, with a filter; the mouse
gestures; and :func:`shortcut_clashes`, the check that no two window-wide actions share a key."""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Tuple

from PyQt5 import QtGui, QtWidgets
from PyQt5.QtCore import Qt

from anylabel.config import SHORTCUT_GROUPS, SHORTCUTS, Config, config_path

#: (where, gesture, what it does)
MOUSE = [
    ("AI mode", "Left click", "positive point"),
    ("AI mode", "Right click / Shift+click", "negative point"),
    ("AI mode", "Drag / Ctrl+drag", "box / negative box"),
    ("Edit mode", "Click / Ctrl+click / drag on empty space", "select / add to the selection / select in a box"),
    ("Edit mode", "Drag a shape / a vertex", "move it"),
    ("Edit mode", "Click the + on an edge", "add a vertex"),
    ("Edit mode", "Right-click a vertex", "delete the vertex"),
    ("Edit mode", "Drag the knob of a rotated rectangle (Shift: 15° steps)", "turn it"),
    ("Brush / eraser", "Drag / right-drag", "paint / erase (the opposite with the right button)"),
    ("Canvas", "Wheel", "zoom at the cursor"),
    ("Canvas", "Middle drag / Space+drag", "pan"),
    ("Polygon, line strip", "Click first vertex / double-click / Enter", "close / end it (Esc cancels)"),
    ("Everything", "Click a candidate / Esc", "keep it (label dialog) / hide the candidates"),
]


class ShortcutsDialog(QtWidgets.QDialog):
    """Help → Shortcuts: one row per action (its name, keys, what it does) under its section's title row, then
    the mouse gestures; the filter box keeps the rows whose text holds what is typed."""

    def __init__(self, parent: Optional[QtWidgets.QWidget], config: Config) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.filter = QtWidgets.QLineEdit()
        self.filter.setPlaceholderText("Filter: an action, a key (Ctrl+R) or a word (brush)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.apply_filter)
        table = QtWidgets.QTableWidget(0, 3)
        table.setHorizontalHeaderLabels(["Action", "Keys", "What it does"])
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)  # compact: more rows shown
        table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        table.setSelectionMode(QtWidgets.QAbstractItemView.NoSelection)
        self.table = table
        self.titles: Dict[int, List[int]] = {}  # title row -> its rows
        sections = [(title, [(a.replace("_", " "), ", ".join(config.shortcut(a)) or "—", SHORTCUTS[a][1])
                             for a in actions]) for title, actions in SHORTCUT_GROUPS.items()]
        sections.append(("Mouse", [(where, gesture, what) for where, gesture, what in MOUSE]))
        for title, rows in sections:
            self._add_rows(title, rows)
        table.setColumnWidth(0, 170)
        table.setColumnWidth(1, 250)
        table.horizontalHeader().setStretchLastSection(True)
        where = config.path or config_path()
        note = QtWidgets.QLabel(f"Change shortcuts in <code>{where}</code>, e.g.<br>"
                                "<code>shortcuts: {finish_object: Return, next_image: Right}</code>")
        note.setTextInteractionFlags(Qt.TextSelectableByMouse)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(table)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(880, 720)
        self.filter.setFocus()

    def _add_rows(self, title: str, rows: Iterable[Tuple[str, str, str]]) -> None:
        t = self.table
        head = t.rowCount()
        t.insertRow(head)
        font = QtGui.QFont(self.font())
        font.setBold(True)
        for c, text in enumerate((title, "", "")):
            item = QtWidgets.QTableWidgetItem(text)
            item.setFont(font)
            item.setBackground(self.palette().brush(QtGui.QPalette.AlternateBase))
            t.setItem(head, c, item)
        t.setSpan(head, 0, 1, 3)
        self.titles[head] = []
        for texts in rows:
            r = t.rowCount()
            t.insertRow(r)
            for c, text in enumerate(texts):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(text)
                t.setItem(r, c, item)
            self.titles[head].append(r)

    def rows(self) -> Dict[str, str]:
        """Action name (with spaces) -> its keys, of the rows shown (tests read the dialog through this)."""
        t = self.table
        return {t.item(r, 0).text(): t.item(r, 1).text() for rows in self.titles.values() for r in rows
                if not t.isRowHidden(r)}

    def apply_filter(self, text: str) -> None:
        """Show the rows whose action, keys or description hold ``text`` (case-insensitive), with their titles."""
        needle = text.strip().lower()
        t = self.table
        for head, rows in self.titles.items():
            shown = 0
            for r in rows:
                hit = not needle or any(needle in t.item(r, c).text().lower() for c in range(3))
                t.setRowHidden(r, not hit)
                shown += hit
            t.setRowHidden(head, shown == 0)


def shortcut_clashes(actions: Iterable[QtWidgets.QAction]) -> Dict[str, List[str]]:
    """Keys given to more than one of these (window-wide) actions: key (portable text) -> the actions' texts.
    Compared as Qt reads them, so ``Shift+Ctrl+Z`` and ``Ctrl+Shift+Z`` are one key."""
    owners: Dict[str, List[str]] = {}
    for act in actions:
        for seq in act.shortcuts():
            key = seq.toString(QtGui.QKeySequence.PortableText)
            owners.setdefault(key, []).append(act.text().replace("&", ""))
    return {k: v for k, v in owners.items() if len(v) > 1}
