"""``anylabel models``: list the model zoo and download models.

* ``anylabel models list [--models FILE]``: every model with its family, whether its file is present,
  its size and where the file is (or will be).
* ``anylabel models fetch NAME [--sha256 HEX] [--models FILE]``: download one model (resumable, with a
  progress bar) and verify its checksum; an already present file is verified instead.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from anylabel.sizes import format_size

COMMAND = "models"
HELP = "list the model zoo (downloaded or not, size, path) and download models"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``anylabel models``."""
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    lst = sub.add_parser("list", help="list every model: family, downloaded, size, path")
    _add_models_option(lst)
    fetch = sub.add_parser("fetch", help="download a model and verify its checksum")
    fetch.add_argument("name", help="registry name, e.g. sam_vit_b (see `anylabel models list`)")
    fetch.add_argument("--sha256", help="checksum to require, for a model without a published one")
    fetch.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    _add_models_option(fetch)


def _add_models_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", action="append", default=[], metavar="FILE",
                        help="extra models file (YAML), may be repeated; overrides entries by name")


def human_size(size: Optional[int]) -> str:
    """``1234567`` -> ``"1.2 MB"`` (the one formatter the GUI uses too); ``-`` when unknown."""
    return format_size(size)


def _table(rows: List[List[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run ``anylabel models list|fetch``."""
    from anylabel.models import ModelRegistry

    registry = ModelRegistry.load(extra_files=args.models)
    if args.models_command == "list":
        return _list(registry)
    return _fetch(registry, args)


def _list(registry) -> int:
    rows = [["NAME", "FAMILY", "DOWNLOADED", "SIZE", "PATH"]]
    for spec in registry.specs():
        path = registry.local_path(spec)
        if path is None:
            downloaded, where, size = "n/a", "(no file needed)", "-"
        else:
            present = path.is_file()
            downloaded = "yes" if present else "no"
            partial = path.with_name(path.name + ".part")
            if not present and partial.is_file():
                downloaded = f"partial {human_size(partial.stat().st_size)}"
            where = str(path)
            size = human_size(path.stat().st_size if present else spec.size)
        rows.append([spec.name, spec.family, downloaded, size, where])
    print(_table(rows))
    print(f"\n{len(rows) - 1} models; downloads go to {registry.cache_dir}")
    return 0


def _fetch(registry, args: argparse.Namespace) -> int:
    spec = registry.get(args.name)
    if args.sha256:
        spec = spec.with_checksum(sha256=args.sha256)
    path = registry.local_path(spec)
    if path is None:
        print(f"{spec.name}: needs no download")
        return 0
    bar = None
    progress = None
    if not args.quiet:
        from tqdm import tqdm

        action = "verifying" if path.is_file() else "downloading"
        bar = tqdm(total=spec.size, unit="B", unit_scale=True, unit_divisor=1000, desc=f"{spec.name} ({action})",
                   file=sys.stderr, dynamic_ncols=True)

        def progress(done: int, total: int) -> None:
            if total and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

    try:
        result = registry.ensure(spec, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    print(f"{spec.name}: {result} (verified)" if spec.has_checksum else f"{spec.name}: {result}")
    return 0
