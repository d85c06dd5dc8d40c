"""Start the Qt application (placeholder window until the main window lands)."""
from __future__ import annotations

import sys
from typing import Optional

from PyQt5 import QtWidgets

from anylabel import __version__


def run_gui(path: Optional[str] = None, output_dir: Optional[str] = None) -> int:
    """Open the main window on ``path`` (image, folder, LabelMe JSON or video) and run the event loop."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    window = QtWidgets.QMainWindow()
    window.setWindowTitle(f"anylabel {__version__}")
    window.setCentralWidget(QtWidgets.QLabel(f"anylabel {__version__}: {path or 'open an image or a folder'}"))
    window.resize(800, 600)
    window.show()
    return app.exec_()
