"""``anylabel export`` starts without the model stack: torch, ultralytics and sam2 take seconds to import
and an export needs none of them (the CLI's discovery imports every subcommand module, so a heavy
module-level import anywhere in a subcommand's chain would be paid by every export)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from formats_util import poly, write_doc

HEAVY = ("torch", "ultralytics", "sam2", "segment_anything", "onnxruntime", "PyQt5")

PROBE = """
import json, sys
from anylabel.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": sorted(m for m in sys.modules if m.split('.')[0] in %r)}))
""" % (HEAVY,)


def _run(args: list) -> dict:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env,
                          timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_export_does_not_import_torch(tmp_path):
    write_doc(tmp_path / "src", "a", [poly("cat", [(1, 1), (20, 1), (10, 15)])])
    for fmt in ("coco", "yolo-obb", "cvat", "voc"):
        result = _run(["export", str(tmp_path / "src"), "-f", fmt, "-o", str(tmp_path / f"out-{fmt}"), "-q"])
        assert result == {"code": 0, "loaded": []}, fmt
    assert (tmp_path / "out-coco" / "annotations.json").is_file()


def test_export_help_does_not_import_torch():
    assert _run_help() == []


def _run_help() -> list:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    probe = ("import json, sys\nfrom anylabel.cli import main\ntry:\n    main(['export', '--help'])\n"
             "except SystemExit:\n    pass\n"
             "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in %r)))" % (HEAVY,))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])
