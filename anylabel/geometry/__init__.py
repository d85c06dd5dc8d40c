"""Geometry: mask ⇄ polygon, simplification, RLE (through pycocotools) and boxes."""
from anylabel.geometry.boxes import box_iou, mask_to_box, polygon_area, polygon_box
from anylabel.geometry.polygons import mask_to_polygons, polygon_to_mask, shape_to_mask, simplify_polygon
from anylabel.geometry.rle import mask_iou, rle_area, rle_decode, rle_encode

__all__ = [
    "box_iou", "mask_iou", "mask_to_box", "mask_to_polygons", "polygon_area", "polygon_box",
    "polygon_to_mask", "rle_area", "rle_decode", "rle_encode", "shape_to_mask", "simplify_polygon",
]
