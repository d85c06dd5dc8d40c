"""Drawing "segment everything" candidates on the canvas: every automatic mask in its own colour with a light
outline, the one under the cursor highlighted. Also the canvas's extra layers (:func:`add_layer`).

The picture is built once per run, off the GUI thread (:meth:`CandidateRender.build`, numpy only): an index
map in which each pixel holds the *smallest* candidate covering it, which is exactly the one a click there
keeps (:func:`anylabel.editing.hit.pick_candidate`), so what the colours show is what a click does. When a
candidate is kept, only its box is recomputed (:meth:`CandidateLayer.sync`).

Layers: :mod:`anylabel.gui.canvas.paint` calls ``layer.paint(painter, pixel_transform)`` for each object in
``canvas.layers`` after the AI preview (the painter maps image pixel areas to the widget; a layer restores
the painter's state). Qt-side only: which candidates exist is the session's (``session.assist``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

import numpy as np
from PyQt5 import QtCore, QtGui

from anylabel.backends import MaskCandidate

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.canvas.widget import Canvas

FILL_ALPHA = 0.38
EDGE = (255, 255, 255, 0.85)  # r, g, b, alpha of the outlines between candidates
HOVER = (255, 255, 255, 0.55)


def add_layer(canvas: "Canvas", layer: object) -> None:
    """Paint ``layer`` (an object with ``paint(painter, pixel_transform)``) on ``canvas`` after the preview."""
    layers = canvas.__dict__.setdefault("layers", [])
    if layer not in layers:
        layers.append(layer)


def palette(n: int) -> np.ndarray:
    """(n + 1) x 4 uint8 premultiplied BGRA colours (Qt's ARGB32 in memory): row 0 transparent, then n
    well-separated hues (golden-ratio steps) at :data:`FILL_ALPHA`."""
    out = np.zeros((n + 1, 4), np.uint8)
    for k in range(n):
        c = QtGui.QColor.fromHsvF((k * 0.618034) % 1.0, 0.75, 1.0)
        a = FILL_ALPHA
        out[k + 1] = (round(c.blue() * a), round(c.green() * a), round(c.red() * a), round(255 * a))
    return out


def _box(c: MaskCandidate) -> Tuple[int, int, int, int]:
    if c.box is not None:
        return tuple(int(v) for v in c.box)
    h, w = c.mask.shape
    return (0, 0, w, h)


@dataclass
class CandidateRender:
    """The candidates' picture: ``index`` int32 HxW (position in ``masks`` of the smallest candidate covering
    each pixel, -1 for none) and ``bgra`` HxWx4 uint8 (premultiplied, Qt's ARGB32 byte order)."""

    masks: List[MaskCandidate]
    index: np.ndarray
    bgra: np.ndarray
    colours: np.ndarray
    alive: np.ndarray  # bool per mask: still a candidate (not kept)
    areas: np.ndarray  # pixels per mask

    @classmethod
    def build(cls, masks: Sequence[MaskCandidate], hw: Tuple[int, int]) -> "CandidateRender":
        """Any thread. ``masks``: bool HxW full-size candidates (``hw`` = (h, w))."""
        masks = list(masks)
        h, w = hw
        areas = np.array([int(np.count_nonzero(c.mask)) for c in masks], np.int64)
        out = cls(masks, np.full((h, w), -1, np.int32), np.zeros((h, w, 4), np.uint8), palette(len(masks)),
                  np.ones(len(masks), bool), areas)
        out._paint((0, 0, w, h))
        return out

    def _paint(self, region: Tuple[int, int, int, int]) -> None:
        """Recompute index and colours inside ``region`` (x0, y0, x1, y1) from the candidates still alive."""
        x0, y0, x1, y1 = region
        index = self.index[y0:y1, x0:x1]
        index[:] = -1
        areas = []
        for k, c in enumerate(self.masks):
            bx0, by0, bx1, by1 = _box(c)
            if self.alive[k] and bx0 < x1 and bx1 > x0 and by0 < y1 and by1 > y0:
                areas.append((-int(self.areas[k]), k))
        for _, k in sorted(areas):  # largest first: the smallest ends on top, as a click picks
            c = self.masks[k]
            bx0, by0, bx1, by1 = _box(c)
            bx0, by0, bx1, by1 = max(bx0, x0), max(by0, y0), min(bx1, x1), min(by1, y1)
            index[by0 - y0:by1 - y0, bx0 - x0:bx1 - x0][c.mask[by0:by1, bx0:bx1]] = k
        bgra = self.colours[index + 1]
        edge = np.zeros(index.shape, bool)  # a pixel whose right or lower neighbour is another candidate
        edge[:, :-1] |= index[:, :-1] != index[:, 1:]
        edge[:-1, :] |= index[:-1, :] != index[1:, :]
        r, g, b, a = EDGE
        bgra[edge] = (round(b * a), round(g * a), round(r * a), round(255 * a))
        self.bgra[y0:y1, x0:x1] = bgra

    def remove(self, k: int) -> None:
        """Candidate ``k`` was kept: its pixels show the candidates under it now (only its box is redone)."""
        if not self.alive[k]:
            return
        self.alive[k] = False
        h, w = self.index.shape
        x0, y0, x1, y1 = _box(self.masks[k])
        self._paint((max(0, x0 - 1), max(0, y0 - 1), min(w, x1 + 1), min(h, y1 + 1)))


class CandidateLayer:
    """The canvas layer of the candidates (GUI thread). :meth:`show` a render, :meth:`sync` with the
    session's candidates after one was kept, :meth:`set_hover` the one under the cursor."""

    def __init__(self, canvas: "Canvas") -> None:
        self.canvas = canvas
        self.render: Optional[CandidateRender] = None
        self.image: Optional[QtGui.QImage] = None
        self.hover: Optional[MaskCandidate] = None
        self._hover_image: Optional[Tuple[QtGui.QImage, int, int]] = None
        add_layer(canvas, self)

    def show(self, render: Optional[CandidateRender]) -> None:
        self.render, self.hover, self._hover_image = render, None, None
        if render is None:
            self.image = None
        else:
            h, w = render.index.shape
            self.image = QtGui.QImage(render.bgra.data, w, h, 4 * w, QtGui.QImage.Format_ARGB32_Premultiplied)
        self.canvas.update()

    def sync(self, candidates: Sequence[MaskCandidate]) -> None:
        """Follow the session's candidate list: the ones no longer in it are taken out of the picture."""
        render = self.render
        if render is None:
            return
        if not candidates:
            self.show(None)
            return
        present = {id(c) for c in candidates}
        for k, c in enumerate(render.masks):
            if render.alive[k] and id(c) not in present:
                render.remove(k)
        if self.hover is not None and id(self.hover) not in present:
            self.set_hover(None)
        self.canvas.update()

    def set_hover(self, candidate: Optional[MaskCandidate]) -> None:
        if candidate is self.hover:
            return
        self.hover, self._hover_image = candidate, None
        if candidate is not None:
            from anylabel.gui.ai.worker import mask_overlay

            overlay = mask_overlay(candidate.mask, HOVER, candidate.box)
            if overlay[0] is not None:
                self._hover_image = overlay
        self.canvas.update()

    def candidate_under(self, x: float, y: float) -> Optional[MaskCandidate]:
        """The candidate a click at image point (x, y) would keep, from the picture's index (no mask scan:
        for the hover highlight on every mouse move), or None."""
        render = self.render
        if render is None:
            return None
        col, row = int(np.floor(x)), int(np.floor(y))
        h, w = render.index.shape
        k = int(render.index[row, col]) if 0 <= row < h and 0 <= col < w else -1
        return render.masks[k] if k >= 0 else None

    @property
    def shown(self) -> bool:
        return self.image is not None

    def paint(self, p: QtGui.QPainter, pixel_t: QtGui.QTransform) -> None:
        if self.image is None:
            return
        p.save()
        p.setTransform(pixel_t)
        p.drawImage(QtCore.QPointF(0, 0), self.image)
        if self._hover_image is not None:
            image, x0, y0 = self._hover_image
            p.drawImage(QtCore.QPointF(x0, y0), image)
        p.resetTransform()
        self._paint_hint(p)
        p.restore()

    def _paint_hint(self, p: QtGui.QPainter) -> None:
        """What a click does now (the AI tool's own hint, bottom left, is for prompts), top centre."""
        n = int(self.render.alive.sum()) if self.render is not None else 0
        text = f"{n} candidate{'s' * (n != 1)}: click one to keep it  ·  Esc hides them"
        fm = p.fontMetrics()
        rect = QtCore.QRectF(0, 10, fm.horizontalAdvance(text) + 20, fm.height() + 10)
        rect.moveLeft((self.canvas.width() - rect.width()) / 2)
        p.setPen(QtCore.Qt.NoPen)
        p.setBrush(QtGui.QColor(0, 0, 0, 170))
        p.drawRoundedRect(rect, 6, 6)
        p.setPen(QtGui.QColor(255, 255, 255))
        p.drawText(rect, QtCore.Qt.AlignCenter, text)
