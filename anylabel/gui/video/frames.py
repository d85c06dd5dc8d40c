"""A video's frames as the main window's "image folder", so frames are browsed, edited and saved with the
window's own machinery (file list, canvas, undo, Ctrl+S, autosave, unsaved-changes prompt), and the
small document helpers of video mode (replacing an object's shapes in one undo step, masks of shapes,
the highest track id already used).

:class:`VideoFrameFolder` has the interface of :class:`anylabel.session.folder.ImageFolder` (``names``,
``image_path``, ``annotation_path``, ``load``, ``save``, ``is_annotated`` ...). Frame ``row`` is video frame
``row``. Its files are the ones the tracker writes (:class:`anylabel.tracking.output.FrameAnnotations`):
``OUT/<frame name>.json`` with ``frame_index``; for a video file the frame image is extracted to
``OUT/<frame name>.jpg`` when the frame's annotation is first written (saved, or tracked), never when it is
only shown (never the whole video). ``OUT`` for a video file is a folder of our own (``clip.anylabel/``,
with a marker file), never a folder we did not create.

What the window shows costs one decode and nothing else (a 10,000-frame video scrubs like a short one):

* pixels come from the video itself (:meth:`VideoFrameFolder.pixels`: the source's small LRU, the
  neighbours decoded ahead in the background by a :class:`~anylabel.imaging.video.FrameReader`), not from
  an extracted JPEG decoded again;
* a frame the tracker has just written is shown from the annotation it wrote (:meth:`VideoFrameFolder.
  write_result`), not parsed back from its file, as long as the file is still exactly what was written
  (its :class:`~anylabel.filelock.Fingerprint`); any other change on disk is read from the file.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

import numpy as np

from anylabel import __version__
from anylabel.document import ImageAnnotation, Shape
from anylabel.errors import AnylabelError
from anylabel.fileio import atomic_write_text
from anylabel.filelock import Fingerprint
from anylabel.formats.labelme import load_labelme, save_labelme
from anylabel.geometry import rle_decode, shape_to_mask
from anylabel.imaging.video import FrameReader, FrameSource, open_frames
from anylabel.session.folder import FileVersions, relative_image_path
from anylabel.tracking.output import FrameAnnotations
from anylabel.tracking.state import FrameResult

#: tracker-written annotations kept for the window to show without parsing their files (the newest ones:
#: the frame on screen follows the tracker; others are read from their files when shown)
KEEP_WRITTEN = 4


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
        self.reader = FrameReader(source)  # the frames shown: decoded from the video, neighbours ahead
        self._written: "OrderedDict[int, Tuple[Optional[Fingerprint], ImageAnnotation]]" = OrderedDict()
        self._written_lock = threading.Lock()  # the tracker's thread adds, the GUI thread takes
        self.parsed = 0  # annotation files parsed by load (for tests and benchmarks)
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
        """The frame's image file: a frame folder's own file; for a video file, the JPEG the frame is
        extracted to when its annotation is first written (it may not exist yet: showing a frame does not
        extract it, see :meth:`pixels`)."""
        f = self.source.frame_file(row)
        return f if f is not None else self.output_dir / self.names[row]

    def pixels(self, row: int) -> np.ndarray:
        """Frame ``row`` as HxWx3 uint8 RGB, read-only (shared with the source's cache), decoded from the
        video (or the frame file); its neighbours are then decoded in the background."""
        return self.reader.get(row)

    def prefetch(self, rows: Iterable[int]) -> None:
        """Decode ``rows`` in the background (the frames Next / Prev will show)."""
        self.reader.prefetch(list(rows))

    def write_result(self, result: FrameResult) -> ImageAnnotation:
        """Merge a tracker result into its frame's file (the tracker's thread; see ``FrameAnnotations.write``)
        and keep what was written, with the file's fingerprint taken under its lock, for :meth:`load`."""

        def keep(path: Path, ann: ImageAnnotation) -> None:
            fingerprint = Fingerprint.of(path)
            with self._written_lock:
                self._written.pop(result.frame_index, None)
                self._written[result.frame_index] = (fingerprint, ann)
                while len(self._written) > KEEP_WRITTEN:
                    self._written.popitem(last=False)

        ann = self.annotations.write(result, on_written=keep)
        self.set_annotated(result.frame_index, True)
        return ann

    def annotation_path(self, row: int) -> Path:
        return self.annotations.json_path(row)

    def is_annotated(self, row: int) -> bool:
        return row in self._annotated

    def set_annotated(self, row: int, annotated: bool = True) -> None:
        (self._annotated.add if annotated else self._annotated.discard)(row)

    def load(self, row: int) -> Tuple[ImageAnnotation, bool]:
        """The frame's annotation and whether it came from a file (see ``FrameAnnotations.load``): the one
        the tracker just wrote when the file is still exactly that (handed over once), else the file."""
        path = self.annotation_path(row)
        with self._written_lock:
            written = self._written.pop(row, None)

        def read() -> Optional[ImageAnnotation]:
            if written is not None and written[0] is not None and Fingerprint.of(path) == written[0]:
                return written[1]
            if not path.is_file():
                return None
            self.parsed += 1
            return load_labelme(path)

        loaded = self.versions.read(row, path, read)
        exists = loaded is not None
        if exists:
            ann = loaded
        else:  # a new annotation; the frame is extracted when it is first written, not now (only shown)
            h, w = self.source.size
            ann = ImageAnnotation(image_path=relative_image_path(self.image_path(row), self.output_dir),
                                  image_height=h, image_width=w)
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
        self.annotations.image_path(row)  # a video frame's JPEG, extracted if it is not there yet
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
