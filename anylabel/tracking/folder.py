"""A folder of per-frame LabelMe files of one video (what ``anylabel track`` and the video window write), read
as tracks: the frames, their annotations, and each ``track_id``'s shapes frame by frame.

Which video the files belong to (needed to name frame files, to know frame indices and to create the file of
a frame that has none yet) is found in this order:

1. the video or frame folder given (``--video``);
2. the folder's marker file :data:`VIDEO_MARKER` (``clip.anylabel/`` beside ``clip.mp4``, made by the window),
   which names the video file beside the folder;
3. the folder itself, when it holds the frame images (a frame folder annotated in place);
4. the folder the files' ``imagePath`` leads to (``anylabel track frames/ -o out/``).

A file's ``frame_index`` must agree with the frame its name belongs to; otherwise the video found is not the
right one, and the error names the file and says to give the video.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Union

from anylabel.document.shape import ImageAnnotation, Shape
from anylabel.errors import AnylabelError, ImageLoadError
from anylabel.filelock import locked
from anylabel.formats.labelme import load_labelme, save_labelme
from anylabel.imaging.loader import is_image_file
from anylabel.imaging.video import FrameSource, open_frames
from anylabel.tracking.output import FrameAnnotations

PathLike = Union[str, Path]

#: the file that marks a folder as anylabel's annotation folder of one video file (``{"video": "clip.mp4"}``)
VIDEO_MARKER = ".anylabel-video"

#: track id -> frame -> that track's shapes on the frame
Tracks = Dict[int, Dict[int, List[Shape]]]


def marked_video(folder: Path) -> Optional[Path]:
    """The video file named by ``folder``'s :data:`VIDEO_MARKER`, or None without a readable marker."""
    try:
        data = json.loads((folder / VIDEO_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = data.get("video") if isinstance(data, dict) else None
    return folder.parent / name if isinstance(name, str) and name else None


@dataclass
class TrackedFolder:
    """The per-frame LabelMe files of one video in ``folder``.

    Attributes:
        folder: the folder of the JSON files.
        files: the frames' files (names, image paths, frame extraction), as the tracker writes them.
    """

    folder: Path
    files: FrameAnnotations

    @property
    def source(self) -> FrameSource:
        return self.files.source

    def annotated(self) -> List[int]:
        """Indices of the frames that have a file, in order."""
        return [i for i in range(len(self.source)) if self.files.json_path(i).is_file()]

    def unmatched(self) -> List[Path]:
        """LabelMe files in the folder whose names are no frame of the video (another video's, or frames
        extracted from a video file while the folder's images were taken for its frames)."""
        names = {self.files.json_path(i).name for i in range(len(self.source))}
        return sorted(p for p in self.folder.glob("*.json") if p.name not in names)

    def read(self) -> Dict[int, ImageAnnotation]:
        """Every frame's annotation that has a file (raises FormatError naming a bad file)."""
        out = {}
        for i in self.annotated():
            path = self.files.json_path(i)
            ann = load_labelme(path)
            if ann.frame_index is not None and ann.frame_index != i:
                raise AnylabelError(f"its frame_index is {ann.frame_index}, but its name is frame {i} of "
                                    f"{self.source.path}: give the video it belongs to (--video)", path)
            ann.frame_index = i
            out[i] = ann
        return out

    def update(self, index: int, change: Callable[[ImageAnnotation], bool]) -> bool:
        """Read-modify-write frame ``index``'s file under its lock (the GUI or a tracker saving it meanwhile
        waits): ``change(annotation)`` edits the annotation as it is on disk *now* and returns whether to
        write it. The file is created (and, for a video file, the frame extracted) when missing. Returns
        whether it was written."""
        path = self.files.json_path(index)
        path.parent.mkdir(parents=True, exist_ok=True)
        with locked(path):
            ann = self.files.load(index)
            if not change(ann):
                return False
            ann.frame_index = index
            save_labelme(ann, path)
        return True


_TRACK_ID = re.compile(rb'"track_id"\s*:\s*(-?\d+)')


def highest_track_id(folder: PathLike) -> int:
    """The highest ``track_id`` in the LabelMe files of ``folder`` (0 when none), so a new object never
    reuses the id of one annotated earlier. A byte scan, not a parse: 10,000 frame files take ~0.4 s here
    (parsing them with the LabelMe codec takes ~25 s); still, a window should call it off its GUI thread.
    Unreadable files are skipped (they are reported when opened)."""
    best = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.endswith(".json"):
            continue
        try:
            with open(entry.path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        for m in _TRACK_ID.findall(data):
            best = max(best, int(m))
    return best


def tracks_of(annotations: Dict[int, ImageAnnotation]) -> Tracks:
    """Each track's shapes frame by frame (shapes without a ``track_id`` are not part of a track)."""
    out: Tracks = {}
    for f, ann in sorted(annotations.items()):
        for s in ann.shapes:
            if s.track_id is not None:
                out.setdefault(int(s.track_id), {}).setdefault(f, []).append(s)
    return out


def open_tracked_folder(folder: PathLike, video: Optional[PathLike] = None) -> TrackedFolder:
    """The tracked folder ``folder`` with its video found as the module docstring says.

    Raises:
        AnylabelError: naming the folder, when it does not exist or no video / frames can be found for it.
        ImageLoadError: the video or frame folder cannot be opened.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise AnylabelError("no such folder" if not folder.exists() else "not a folder", folder)
    for candidate in _candidates(folder, video):
        source = open_frames(candidate)
        return TrackedFolder(folder, FrameAnnotations(source, folder))
    raise AnylabelError("cannot tell which video these frame files belong to (no marker file, no frame "
                        "images here, no imagePath leading to them): give it with --video", folder)


def _candidates(folder: Path, video: Optional[PathLike]) -> Iterator[Path]:
    if video is not None:
        yield Path(video)
        return
    marked = marked_video(folder)
    if marked is not None:
        if not marked.exists():
            raise ImageLoadError(f"the video named by {VIDEO_MARKER} in {folder} is missing", marked)
        yield marked
        return
    try:
        entries = sorted(folder.iterdir())
    except OSError as e:
        raise AnylabelError(f"cannot list the folder: {e.strerror or e}", folder) from e
    if any(p.is_file() and is_image_file(p) for p in entries):
        yield folder
        return
    for path in entries:
        if path.suffix.lower() == ".json" and path.is_file():
            ann = load_labelme(path)
            image = (folder / ann.image_path).resolve()
            if image.parent.is_dir():
                yield image.parent
                return
