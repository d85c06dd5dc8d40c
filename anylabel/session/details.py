"""Label details of the session (``session.details``): shape flags, attributes, difficult; image flags, tags
and the review mark. Each change is one undo step; all are kept where LabelMe / X-AnyLabeling keep them
(:class:`~anylabel.document.Shape` ``flags`` / ``attributes`` / ``difficult``,
:class:`~anylabel.document.ImageAnnotation` ``flags`` / ``tags`` / ``checked``), so they round-trip
through save and reopen. Attributes are checked against the settings
(:meth:`anylabel.config.Config.attribute_choices`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Iterable, List, Mapping, Optional, Sequence

from anylabel.document import Shape
from anylabel.document.history import SetImageDetails
from anylabel.errors import AnylabelError
from anylabel.session.editing import image_size

if TYPE_CHECKING:
    from anylabel.session.session import AnnotationSession


class InvalidAttribute(AnylabelError):
    """An attribute or value the settings do not offer for the shape's label; the message names both."""


class LabelDetails:
    """``session.details`` (see the module docstring)."""

    def __init__(self, session: "AnnotationSession") -> None:
        self.session = session

    # ------------------------------------------------------------------------------ shapes
    def _edit(self, shape_id: int, text: str, **changes) -> None:
        new = self.session.shape(shape_id).copy()
        for key, value in changes.items():
            setattr(new, key, value)
        self.session.replace({shape_id: new}, text)

    def set_shape_flags(self, shape_id: int, flags: Mapping[str, bool]) -> None:
        """The shape's flags (labelme's shape ``flags``: name -> bool), replacing the old ones."""
        self._edit(shape_id, "edit flags", flags={str(k): bool(v) for k, v in flags.items()})

    def set_attributes(self, shape_id: int, attributes: Mapping[str, str]) -> None:
        """The shape's attributes (name -> value), replacing the old ones; every name and value must be one
        the settings offer for the shape's label (:meth:`~anylabel.config.Config.attribute_choices`), else
        :class:`InvalidAttribute` names the attribute and the allowed choices."""
        self.check_attributes(self.session.shape(shape_id).label, attributes)
        self._edit(shape_id, "edit attributes", attributes=dict(attributes))

    def check_attributes(self, label: str, attributes: Mapping[str, str]) -> None:
        """Raise :class:`InvalidAttribute` unless every name and value is one the settings offer for ``label``."""
        choices = self.session.config.attribute_choices(label)
        for name, value in attributes.items():
            if name not in choices:
                offered = ", ".join(sorted(choices)) or "none"
                raise InvalidAttribute(f"no attribute {name!r} for label {label!r} in the settings (attributes: "
                                       f"{offered})", self.session.config.path)
            if value not in choices[name]:
                raise InvalidAttribute(f"{value!r} is not a choice of attribute {name!r} for label {label!r}; "
                                       f"allowed: {', '.join(map(str, choices[name]))}", self.session.config.path)

    def describe(self, shapes: Sequence[Shape], flags: Optional[Mapping[str, bool]] = None,
                 attributes: Optional[Mapping[str, str]] = None, difficult: Optional[bool] = None) -> List[Shape]:
        """Give shapes not yet added (a finished object's parts, a drawn shape) these details, the attributes
        checked against each shape's label (:meth:`check_attributes`); None leaves a detail as it is.
        Returns ``shapes`` (changed in place)."""
        for shape in shapes:
            if attributes is not None:
                self.check_attributes(shape.label, attributes)
                shape.attributes = dict(attributes)
            if flags is not None:
                shape.flags = {str(k): bool(v) for k, v in flags.items()}
            if difficult is not None:
                shape.difficult = bool(difficult)
        return list(shapes)

    def edit_shapes(self, ids: Iterable[int], label: Optional[str] = None, group_id: Optional[int] = None,
                    set_group: bool = False, description: Optional[str] = None,
                    flags: Optional[Mapping[str, bool]] = None, attributes: Optional[Mapping[str, str]] = None,
                    difficult: Optional[bool] = None) -> None:
        """Change the label and the details of these shapes in one undo step (the label dialog's Change
        label); None keeps a detail (``group_id`` is set, also to None, when ``set_group``). New attribute
        values must be offered for the shape's (new) label; a value the shape had already is kept as it is
        (a file from another tool)."""
        from anylabel.session.shapes import relabeled

        s = self.session
        new = {}
        for shape_id in ids:
            old = s.shape(shape_id)
            shape = relabeled(old, label, group_id, set_group, description,
                              None if flags is None else {str(k): bool(v) for k, v in flags.items()})
            if attributes is not None:
                self.check_attributes(shape.label, {k: v for k, v in attributes.items()
                                                    if old.attributes.get(k) != v})
                shape.attributes = dict(attributes)
            if difficult is not None:
                shape.difficult = bool(difficult)
            new[shape_id] = shape
        if new:
            s.replace(new, f"label {label}" if label else "edit label details")
            if label:
                s.last_label = label

    def set_difficult(self, shape_id: int, difficult: bool) -> None:
        self._edit(shape_id, "mark difficult" if difficult else "unmark difficult", difficult=bool(difficult))

    # ------------------------------------------------------------------------------ the image
    def _image(self, text: str, flags: Optional[Dict[str, bool]] = None, tags: Optional[list] = None,
               checked: Optional[bool] = None) -> None:
        image_size(self.session)  # an image must be open
        self.session.history.push(SetImageDetails(flags, tags, checked, text))

    def set_image_flags(self, flags: Mapping[str, bool]) -> None:
        """The image's flags (labelme's top-level ``flags``), replacing the old ones."""
        self._image("edit image flags", flags={str(k): bool(v) for k, v in flags.items()})

    def set_tags(self, tags: Iterable[str]) -> None:
        """The image's tags, in order, each once (free text; the settings' ``image_tags`` are suggestions)."""
        clean = [t for t in dict.fromkeys(str(t).strip() for t in tags) if t]
        self._image("edit tags", tags=clean)

    def set_checked(self, checked: bool = True) -> None:
        """Mark the image reviewed (X-AnyLabeling's top-level ``checked``) or not."""
        self._image("mark checked" if checked else "mark unchecked", checked=bool(checked))

    def toggle_checked(self) -> bool:
        """Flip the review mark; returns the new state."""
        image_size(self.session)
        new = not self.session.annotation.checked
        self.set_checked(new)
        return new
