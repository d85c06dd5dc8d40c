"""``anylabel track``: video tracking from the command line, with SAM2 or SAM 3's tracker (``--model sam3``).

Example::

    anylabel track bedroom.mp4 --model sam2.1_hiera_tiny \\
        --point 0:1:210,350 --point 0:1:250,220,0 --box 0:2:300,0,500,400 \\
        --label 1:child --label 2:bed -o out/

writes ``out/<frame>.json`` (LabelMe, shapes with ``track_id``; for a video file the frames are extracted
next to them) and ``out/mot/<out>/gt/gt.txt`` (MOT Challenge tracks, with ``labels.csv``). Existing frame
files in ``out/`` are merged, not replaced: shapes of other track ids stay.

Direction (``--direction``, see :mod:`anylabel.tracking.propagation`): ``forward`` (the default) from the first
prompted frame to ``--end``; ``backward`` (``--reverse``) from the latest prompted frame down to ``--start``;
``both``: forward, then backward from each object's first prompt down to ``--start``. ``--frames N`` stops
each direction N frames past the prompted frame. A forward run with ``--start`` before the first prompt
tracks both ways (down to ``--start``). ``--existing keep`` leaves frames where an object already has
shapes in OUT as they are (default ``replace``).
"""
from __future__ import annotations

import argparse
import re
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from anylabel.cli._device import add_device_argument, cli_device
from anylabel.cli._segmenting import non_negative
from anylabel.config import PRECISIONS
from anylabel.errors import AnylabelError
from anylabel.tracking.output import EXISTING
from anylabel.tracking.propagation import DIRECTIONS

COMMAND = "track"
HELP = "track objects through a video or a folder of frames with SAM2 or SAM 3 (LabelMe per frame + MOT tracks)"

_NUM = r"-?\d+(?:\.\d+)?"
_POINT = re.compile(rf"^(\d+):(-?\d+):({_NUM}),({_NUM})(?:,([01]))?$")
_BOX = re.compile(rf"^(\d+):(-?\d+):({_NUM}),({_NUM}),({_NUM}),({_NUM})$")
_LABEL = re.compile(r"^(-?\d+):(.+)$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``anylabel track``."""
    parser.add_argument("video", help="a video file (mp4, avi, mov, mkv, ...) or a folder of frame images")
    parser.add_argument("--model", required=True,
                        help="a sam2 model of the zoo, e.g. sam2.1_hiera_tiny, or sam3 (SAM 3's tracker, its sam3.pt "
                        "named in a models file)")
    parser.add_argument("--point", action="append", default=[], metavar="FRAME:OBJ:X,Y[,1|0]",
                        help="a click on object OBJ in frame FRAME, pixels; 1 positive (default), 0 negative")
    parser.add_argument("--box", action="append", default=[], metavar="FRAME:OBJ:X1,Y1,X2,Y2",
                        help="a box around object OBJ in frame FRAME, pixels")
    parser.add_argument("--label", action="append", default=[], metavar="OBJ:NAME",
                        help="the label of object OBJ (default object_<OBJ>)")
    parser.add_argument("-o", "--output", required=True, help="output folder for the per-frame LabelMe JSON")
    parser.add_argument("--start", type=int, default=None,
                        help="lowest frame to track (default: the first prompt forward, frame 0 backward)")
    parser.add_argument("--end", type=int, default=None, help="last frame to track, inclusive (default: last)")
    parser.add_argument("--direction", choices=DIRECTIONS, default=None,
                        help="forward (default), backward from the latest prompt, or both: forward, then "
                        "backward from each object's first prompt")
    parser.add_argument("--reverse", action="store_true", help="the same as --direction backward")
    parser.add_argument("--frames", type=non_negative(int), default=None, metavar="N",
                        help="track N frames past the prompted frame in each direction (default: to --end / "
                        "--start, or the end of the video)")
    parser.add_argument("--existing", choices=EXISTING, default="replace",
                        help="an object's shapes already in OUT on a frame: replace them (default) or keep them")
    parser.add_argument("--models", action="append", default=[], metavar="FILE",
                        help="extra models file (YAML), may be repeated")
    add_device_argument(parser, "sam2")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--precision", choices=PRECISIONS, default=None,
                        help="sam2's arithmetic: bfloat16 autocast is ~3x faster on CPUs with AMX and close to, "
                        "not equal to, float32 (default: $ANYLABEL_PRECISION or auto = the faster of the two "
                        "on this CPU, measured once; bfloat16 only where the CPU has bfloat16 instructions)")
    parser.add_argument("--tolerance", type=non_negative(float), default=1.0, help="polygon simplification, pixels")
    parser.add_argument("--no-mot", action="store_true", help="do not write the MOT track file")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


Prompts = Dict[Tuple[int, int], dict]


def parse_prompts(points: List[str], boxes: List[str]) -> Prompts:
    """``--point`` / ``--box`` values grouped by (frame, object): ``{"pos": [...], "neg": [...], "box": ...}``.

    Raises:
        AnylabelError: a malformed value (the message quotes it and the expected form), or two boxes for
            one object on one frame.
    """
    prompts: Prompts = defaultdict(lambda: {"pos": [], "neg": [], "box": None})
    for text in points:
        m = _POINT.match(text.replace(" ", ""))
        if not m:
            raise AnylabelError(f"--point {text!r}: expected FRAME:OBJ:X,Y or FRAME:OBJ:X,Y,1|0")
        key = (int(m.group(1)), int(m.group(2)))
        xy = (float(m.group(3)), float(m.group(4)))
        prompts[key]["neg" if m.group(5) == "0" else "pos"].append(xy)
    for text in boxes:
        m = _BOX.match(text.replace(" ", ""))
        if not m:
            raise AnylabelError(f"--box {text!r}: expected FRAME:OBJ:X1,Y1,X2,Y2")
        key = (int(m.group(1)), int(m.group(2)))
        if prompts[key]["box"] is not None:
            raise AnylabelError(f"--box {text!r}: object {key[1]} already has a box on frame {key[0]}")
        prompts[key]["box"] = tuple(float(m.group(i)) for i in range(3, 7))
    if not prompts:
        raise AnylabelError("nothing to track: give at least one --point or --box")
    return dict(prompts)


def parse_labels(labels: List[str]) -> Dict[int, str]:
    """``--label OBJ:NAME`` values as ``{obj: name}``."""
    out: Dict[int, str] = {}
    for text in labels:
        m = _LABEL.match(text.strip())
        if not m or not m.group(2).strip():
            raise AnylabelError(f"--label {text!r}: expected OBJ:NAME, e.g. 1:person")
        out[int(m.group(1))] = m.group(2).strip()
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``anylabel track``."""
    prompts = parse_prompts(args.point, args.box)
    labels = parse_labels(args.label)
    unknown = sorted(set(labels) - {obj for _, obj in prompts})
    if unknown:
        raise AnylabelError(f"--label for object(s) {unknown} that have no --point or --box")

    from tqdm import tqdm

    from anylabel.backends.prompt import Prompt
    from anylabel.imaging.video import open_frames
    from anylabel.tracking import Propagation
    from anylabel.tracking.model import load_video_predictor, open_session
    from anylabel.tracking.output import FrameAnnotations

    if Path(args.output).exists() and not Path(args.output).is_dir():
        raise AnylabelError("the output must be a folder, and this is a file", args.output)
    frames = open_frames(args.video)
    n = len(frames)
    for (frame, obj) in prompts:
        if frame >= n:
            raise AnylabelError(f"a prompt for object {obj} is on frame {frame}, but the video has {n} frames "
                                f"(0..{n - 1})", args.video)
    direction = _direction(args)
    first, latest = min(f for f, _ in prompts), max(f for f, _ in prompts)
    if direction == "forward" and args.start is not None and args.start < first:
        direction = "both"  # the frames from --start up to the first prompt, as before --direction existed
    lo = 0 if args.start is None else args.start
    hi = n - 1 if args.end is None else args.end
    if not (0 <= lo < n and 0 <= hi < n):
        raise AnylabelError(f"--start/--end must be frames 0..{n - 1}, got {lo}..{hi}", args.video)
    if direction == "forward" and hi < max(lo, first):
        raise AnylabelError(f"--end {hi} is before the first frame to track ({max(lo, first)})")
    if direction == "backward" and lo > min(hi, latest):
        raise AnylabelError(f"--start {lo} is after the first frame to track backwards ({min(hi, latest)})")
    plan = Propagation(direction, count=args.frames, first=lo, last=hi)

    if args.threads:
        import torch

        torch.set_num_threads(max(1, args.threads))
    predictor = load_video_predictor(args.model, args.models, device=cli_device(args))
    from anylabel.cli._segmenting import stderr_notices

    with stderr_notices():
        session = open_session(predictor, frames, precision=args.precision)
    for (frame, obj), p in sorted(prompts.items()):
        prompt = Prompt.from_clicks(p["pos"], p["neg"], box=p["box"])
        session.add_prompt(frame, obj, prompt, label=labels.get(obj))
    out = FrameAnnotations(frames, args.output, tolerance=args.tolerance, existing=args.existing)

    written = 0
    bar = tqdm(total=session.frames_to_track(plan), desc="tracking", unit="frame", disable=args.quiet)
    try:
        for result in session.run(plan):
            out.write(result)
            written += 1
            bar.update(1)
    finally:
        bar.close()
        if written and not args.no_mot:
            _write_mot(Path(args.output), args.quiet)
    print(f"tracked {len(session.obj_ids)} object(s) over {written} frame(s) into {args.output}")
    return 0


def _direction(args: argparse.Namespace) -> str:
    if args.reverse and args.direction not in (None, "backward"):
        raise AnylabelError(f"--reverse and --direction {args.direction} contradict each other")
    return "backward" if args.reverse else (args.direction or "forward")


def _write_mot(out_dir: Path, quiet: bool) -> Optional[Path]:
    """The MOT export of the frame files in ``out_dir`` (formats' ``mot`` writer), into ``out_dir/mot``."""
    from anylabel.formats.base import Options
    from anylabel.formats.registry import export_folder

    # the frame files are ours, written just now; their imagePath leads to the frames beside OUT
    options = Options(image_mode="hardlink", overwrite=True, allow_outside=True)
    report = export_folder(out_dir, "mot", out_dir / "mot", options, nested_ok=True)
    gt = out_dir / "mot" / out_dir.resolve().name / "gt" / "gt.txt"
    if not quiet:
        print(f"MOT tracks: {gt}" + (f" ({len(report.warnings)} warning(s))" if report.warnings else ""))
    return gt
