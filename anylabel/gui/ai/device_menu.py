"""AI > Device: where the models run (``auto``, ``cpu``, each CUDA GPU, ``mps``), as the settings' ``device``.

Choosing one records it in the settings (and the settings file, when the window has one), and reloads the
current segmentation model and the CLIP model on the new device; the tracker uses it when a video is opened
next, the semantic branch when it is loaded next. Devices this machine lacks are not offered (the list is
:func:`anylabel.devices.available_devices`); a settings file naming one anyway gets the loader's message in
the status bar.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Dict, List

from PyQt5 import QtWidgets

from anylabel.errors import AnylabelError

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.main_window import MainWindow

log = logging.getLogger(__name__)


def device_choices() -> List[str]:
    """``auto`` first, then this machine's devices (GPUs first, ``cpu`` last)."""
    from anylabel.devices import available_devices

    return ["auto"] + available_devices()


class DeviceMenu:
    """The checkable Device submenu of ``window``'s AI menu."""

    def __init__(self, window: "MainWindow", parent: QtWidgets.QMenu) -> None:
        self.window = window
        parent.addSeparator()
        self.menu = parent.addMenu("&Device")
        self.menu.setToolTipsVisible(True)
        self.group = QtWidgets.QActionGroup(self.menu)
        self.actions: Dict[str, QtWidgets.QAction] = {}
        current = window.config.device
        choices = device_choices()
        if current not in choices:  # e.g. cuda:1 from the settings on a machine with one GPU: shown, checked
            choices.append(current)
        for name in choices:
            act = self.menu.addAction(_title(name))
            act.setCheckable(True)
            act.setChecked(name == current)
            act.setData(name)
            self.group.addAction(act)
            act.triggered.connect(lambda _checked=False, n=name: self.choose(n))
            self.actions[name] = act

    def choose(self, name: str) -> None:
        """Use device ``name`` from now on: settings, then the current model reloaded there."""
        w = self.window
        if name in self.actions:
            self.actions[name].setChecked(True)
        if w.config.device == name:
            return
        w.config.device = name
        if w.config.path is not None:
            from anylabel.config import save_config

            try:
                save_config(w.config)
            except (AnylabelError, OSError) as e:
                w.statusBar().showMessage(f"The device is used, but the settings file was not written: {e}", 8000)
        w.reload_model()
        w.host.device_changed(name)  # the features that hold models (CLIP) load them again there


def _title(name: str) -> str:
    if name == "auto":
        return "&Auto (the first GPU, else the CPU)"
    if name.startswith("cuda"):
        from anylabel.devices import describe_device

        return describe_device(name)
    return {"cpu": "&CPU", "mps": "Apple &GPU (mps)"}.get(name, name)
