"""The shape list's colour swatches: one per label and size, in the label's colour (a refresh of a frame with
hundreds of shapes asked Qt to paint a new one per shape)."""
from __future__ import annotations

import pytest

from anylabel.gui.canvas.colors import LabelColors

pytestmark = pytest.mark.gui


def test_icons_are_made_once_per_label_and_size_in_its_colour(qtbot) -> None:
    colors = LabelColors({"car": "#ff0000"})
    car = colors.icon("car")
    assert colors.icon("car") is car and colors.icon("car", 20) is not car and colors.icon("dog") is not car
    centre = car.pixmap(14, 14).toImage().pixelColor(7, 7)
    assert (centre.red(), centre.green(), centre.blue()) == (255, 0, 0)
