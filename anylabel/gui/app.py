"""Start the Qt application: ``anylabel [PATH]`` and ``python app.py [PATH]``.

Qt is imported inside the functions, not at module level: :func:`run_gui` first checks that a window can
start here (``anylabel.gui.display``: a clear message instead of Qt's abort, even where importing PyQt5
itself would fail), and the environment Qt reads at start-up must be set before the QApplication exists.
"""
from __future__ import annotations

import logging
import sys
from typing import Any, Optional

from anylabel.config import Config, load_config
from anylabel.errors import ConfigError
from anylabel.gui.display import display_problem, prepare_qt_environment, protect_running_app

_app: Any = None  # the QApplication made here, kept alive: Qt deletes its widgets with it


def create_window(path: Optional[str] = None, output_dir: Optional[str] = None, **kwargs):
    """Build the main window (and the QApplication if needed) and open ``path``; returns the window."""
    from PyQt5 import QtCore, QtWidgets

    global _app
    app = QtWidgets.QApplication.instance()
    if app is None:
        # Before Qt loads its platform plugin: no GL driver, hence no second LLVM beside torch's triton
        # (issue 12: SIGSEGV on Mesa desktops once a torch model loads). See anylabel/gui/display.py.
        prepare_qt_environment()
        QtWidgets.QApplication.setAttribute(QtCore.Qt.AA_EnableHighDpiScaling, True)
        QtWidgets.QApplication.setAttribute(QtCore.Qt.AA_UseHighDpiPixmaps, True)
        app = _app = QtWidgets.QApplication(sys.argv[:1])
    else:
        protect_running_app(app.platformName())  # made by the caller: before our window loads a GL driver
    app.setApplicationName("anylabel")
    from anylabel.gui.main_window import MainWindow

    config_error = None
    if "config" not in kwargs:
        try:
            kwargs["config"] = load_config()
        except ConfigError as e:
            config_error = e
            kwargs["config"] = Config()
    window = MainWindow(output_dir=output_dir, **kwargs)
    window.show()
    if config_error is not None:
        window.warn(f"The settings file is invalid; using the defaults until it is fixed:\n{config_error}",
                     "Settings")
    if path:
        window.open_path(path)
    return window


def run_gui(path: Optional[str] = None, output_dir: Optional[str] = None) -> int:
    """Open the main window on ``path`` (image, folder, LabelMe JSON or video) and run the event loop.

    Returns 2, with a message naming what is missing, where no window can start (no display, a missing
    system library of Qt's X11 plugin).
    """
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    window = create_window(path, output_dir)
    from PyQt5 import QtWidgets

    code = QtWidgets.QApplication.instance().exec_()
    del window
    return code
