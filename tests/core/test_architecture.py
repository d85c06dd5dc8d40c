"""The core never imports Qt: only anylabel/gui/ may. Checked on the import graph, statically and live."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "anylabel"
QT_MODULES = ("PyQt5", "PyQt6", "PySide2", "PySide6", "qtpy", "superqt", "pyqtgraph")


def _imports(path: Path) -> list:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


def _core_files() -> list:
    return [p for p in PACKAGE.rglob("*.py") if "gui" not in p.relative_to(PACKAGE).parts]


def test_core_modules_do_not_import_qt_or_gui() -> None:
    offenders = []
    for path in _core_files():
        for module, line in _imports(path):
            top = module.split(".")[0]
            if top in QT_MODULES or module == "anylabel.gui" or module.startswith("anylabel.gui."):
                # The CLI's GUI launcher may import the GUI lazily inside a function; nothing else may.
                if path.relative_to(PACKAGE).as_posix() == "cli/__init__.py" and module == "anylabel.gui.app":
                    continue
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}")
    assert not offenders, "Qt or GUI imported outside anylabel/gui/:\n" + "\n".join(offenders)


def test_the_static_check_sees_qt_imports(tmp_path: Path) -> None:
    # The check above must be able to fail: feed it a file that imports Qt the usual ways.
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom PyQt5 import QtCore\nimport qtpy.QtWidgets\n")
    assert [m for m, _ in _imports(bad)] == ["os", "PyQt5", "qtpy.QtWidgets"]


def test_importing_every_core_module_loads_no_qt() -> None:
    modules = sorted(
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        for p in _core_files()
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        f"bad = sorted(k for k in sys.modules if k.split('.')[0] in {QT_MODULES!r} or k.startswith('anylabel.gui'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"Qt loaded by the core: {result.stdout}{result.stderr[-2000:]}"


def test_the_annotation_session_is_qt_free_core() -> None:
    # anylabel/session/ holds the annotation state the GUI only renders (issue 14): it must stay in the set
    # the two checks above cover, and may not reach into the GUI.
    session = [p for p in _core_files() if p.relative_to(PACKAGE).parts[0] == "session"]
    assert PACKAGE / "session" / "session.py" in session and PACKAGE / "session" / "prompts.py" in session
    for path in session:
        assert not any(m.split(".")[0] in QT_MODULES or m.startswith("anylabel.gui") for m, _ in _imports(path)), path
