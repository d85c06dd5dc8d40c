"""The annotation document: plain dataclasses, no I/O, no Qt."""
from anylabel.document.shape import SHAPE_TYPES, ImageAnnotation, Shape

__all__ = ["SHAPE_TYPES", "ImageAnnotation", "Shape"]
