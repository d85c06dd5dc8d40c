"""Start the Qt application: ``anylabel [PATH]`` and ``python app.py [PATH]``."""
from __future__ import annotations

import logging
import sys
from typing import Optional

from PyQt5 import QtCore, QtWidgets

from anylabel.config import Config, load_config
from anylabel.errors import ConfigError

_app: Optional[QtWidgets.QApplication] = None


def create_window(path: Optional[str] = None, output_dir: Optional[str] = None, **kwargs):
    """Build the main window (and the QApplication if needed) and open ``path``; returns the window."""
    QtWidgets.QApplication.setAttribute(QtCore.Qt.AA_EnableHighDpiScaling, True)
    QtWidgets.QApplication.setAttribute(QtCore.Qt.AA_UseHighDpiPixmaps, True)
    global _app
    app = QtWidgets.QApplication.instance()
    if app is None:
        app = _app = QtWidgets.QApplication(sys.argv[:1])  # kept alive: Qt deletes its widgets with it
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
    """Open the main window on ``path`` (image, folder, LabelMe JSON or video) and run the event loop."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    window = create_window(path, output_dir)
    app = QtWidgets.QApplication.instance()
    code = app.exec_()
    del window
    return code
