"""``anylabel interpolate``: fill the frames between the keyframes of every track in a folder of per-frame
LabelMe files (see :mod:`anylabel.tracking.interpolate`).

Example::

    anylabel interpolate clip.anylabel/            # the window's folder of clip.mp4 (found by its marker)
    anylabel interpolate out/ --video clip.mp4 --track 3 --start 100 --end 200

Shapes written are marked as interpolated; a re-run replaces only those (never a keyframe, never a shape a
person edited). Each frame file is written atomically under its lock, so the window saving a frame at the
same time loses nothing.
"""
from __future__ import annotations

import argparse

from anylabel.cli._segmenting import non_negative

COMMAND = "interpolate"
HELP = "fill the frames between keyframes of each track (boxes, rotated boxes, points, polygons) in LabelMe files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``anylabel interpolate``."""
    parser.add_argument("folder", help="a folder of per-frame LabelMe files (shapes with track_id)")
    parser.add_argument("--video", default=None,
                        help="the video file or frame folder the files belong to (default: found from the folder)")
    parser.add_argument("--track", action="append", type=int, default=None, metavar="ID",
                        help="interpolate only this track id (may be repeated; default: every track)")
    parser.add_argument("--start", type=non_negative(int), default=None, help="first frame to fill")
    parser.add_argument("--end", type=non_negative(int), default=None, help="last frame to fill, inclusive")
    parser.add_argument("--dry-run", action="store_true", help="say what would be written, write nothing")


def run(args: argparse.Namespace) -> int:
    """Run ``anylabel interpolate``."""
    from anylabel.tracking.folder import open_tracked_folder
    from anylabel.tracking.interpolate import interpolate_folder

    tracked = open_tracked_folder(args.folder, args.video)
    only = None
    if args.start is not None or args.end is not None:
        only = (args.start or 0, len(tracked.source) - 1 if args.end is None else args.end)
    for path in tracked.unmatched():
        print(f"anylabel interpolate: warning: {path}: not a frame of {tracked.source.path}; left alone")
    report = interpolate_folder(tracked, args.track, only, dry_run=args.dry_run)
    for line in report.skipped + report.kept:
        print(f"anylabel interpolate: note: {line}")
    verb = "would write" if args.dry_run else "wrote"
    print(f"{verb} {report.shapes} interpolated shape(s) on {len(report.frames_written)} frame(s) of "
          f"{len(report.tracks)} track(s) in {args.folder}")
    return 0
