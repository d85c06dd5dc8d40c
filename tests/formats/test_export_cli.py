"""The export / import / stats subcommands end to end (through anylabel.cli.main, as the console script)."""
from __future__ import annotations

import json
import subprocess
import sys

from formats_util import poly, write_doc

from anylabel.cli import main
from anylabel.formats.stats import folder_stats


def test_export_every_format_then_import(voc_copy, tmp_path, capsys):
    labels = voc_copy.parent / "labels.txt"
    labels.write_text("__ignore__\n_background_\nperson\nbottle\nchair\nsofa\nbus\ncar\n")
    for fmt in ("coco", "yolo-seg", "yolo-det", "mot", "labelme"):
        out = tmp_path / f"out-{fmt}"
        args = ["export", str(voc_copy), "--format", fmt, "-o", str(out), "--labels", str(labels), "-q"]
        if fmt.startswith("yolo"):
            args += ["--split", "0.67", "--seed", "1"]
        assert main(args) == 0, fmt
        text = capsys.readouterr().out
        assert "3 images" in text
        # the chair reaching 0.4 px outside is clipped (the LabelMe copy keeps shapes as drawn)
        assert ("warning: 2011_000006.json shape 3" in text) == (fmt != "labelme")
    assert main(["import", str(tmp_path / "out-coco"), "--format", "coco", "-o", str(tmp_path / "back"), "-q"]) == 0
    assert "3 images, 12 instances" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "back").glob("*.json")) == [
        "2011_000003.json", "2011_000006.json", "2011_000025.json"]
    assert main(["import", str(tmp_path / "out-yolo-seg" / "data.yaml"), "--format", "yolo-seg", "-o",
                 str(tmp_path / "back-yolo"), "--copy-images", "-q"]) == 0
    assert len(list((tmp_path / "back-yolo").glob("*.jpg"))) == 3
    coco = json.loads((tmp_path / "out-coco" / "annotations.json").read_text())
    assert [c["name"] for c in coco["categories"]] == ["person", "bottle", "chair", "sofa", "bus", "car"]
    assert [c["id"] for c in coco["categories"]] == [1, 2, 3, 4, 5, 6]  # _background_ keeps id 0


def test_export_link_and_errors(tmp_path, capsys):
    write_doc(tmp_path / "src", "a", [poly("cat", [(1, 1), (20, 1), (10, 15)])])
    assert main(["export", str(tmp_path / "src"), "-f", "coco", "-o", str(tmp_path / "out"), "--link", "-q"]) == 0
    assert (tmp_path / "out" / "images" / "a.png").stat().st_ino == (tmp_path / "src" / "a.png").stat().st_ino
    assert main(["export", str(tmp_path / "src"), "-f", "coco", "-o", str(tmp_path / "out"), "-q"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "src"), "-f", "coco", "-o", str(tmp_path / "o2"), "--labels",
                 str(tmp_path / "missing.txt"), "-q"]) == 2
    assert "missing.txt" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "src"), "-f", "coco", "-o", str(tmp_path / "o3"), "-q"]) == 2
    assert "COCO" in capsys.readouterr().err


def test_stats_matches_core_numbers(voc_dir, capsys):
    assert main(["stats", str(voc_dir / "data_annotated"), "--json", "-q"]) == 0
    printed = json.loads(capsys.readouterr().out)
    stats, _ = folder_stats(voc_dir / "data_annotated")
    assert printed["per_class"] == stats.per_class == {"person": 6, "bus": 2, "bottle": 1, "car": 1, "chair": 1,
                                                        "sofa": 1}
    assert printed["per_image"] == {"2011_000003.json": 3, "2011_000006.json": 6, "2011_000025.json": 3}
    assert printed["ignored"] == 2
    assert main(["stats", str(voc_dir / "data_annotated"), "--per-image", "-q"]) == 0
    table = capsys.readouterr().out
    assert "3 images, 12 instances, 6 classes" in table and "person" in table and "2011_000006.json  6" in table


def test_console_script_progress_bar(tmp_path):
    write_doc(tmp_path / "src", "a", [poly("cat", [(1, 1), (20, 1), (10, 15)])])
    run = subprocess.run([sys.executable, "-m", "anylabel", "export", str(tmp_path / "src"), "-f", "yolo-seg",
                          "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "writing" in run.stderr and "1/1" in run.stderr  # the tqdm bar
    assert "yolo-seg: 1 images, 1 instances, 1 classes written" in run.stdout
