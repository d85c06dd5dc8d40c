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


#: private names imported across modules before this check existed, each owned by another piece of work of
#: the same session (canvas: the session helper; video_worker: the workers helper; models: the models
#: helper). Remove an entry when its import is gone; nothing may be added here.
KNOWN_PRIVATE_IMPORTS: set = set()


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


def private_imports(path: Path) -> list:
    """(module, name, line) of every ``from anylabel.X import _name`` in ``path`` where X is another module.

    Relative imports are resolved against ``path``'s package. Importing a private *module* of one's own
    package (``from anylabel.cli._segmenting import ...`` in ``anylabel/cli/``) is allowed; from another
    package it is not."""
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        if module.split(".")[0] != "anylabel" or module == me:
            continue
        names = [a.name for a in node.names]
        found += [(module, n, node.lineno) for n in names if n.startswith("_") and not n.startswith("__")]
        private_parts = [i for i, part in enumerate(module.split(".")) if part.startswith("_")]
        if private_parts:
            owner = ".".join(module.split(".")[: private_parts[0]])
            if not (package == owner or package.startswith(owner + ".")):
                found.append((module, "*", node.lineno))
    return found


def test_no_module_imports_a_private_name_of_another_module() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        for module, name, line in private_imports(path):
            if (rel, module, name) not in KNOWN_PRIVATE_IMPORTS:
                offenders.append(f"anylabel/{rel}:{line} imports {name} from {module}")
    assert not offenders, ("private names are private to their module: make them public (no underscore) "
                           "or move them where both users can import them:\n" + "\n".join(offenders))


def test_the_private_import_check_sees_private_names(tmp_path: Path) -> None:
    pkg = tmp_path / "anylabel" / "tracking"
    pkg.mkdir(parents=True)
    bad = pkg / "bad.py"
    bad.write_text("from anylabel.gui.ai.worker import _overlay, Worker\nfrom .session import _hidden\n"
                   "from anylabel.cli._segmenting import open_annotation\nfrom . import public\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "anylabel"
    try:
        found = private_imports(bad)
    finally:
        PACKAGE = saved
    assert [(m, n) for m, n, _ in found] == [("anylabel.gui.ai.worker", "_overlay"),
                                            ("anylabel.tracking.session", "_hidden"),
                                            ("anylabel.cli._segmenting", "*")]


def test_the_annotation_session_is_qt_free_core() -> None:
    # anylabel/session/ holds the annotation state the GUI only renders (issue 14): it must stay in the set
    # the two checks above cover, and may not reach into the GUI.
    session = [p for p in _core_files() if p.relative_to(PACKAGE).parts[0] == "session"]
    assert PACKAGE / "session" / "session.py" in session and PACKAGE / "session" / "prompts.py" in session
    for path in session:
        assert not any(m.split(".")[0] in QT_MODULES or m.startswith("anylabel.gui") for m, _ in _imports(path)), path


# ---------------------------------------------------------------------------------------- package cycles
def _package_graph(root: Path) -> dict:
    """``{top-level package: {top-level packages it imports}}`` for the modules under ``root`` (``anylabel``),
    counting every import, also those inside functions (a lazy import is still a dependency)."""
    graph: dict = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        if parts == ("__init__",) or parts == ("__main__",):
            continue
        top = parts[0]
        graph.setdefault(top, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level:  # relative: resolve against the package
                base = parts[: len(parts) - node.level]
                names = [".".join([root.name, *base, *(node.module.split(".") if node.module else [])])]
            for name in names:
                bits = name.split(".")
                if len(bits) > 1 and bits[0] == root.name and bits[1] != top and _is_top_level(root, bits[1]):
                    graph[top].add(bits[1])
    return graph


def _is_top_level(root: Path, name: str) -> bool:
    return (root / name).is_dir() or (root / f"{name}.py").is_file()


def _cycles(graph: dict) -> list:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict = {}
    low: dict = {}
    stack: list = []
    on_stack: set = set()
    found: list = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_top_level_packages_import_each_other_without_cycles() -> None:
    graph = _package_graph(PACKAGE)
    assert {"semantic", "classify", "votes"} <= set(graph)
    cycles = _cycles(graph)
    detail = ["  " + " <-> ".join(c) + ": " + "; ".join(f"{a} -> {sorted(graph[a] & set(c))}" for a in c)
              for c in cycles]
    assert not cycles, "import cycles between anylabel's top-level packages:\n" + "\n".join(detail)


def test_the_cycle_check_finds_a_cycle(tmp_path: Path) -> None:
    # The check above must be able to fail: two packages importing each other, one of them lazily.
    root = tmp_path / "pkg"
    for name, text in (("a", "from pkg.b import thing\n"), ("b", "def f():\n    from pkg.a import other\n"),
                       ("c", "import pkg.a\n")):
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text(text)
    graph = _package_graph(root)
    assert graph == {"a": {"b"}, "b": {"a"}, "c": {"a"}}
    assert _cycles(graph) == [["a", "b"]]
