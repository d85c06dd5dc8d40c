"""Real X input for the real-display drivers: key presses and mouse moves / clicks through the X server's XTEST
extension (python-xlib), so that Qt receives them as from a keyboard and a mouse (its xcb key mapping, e.g.
Shift+- arriving as "_", and its own mouse-button state), not as QTest's synthetic events. Without
python-xlib (or without XTEST) :func:`open_input` returns None and the drivers fall back to QTest.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence, Tuple

#: Qt-style key names -> X keysym names
KEYSYMS = {"[": "bracketleft", "]": "bracketright", "-": "minus", "=": "equal", "Esc": "Escape", "F1": "F1",
           "Return": "Return", "Delete": "Delete", "Space": "space"}
MODIFIERS = {"Ctrl": "Control_L", "Shift": "Shift_L", "Alt": "Alt_L"}


class XInput:
    """Press keys and move / click the mouse on the X server of ``$DISPLAY`` (see the module docstring).

    Args:
        pump: processes the Qt events (e.g. ``lambda: QTest.qWait(20)``) between X events, so that Qt sees
            them one at a time, as from a person.
    """

    def __init__(self, display, pump: Callable[[], None]) -> None:
        from Xlib import XK, X
        from Xlib.ext import xtest

        self.d, self.X, self.XK, self.xtest = display, X, XK, xtest
        self.pump = pump

    def _code(self, name: str) -> int:
        sym = self.XK.string_to_keysym(KEYSYMS.get(name, name if len(name) > 1 else name.lower()))
        code = self.d.keysym_to_keycode(sym)
        if not code:
            raise ValueError(f"no key code for {name!r} on this X server")
        return code

    def _send(self, kind, detail: int = 0, **kw) -> None:
        self.xtest.fake_input(self.d, kind, detail, **kw)
        self.d.sync()

    def key(self, combo: str) -> None:
        """``combo`` as the settings file writes it: ``W``, ``Ctrl+Shift+U``, ``Alt+=``, ``[``."""
        *mods, key = combo.split("+")  # ("+" itself is no key of ours)
        codes = [self._code(MODIFIERS[m]) for m in mods]
        for c in codes:
            self._send(self.X.KeyPress, c)
        self._send(self.X.KeyPress, self._code(key))
        self._send(self.X.KeyRelease, self._code(key))
        for c in reversed(codes):
            self._send(self.X.KeyRelease, c)
        self.pump()

    def key_down(self, modifier: str) -> None:
        """Hold ``Ctrl`` / ``Shift`` / ``Alt`` (for a Ctrl+click) until :meth:`key_up`."""
        self._send(self.X.KeyPress, self._code(MODIFIERS[modifier]))

    def key_up(self, modifier: str) -> None:
        self._send(self.X.KeyRelease, self._code(MODIFIERS[modifier]))
        self.pump()

    def move(self, x: int, y: int) -> None:
        """The pointer to screen pixel (x, y)."""
        self._send(self.X.MotionNotify, x=int(x), y=int(y))
        self.pump()

    def drag(self, points: Sequence[Tuple[int, int]], button: int = 1) -> None:
        """Press at the first screen point, move through the others, release at the last."""
        self.move(*points[0])
        self._send(self.X.ButtonPress, button)
        self.pump()
        for p in points[1:]:
            self.move(*p)
        self._send(self.X.ButtonRelease, button)
        self.pump()

    def click(self, x: int, y: int, button: int = 1) -> None:
        self.drag([(x, y)], button)


def open_input(pump: Callable[[], None]) -> Optional[XInput]:
    """An :class:`XInput` on ``$DISPLAY``, or None without python-xlib or the XTEST extension."""
    try:
        from Xlib import display as xdisplay
    except ImportError:
        return None
    d = xdisplay.Display()
    if not d.query_extension("XTEST"):
        return None
    return XInput(d, pump)
