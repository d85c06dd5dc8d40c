"""``labelmap:DIR``: class maps the user already has, one PNG per image.

* ``DIR/<image stem>.png`` holds one class id per pixel: a palette PNG (VOC's ``SegmentationClass``: the
  palette index is the id), an 8-bit grayscale PNG or a 16-bit PNG (more than 256 classes).
* The names are in ``class_names.txt`` (one per line, line number = id), looked up in ``DIR`` and then in
  ``DIR``'s parent, which is where labelme's ``labelme2voc.py`` writes it beside ``SegmentationClass/``.
  A names file can also be given explicitly.
* 255 is ignore (VOC's boundary / ``__ignore__`` value), unless the names file names more than 255
  classes.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Union

import numpy as np
from PIL import UnidentifiedImageError

from anylabel.errors import FormatError
from anylabel.imaging.loader import pillow_open
from anylabel.semantic.branch import ClassMap, SemanticBranch, as_int32_map, read_names, stem_candidates

PathLike = Union[str, Path]

NAMES_FILE = "class_names.txt"
VOC_IGNORE = 255
MAP_EXTENSIONS = (".png", ".PNG")


class LabelMapBranch(SemanticBranch):
    """Reads the class map of an image from ``DIR/<stem>.png``; needs no pixels of the image itself."""

    needs_image = False

    def __init__(self, folder: PathLike, names_file: Optional[PathLike] = None) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FormatError("label-map folder not found", self.folder)
        self.names_file = Path(names_file) if names_file else self._find_names()
        self.names: List[str] = read_names(self.names_file)
        self.ignore_ids = (VOC_IGNORE,) if len(self.names) <= VOC_IGNORE else ()
        self.name = f"labelmap:{self.folder}"

    def _find_names(self) -> Path:
        for candidate in (self.folder / NAMES_FILE, self.folder.parent / NAMES_FILE):
            if candidate.is_file():
                return candidate
        raise FormatError(f"no {NAMES_FILE} (one class name per line) in this folder or its parent", self.folder)

    def map_path(self, image_path: PathLike) -> Path:
        """The label map of ``image_path``; raises FormatError naming the file looked for."""
        for stem in stem_candidates(image_path):
            for ext in MAP_EXTENSIONS:
                candidate = self.folder / f"{stem}{ext}"
                if candidate.is_file():
                    return candidate
        raise FormatError(f"no label map for image {Path(image_path).name}",
                          self.folder / f"{Path(image_path).stem}.png")

    def class_map(self, image: Optional[np.ndarray], image_path: Optional[PathLike] = None) -> ClassMap:
        if image_path is None:
            raise ValueError("the labelmap branch finds maps by image name: image_path is required")
        path = self.map_path(image_path)
        return read_label_png(path), list(self.names)


def read_label_png(path: PathLike) -> np.ndarray:
    """Class ids of a label PNG as int32 HxW: palette indices, 8-bit or 16-bit gray values.

    Raises:
        FormatError: the file is unreadable, or a colour (RGB/RGBA) image whose pixel values are not ids.
    """
    path = Path(path)
    try:
        # Pillow's own open: ultralytics' replacement would try to pip-install a HEIF plugin for a bad file
        with pillow_open(path) as img:
            img.load()
            mode = img.mode
            if mode in ("P", "L", "I;16", "I;16B", "I;16L", "I", "1"):
                # mode P: np.asarray gives the palette indices, which are VOC's class ids.
                return as_int32_map(np.asarray(img))
            if mode in ("LA", "PA"):
                return as_int32_map(np.asarray(img)[..., 0])
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise FormatError(f"cannot read the label map: {e}", path) from e
    raise FormatError(
        f"a label map must hold one class id per pixel (palette, 8- or 16-bit gray PNG); this one is {mode}. "
        "Convert colour-coded maps to ids first", path)
