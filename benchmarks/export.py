"""Export throughput: N generated LabelMe files (20 polygons each) to COCO and to YOLO-seg, files per second;
with ``--labelme CHECKOUT``, ``anylabel export --format coco`` side by side with labelme's own converter.

    python benchmarks/export.py                       # 10,000 files, images hard-linked
    python benchmarks/export.py --files 2000 --image-mode copy
    python benchmarks/export.py --files 1000 --labelme ../labelme --rounds 2   # vs labelme2coco.py --noviz

The side-by-side comparison runs both as commands, in the same run, on the same folder, alternating
(labelme, anylabel, labelme, ...), and reports the best wall time of each and their ratio, with the load
average: ``python CHECKOUT/examples/instance_segmentation/labelme2coco.py SRC OUT --labels labels.txt --noviz``
against ``anylabel export SRC --format coco -o OUT --labels labels.txt -q`` (images copied, as labelme's script
re-encodes them into JPEGImages/). The checkout is a clone of github.com/wkentaro/labelme, never part of
this project; without it the comparison is skipped and the output says so.

Every file refers to its own image name (all hard links to one 640x480 JPEG, so generating the set is cheap),
has 20 simple polygons of 8-24 vertices over 10 classes, and every fifth polygon shares a group_id with the
one before it (merged instances). The timed part is exactly what ``anylabel export`` does: reading the
folder (parsing and validating every file) and writing the dataset (validation, clipping, rasterising
area/bbox for COCO, normalising for YOLO, placing the images, atomic writes). Generation is not timed.
"""
from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anylabel.document import ImageAnnotation, Shape  # noqa: E402
from anylabel.formats.base import Options, Report  # noqa: E402
from anylabel.formats.folder import read_labelme_folder  # noqa: E402
from anylabel.formats.labelme import save_labelme  # noqa: E402
from anylabel.formats.registry import write_dataset  # noqa: E402

CLASSES = ["person", "car", "bus", "bicycle", "dog", "cat", "chair", "bottle", "sofa", "tv/monitor"]


def star(rng: np.random.Generator, w: int, h: int) -> list:
    """A simple polygon: vertices at increasing angles around a centre."""
    n = int(rng.integers(8, 25))
    cx, cy = rng.uniform(40, w - 40), rng.uniform(40, h - 40)
    angles = np.sort(rng.uniform(0, 2 * math.pi, n))
    radii = rng.uniform(8, 38, n)
    return [(round(float(cx + r * math.cos(a)), 2), round(float(cy + r * math.sin(a)), 2))
            for a, r in zip(angles, radii)]


def generate(folder: Path, files: int, polygons: int, size: tuple, seed: int) -> None:
    """``files`` LabelMe JSON files in ``folder``, each with its own (hard-linked) image."""
    w, h = size
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / "_base.jpg"
    yy, xx = np.mgrid[0:h, 0:w]
    Image.fromarray(np.stack([xx % 256, yy % 256, (xx + yy) % 256], -1).astype(np.uint8)).save(base, quality=85)
    rng = np.random.default_rng(seed)
    for i in range(files):
        shapes = []
        for k in range(polygons):
            group = (k // 5) + 1 if k % 5 in (3, 4) else None  # every 5th polygon joins the one before it
            label = CLASSES[(k // 5 * 3 + i) % len(CLASSES)] if group else CLASSES[int(rng.integers(len(CLASSES)))]
            shapes.append(Shape(label, star(rng, w, h), "polygon", group_id=group))
        name = f"img_{i:05d}"
        os.link(base, folder / f"{name}.jpg")
        save_labelme(ImageAnnotation(f"{name}.jpg", h, w, shapes), folder / f"{name}.json")
    base.unlink()


def run(fmt: str, src: Path, out: Path, mode: str) -> dict:
    options = Options(image_mode=mode)
    t0 = time.perf_counter()
    report = Report()
    items = read_labelme_folder(src, options, report)
    t1 = time.perf_counter()
    written = write_dataset(fmt, items, out, options)
    t2 = time.perf_counter()
    return {"format": fmt, "files": len(items), "read_s": t1 - t0, "write_s": t2 - t1, "total_s": t2 - t0,
            "instances": written.instances, "warnings": len(report.warnings) + len(written.warnings)}


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "n/a"


def compare_with_labelme(checkout: Path, src: Path, work: Path, rounds: int) -> dict:
    """Best wall time of labelme's labelme2coco.py --noviz and of ``anylabel export --format coco``, alternating."""
    script = checkout / "examples" / "instance_segmentation" / "labelme2coco.py"
    labels = work / "labels.txt"
    labels.write_text("\n".join(["__ignore__", "_background_", *CLASSES]) + "\n")
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    commands = {
        "labelme": [sys.executable, str(script), str(src), None, "--labels", str(labels), "--noviz"],
        "anylabel": [sys.executable, "-m", "anylabel", "export", str(src), "--format", "coco", "-o", None,
                     "--labels", str(labels), "-q"],
    }
    best = {k: math.inf for k in commands}
    cpu = {k: math.inf for k in commands}  # user + sys of the command and its worker processes, best round
    loads = []
    for r in range(rounds):
        for name, cmd in commands.items():
            out = work / f"cmp-{name}-{r}"
            cmd = [str(out) if c is None else c for c in cmd]
            loads.append(loadavg())
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
            best[name] = min(best[name], time.perf_counter() - t)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name] = min(cpu[name], after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            shutil.rmtree(out, ignore_errors=True)
    loads.append(loadavg())
    return {"best": best, "cpu": cpu, "loads": loads}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--polygons", type=int, default=20)
    parser.add_argument("--size", default="640x480", help="image WxH")
    parser.add_argument("--image-mode", default="hardlink", choices=("copy", "hardlink", "symlink"))
    parser.add_argument("--formats", default="coco,yolo-seg")
    parser.add_argument("--workdir", help="where to generate (default: a temporary folder, removed after)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labelme", metavar="CHECKOUT", type=Path,
                        help="a checkout of labelme's repository: also time its labelme2coco.py --noviz against "
                        "`anylabel export --format coco` on the same files")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the side-by-side comparison (best of)")
    args = parser.parse_args()
    if args.labelme is not None and not (args.labelme / "examples/instance_segmentation/labelme2coco.py").is_file():
        parser.error(f"{args.labelme} is not a labelme checkout (no examples/instance_segmentation/labelme2coco.py)")
    w, h = (int(v) for v in args.size.lower().split("x"))
    work = Path(args.workdir or tempfile.mkdtemp(prefix="anylabel-bench-"))
    try:
        t = time.perf_counter()
        generate(work / "src", args.files, args.polygons, (w, h), args.seed)
        print(f"generated {args.files} files x {args.polygons} polygons ({w}x{h}) in {time.perf_counter() - t:.1f} s",
              flush=True)
        load_before = loadavg()
        rows = [run(fmt, work / "src", work / f"out-{fmt}", args.image_mode) for fmt in args.formats.split(",")
                if fmt]
        compared = compare_with_labelme(args.labelme, work / "src", work, args.rounds) if args.labelme else None
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nexport of {args.files} LabelMe files, {args.polygons} polygons each, images {args.image_mode}, "
          f"in-process ({os.cpu_count()} CPUs on the machine, load average {load_before} at the start)\n")
    print("| format | files | instances | read s | write s | total s | files/s | warnings |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['format']} | {r['files']} | {r['instances']} | {r['read_s']:.1f} | {r['write_s']:.1f} | "
              f"{r['total_s']:.1f} | {r['files'] / r['total_s']:.0f} | {r['warnings']} |")
    if compared is None:
        print("\nlabelme comparison skipped: no labelme checkout given (--labelme PATH to a clone of "
              "github.com/wkentaro/labelme)")
        return 0
    b = compared["best"]
    print(f"\nside by side, {args.files} files, best of {args.rounds} alternating rounds, load average before each "
          f"run (and after the last): {', '.join(compared['loads'])}\n")
    c = compared["cpu"]
    print("| command | wall s | files/s | CPU s (user+sys, with workers) |")
    print("|---|---:|---:|---:|")
    print(f"| labelme2coco.py --noviz | {b['labelme']:.2f} | {args.files / b['labelme']:.0f} | {c['labelme']:.2f} |")
    print(f"| anylabel export --format coco | {b['anylabel']:.2f} | {args.files / b['anylabel']:.0f} | "
          f"{c['anylabel']:.2f} |")
    print(f"\nanylabel is {b['labelme'] / b['anylabel']:.2f}x as fast as labelme2coco.py (wall) and uses "
          f"{c['labelme'] / c['anylabel']:.2f}x less CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
