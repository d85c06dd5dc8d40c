"""A video's frames as the main window's "image folder", so frames are browsed, edited and saved with the
window's own machinery (file list, canvas, undo, Ctrl+S, autosave, unsaved-changes prompt), and the
small document helpers of video mode (replacing an object's shapes in one undo step, masks of shapes,
the highest track id already used).

:class:`VideoFrameFolder` has the interface of :class:`anylabel.session.folder.ImageFolder` (``names``,
``image_path``, ``annotation_path``, ``load``, ``save``, ``is_annotated`` ...). Frame ``row`` is video frame
``row``. Its files are the ones the tracker writes (:class:`anylabel.tracking.output.FrameAnnotations`):
``OUT/<frame name>.json`` with ``frame_index``; for a video file the frame image is extracted to
``OUT/<frame name>.jpg`` the first time it is shown or written (never the whole video). ``OUT`` for a video
file is a folder of our own (``clip.anylabel/``, with a marker file), never a folder we did not create.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

import numpy as np

from anylabel import __version__
from anylabel.document import ImageAnnotation, Shape
from anylabel.errors import AnylabelError
from anylabel.fileio import atomic_write_text
from anylabel.formats.labelme import load_labelme, save_labelme
from anylabel.geometry import rle_decode, shape_to_mask
from anylabel.imaging.video import FrameSource, open_frames
from anylabel.session.folder import FileVersions, relative_image_path
from anylabel.tracking.output import FrameAnnotations

_TRACK_ID = re.compile(r'"track_id"\s*:\s*(-?\d+)')


#: the file that marks a folder as anylabel's own annotation folder for one video (see claim_video_folder)
MARKER = ".anylabel-video"


def default_output_dir(path: Path, output_dir: Optional[str]) -> Path:
    """Where a video's frame annotations go: the window's output folder if set; for a folder of frames the
    folder itself (like any image folder); for a video file a folder of our own beside it
    (:func:`claim_video_folder`: ``clip.mp4`` -> ``clip.anylabel/``, never a ``clip/`` that holds other
    files)."""
    if output_dir:
        return Path(output_dir)
    return path if path.is_dir() else claim_video_folder(path)


def claim_video_folder(video: Path) -> Path:
    """The annotation folder of video file ``video``: ``<stem>.anylabel/`` beside it, created with a marker
    file naming the video, or an existing one whose marker names this video. A folder of that name that is
    not ours (no marker, or another video's) is never written into: ``<stem>.anylabel-2/`` and so on.

    Raises:
        AnylabelError: naming the folder, when it cannot be created.
    """
    video = Path(video)
    for n in range(1, 1000):
        folder = video.with_name(f"{video.stem}.anylabel" + ("" if n == 1 else f"-{n}"))
        if folder.exists():
            if _marker_names(folder, video):
                return folder
            continue
        try:
            folder.mkdir(parents=True)
            atomic_write_text(folder / MARKER, json.dumps({"video": video.name, "created_by": f"anylabel {__version__}",
                                                           "note": "frames and LabelMe files of this video"},
                                                          ensure_ascii=False, indent=2) + "\n")
        except OSError as e:
            raise AnylabelError(f"cannot create the annotation folder: {e.strerror or e}", folder) from e
        return folder
    raise AnylabelError("no free annotation folder name beside the video", video)


def _marker_names(folder: Path, video: Path) -> bool:
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("video") == video.name


class VideoFrameFolder:
    """The frames of one video (file or frame folder) and their LabelMe files.

    Args:
        source: the frames.
        out_dir: the folder of the annotation files (and of extracted frames for a video file).
    """

    def __init__(self, source: FrameSource, out_dir: Path) -> None:
        self.source = source
        self.output_dir = Path(out_dir)
        self.annotations = FrameAnnotations(source, self.output_dir)
        self.folder = source.path if source.path.is_dir() else self.output_dir
        self.names: List[str] = [self._name(i) for i in range(len(source))]
        self._index: Dict[str, int] = {n: i for i, n in enumerate(self.names)}
        self._annotated: Set[int] = set()
        self.versions = FileVersions()  # what each frame's file held when read or written here
        if self.output_dir.is_dir():
            stems = {p.stem for p in self.output_dir.glob("*.json")}
            self._annotated = {i for i in range(len(source)) if source.frame_name(i) in stems}

    @classmethod
    def open(cls, path: str, output_dir: Optional[str] = None) -> "VideoFrameFolder":
        """Open a video file or a folder of frames (raises ImageLoadError naming it)."""
        p = Path(path).expanduser()
        return cls(open_frames(p), default_output_dir(p, output_dir))

    def _name(self, i: int) -> str:
        f = self.source.frame_file(i)
        return f.name if f is not None else f"{self.source.frame_name(i)}.jpg"

    def __len__(self) -> int:
        return len(self.names)

    def index_of(self, name: str) -> Optional[int]:
        return self._index.get(name)

    def image_path(self, row: int) -> Path:
        """The frame's image file (extracted from a video file on first use)."""
        f = self.source.frame_file(row)
        if f is not None:
            return f
        self.annotations.image_path(row)  # extracts the JPEG if it is not there yet
        return self.output_dir / self.names[row]

    def annotation_path(self, row: int) -> Path:
        return self.annotations.json_path(row)

    def is_annotated(self, row: int) -> bool:
        return row in self._annotated

    def set_annotated(self, row: int, annotated: bool = True) -> None:
        (self._annotated.add if annotated else self._annotated.discard)(row)

    def load(self, row: int) -> Tuple[ImageAnnotation, bool]:
        """The frame's annotation and whether it came from a file (see ``FrameAnnotations.load``)."""
        path = self.annotation_path(row)
        loaded = self.versions.read(row, path, lambda: load_labelme(path) if path.is_file() else None)
        exists = loaded is not None
        ann = loaded if exists else self.annotations.load(row)
        ann.frame_index = row
        if exists:
            self.set_annotated(row, True)
        return ann, exists

    def save(self, row: int, ann: ImageAnnotation, overwrite: bool = False) -> Path:
        """Write the frame's annotation (atomically, under its lock) with its ``frame_index`` and image path.

        Raises:
            ChangedOnDiskError: the file changed since it was read here (not with ``overwrite``).
        """
        path = self.annotation_path(row)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise AnylabelError(f"cannot create the output folder: {e.strerror or e}", path.parent) from e
        ann.frame_index = row
        ann.image_path = self.annotations.image_path(row)
        self.versions.write(row, path, lambda: save_labelme(ann, path), overwrite)
        self.set_annotated(row, True)
        return path

    def save_copy(self, row: int, ann: ImageAnnotation, path: Path) -> Path:
        """Save as: write ``ann`` to another file, its ``imagePath`` relative to there."""
        path = Path(path)
        copy = ann.copy()
        copy.frame_index = row
        copy.image_path = relative_image_path(self.image_path(row), path.parent)
        save_labelme(copy, path)
        return path


def shape_mask(shape: Shape, size: Tuple[int, int]) -> Optional[np.ndarray]:
    """The bool HxW mask of a polygon, rectangle, circle or mask shape (None for points and lines)."""
    if shape.shape_type == "mask" and shape.mask is not None:
        return rle_decode(shape.mask).astype(bool)
    if shape.shape_type in ("polygon", "rectangle", "circle"):
        return shape_to_mask(shape.shape_type, shape.points, size)
    return None


def max_track_id(folder: Path) -> int:
    """The highest ``track_id`` in the LabelMe files of ``folder`` (0 when none): a text scan, fast enough
    for thousands of frames, so new objects never reuse the id of an object annotated earlier."""
    best = 0
    if folder.is_dir():
        for path in folder.glob("*.json"):
            try:
                ids = [int(m) for m in _TRACK_ID.findall(path.read_text(encoding="utf-8", errors="replace"))]
            except OSError:
                continue
            best = max([best, *ids])
    return best
