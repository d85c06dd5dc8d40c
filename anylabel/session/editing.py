"""Shape edits of the session (``session.edit``): conversions, boolean edits, rotated rectangles, hit-testing.

Each edit is one undo step of the session's history and keeps stable ids: a shape converted or combined
into one shape keeps its id (the first operand's for a boolean edit); extra parts get new ids. The pure
operations are :mod:`anylabel.editing` (convert, boolean, hit) and :mod:`anylabel.geometry.rotated`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, List, Optional, Sequence, Tuple

from anylabel.document import Shape
from anylabel.editing import boolean, convert
from anylabel.editing.hit import HitIndex
from anylabel.errors import AnylabelError, GeometryError
from anylabel.geometry import rotated

if TYPE_CHECKING:
    from anylabel.session.session import AnnotationSession


def image_size(session: "AnnotationSession") -> Tuple[int, int]:
    """(height, width) of the session's image; AnylabelError when none is open."""
    if session.annotation is None:
        raise AnylabelError("no image is open")
    return session.annotation.size


class ShapeEdits:
    """The session's shape edits; ``session.edit``."""

    def __init__(self, session: "AnnotationSession") -> None:
        self.session = session
        self._index: Optional[HitIndex] = None
        session.shapes_changed.connect(lambda event: self._forget_index())
        session.image_changed.connect(self._forget_index)

    # ------------------------------------------------------------------------------ one undo step
    def swap(self, old_ids: Sequence[int], shapes: List[Shape], text: str) -> List[int]:
        """``shapes`` in place of the shapes ``old_ids`` (one undo step); the first new shape keeps the first
        old id. Returns the new shapes' ids (selected)."""
        s = self.session
        indices = s.indices(old_ids)
        if not indices:
            raise KeyError(f"no shape with id {list(old_ids)}")
        first = list(old_ids)[0]
        for k, shape in enumerate(shapes):
            shape.id = first if k == 0 else None
        at = s.history.swap(indices, shapes, text)
        ids = [s.shapes[i].id for i in at]
        s.select(ids)
        return ids

    def _hw(self) -> Tuple[int, int]:
        return image_size(self.session)

    # ------------------------------------------------------------------------------ conversions
    def to_mask(self, ids: Iterable[int]) -> List[int]:
        """Each of these shapes with an area becomes one exact ``mask`` shape (same id, same details); one
        undo step. Raises GeometryError for a shape without an area."""
        s, hw = self.session, self._hw()
        new = {}
        for i in ids:
            shape = s.shape(i)
            if shape.shape_type == "mask":
                continue
            parts = convert.mask_to_shapes(convert.shape_mask(shape, hw), shape, as_mask=True)
            if parts:
                new[i] = parts[0]
        s.replace(new, "to mask")
        return list(new)

    def to_polygons(self, shape_id: int, tolerance: Optional[float] = None) -> List[int]:
        """The shape traced into polygons (``tolerance``: the session's by default), one per part; parts
        share a group id (the shape's, else a new one). One undo step; returns the polygons' ids."""
        s, hw = self.session, self._hw()
        shape = s.shape(shape_id)
        tol = s.tolerance if tolerance is None else float(tolerance)
        others = [x for x in s.shapes if x.id != shape_id]
        parts = convert.mask_to_shapes(convert.shape_mask(shape, hw), shape, as_mask=False, tolerance=tol,
                                       min_area=s.min_area, existing=others)
        if not parts:
            raise GeometryError("the shape has no pixels to trace")
        return self.swap([shape_id], parts, "to polygons")

    def to_rotation(self, ids: Iterable[int]) -> List[int]:
        """Each shape becomes its minimum-area rotated rectangle (``rotation``, same id and details)."""
        s = self.session
        new = {}
        for i in ids:
            shape = s.shape(i)
            box = convert.take_details(Shape(shape.label, rotated.shape_rotation(shape), "rotation"), shape,
                                       group_id=shape.group_id)
            new[i] = box
        s.replace(new, "to rotated rectangle")
        return list(new)

    # ------------------------------------------------------------------------------ boolean edits
    def combine(self, ids: Sequence[int], operation: str, as_mask: Optional[bool] = None) -> List[int]:
        """``union`` / ``intersect`` of the shapes ``ids`` replaces all of them; ``subtract`` takes the others
        from the first (in the order given) and replaces only the first. One undo step; returns the result's
        ids ([] when nothing is left: the replaced shapes are gone). See :func:`anylabel.editing.boolean.combine`
        for holes (a mask shape) and ``as_mask``."""
        s, hw = self.session, self._hw()
        ids = list(dict.fromkeys(ids))
        operands = [s.shape(i) for i in ids]
        others = [x for x in s.shapes if x.id not in set(ids)]
        from anylabel.backends.shapes import next_group_id

        gid = operands[0].group_id if operands and operands[0].group_id is not None else next_group_id(others)
        result = boolean.combine(operands, operation, hw, as_mask=as_mask, group_id=gid, tolerance=s.tolerance,
                                 min_area=s.min_area)
        replaced = ids[:1] if operation == "subtract" else ids
        return self.swap(replaced, result, operation)

    def union(self, ids: Sequence[int], as_mask: Optional[bool] = None) -> List[int]:
        return self.combine(ids, "union", as_mask)

    def subtract(self, ids: Sequence[int], as_mask: Optional[bool] = None) -> List[int]:
        return self.combine(ids, "subtract", as_mask)

    def intersect(self, ids: Sequence[int], as_mask: Optional[bool] = None) -> List[int]:
        return self.combine(ids, "intersect", as_mask)

    # ------------------------------------------------------------------------------ rotated rectangles
    def add_rotation(self, label: str, cx: float, cy: float, width: float, height: float, angle: float) -> int:
        """A new ``rotation`` shape (centre, size, angle in radians; see :mod:`anylabel.geometry.rotated`)."""
        corners = rotated.rotation_corners(cx, cy, width, height, angle)
        return self.session.add_shapes([Shape(label, corners, "rotation")], f"add {label}")[0]

    def _rotation(self, shape_id: int) -> Shape:
        shape = self.session.shape(shape_id)
        if shape.shape_type != "rotation":
            raise GeometryError(f"shape {shape_id} is a {shape.shape_type}, not a rotated rectangle")
        return shape

    def rotate_shape(self, shape_id: int, theta: float, pivot: Optional[Tuple[float, float]] = None) -> None:
        """Turn a shape by ``theta`` radians (clockwise on screen) around ``pivot`` (default: its centre).
        A rectangle becomes a ``rotation`` first (a rectangle cannot hold an angle); circles and masks are
        refused (a mask would lose pixels)."""
        shape = self.session.shape(shape_id).copy()
        if shape.shape_type in ("mask", "circle"):
            raise GeometryError(f"a {shape.shape_type} shape cannot be rotated here")
        if shape.shape_type == "rectangle":
            shape.points, shape.shape_type = rotated.from_box(*shape.bbox()), "rotation"
        shape.points = rotated.rotate(shape.points, theta, pivot)
        self.session.replace({shape_id: shape}, "rotate")

    def rotate_shapes(self, ids: Iterable[int], theta: float) -> List[int]:
        """Turn each of these shapes by ``theta`` radians (clockwise on screen) around its own centre (a
        rotated rectangle's, else its box's), as one undo step (Z / X in the window). Rectangles become
        ``rotation`` shapes; circles and masks are left as they are. Returns the ids turned."""
        s = self.session
        new = {}
        for i in ids:
            shape = s.shape(i).copy()
            if shape.shape_type in ("mask", "circle"):
                continue
            if shape.shape_type == "rectangle":
                shape.points, shape.shape_type = rotated.from_box(*shape.bbox()), "rotation"
            if shape.shape_type == "rotation":
                pivot = None
            else:
                x1, y1, x2, y2 = shape.bbox()
                pivot = ((x1 + x2) / 2, (y1 + y2) / 2)
            shape.points = rotated.rotate(shape.points, theta, pivot)
            new[i] = shape
        if new:
            s.replace(new, "rotate")
        return list(new)

    def drag_rotation_corner(self, shape_id: int, index: int, to: Tuple[float, float]) -> None:
        """Drag corner ``index`` (0..3) of a rotated rectangle to ``to``: the opposite corner and the angle stay."""
        shape = self._rotation(shape_id).copy()
        shape.points = rotated.drag_corner(shape.points, index, to)
        self.session.replace({shape_id: shape}, "resize")

    def resize_rotation(self, shape_id: int, width: float, height: float) -> None:
        """A rotated rectangle's new size, same centre and angle."""
        shape = self._rotation(shape_id).copy()
        shape.points = rotated.resize(shape.points, width, height)
        self.session.replace({shape_id: shape}, "resize")

    # ------------------------------------------------------------------------------ hit-testing
    def _forget_index(self) -> None:
        self._index = None

    def hit_index(self) -> HitIndex:
        """The :class:`~anylabel.editing.hit.HitIndex` of the current shapes (rebuilt after a change)."""
        if self._index is None:
            self._index = HitIndex(self.session.shapes)
        return self._index

    def shape_at(self, x: float, y: float, tolerance: float = 4.0, visible_only: bool = True) -> Optional[int]:
        """The id of the topmost shape within ``tolerance`` pixels of (x, y) (hidden shapes skipped), or None."""
        index = self.hit_index()
        hidden = self.session.hidden if visible_only else frozenset()
        for i in index.hits(x, y, tolerance):
            if index.shapes[i].id not in hidden:
                return index.shapes[i].id
        return None
