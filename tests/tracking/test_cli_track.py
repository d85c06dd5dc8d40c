"""``anylabel track`` end to end: LabelMe per frame, MOT tracks, the --start/--end passes, typed errors."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import pytest

from anylabel.cli import main
from anylabel.cli.track import parse_labels, parse_prompts
from anylabel.errors import AnylabelError
from anylabel.formats.labelme import load_labelme

MODEL = "sam2_track_test"


def _tracks(path: Path):
    return {(s.track_id, s.label) for s in load_labelme(path).shapes}


def test_track_frame_folder_writes_labelme_and_mot(frames_dir: Path, track_models: Path, tmp_path: Path,
                                                   capsys) -> None:
    out = tmp_path / "out"
    code = main(["track", str(frames_dir), "--model", MODEL, "--models", str(track_models),
                 "--point", "0:1:210,350", "--point", "0:1:250,420,0", "--box", "0:2:420,100,700,420",
                 "--label", "1:child", "--label", "2:bed", "-o", str(out)])
    assert code == 0
    assert "tracked 2 object(s) over 8 frame(s)" in capsys.readouterr().out
    for f in range(8):
        path = out / f"{f:05d}.json"
        data = json.loads(path.read_text())
        assert data["frame_index"] == f
        assert (path.parent / data["imagePath"]).resolve() == (frames_dir / f"{f:05d}.jpg").resolve()
        assert _tracks(path) == {(1, "child"), (2, "bed")}
    gt = out / "mot" / "out" / "gt" / "gt.txt"
    rows = [line.split(",") for line in gt.read_text().splitlines()]
    assert len(rows) == 16 and {(int(r[0]), int(r[1])) for r in rows} == {(f, t) for f in range(1, 9) for t in (1, 2)}
    assert all(float(r[4]) > 0 and float(r[5]) > 0 for r in rows)  # boxes with a size
    labels = {row["track_id"]: row["label"] for row in csv.DictReader((gt.parent / "labels.csv").open())}
    assert labels == {"1": "child", "2": "bed"}

    # the frames feed the dataset exporters: COCO keeps the track ids, YOLO-seg gets one line per object
    from anylabel.formats.base import Options
    from anylabel.formats.registry import export_folder

    export_folder(out, "coco", tmp_path / "coco", Options(allow_outside=True))  # frames lie beside OUT
    coco = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert len(coco["images"]) == 8 and len(coco["annotations"]) == 16
    assert sorted({a["track_id"] for a in coco["annotations"]}) == [1, 2]
    export_folder(out, "yolo-seg", tmp_path / "yolo", Options(allow_outside=True))
    label_files = sorted((tmp_path / "yolo" / "labels").rglob("*.txt"))
    assert len(label_files) == 8 and all(len(f.read_text().splitlines()) == 2 for f in label_files)

    # a second run adds object 3 on frame 4 only; the earlier tracks stay in the files
    assert main(["track", str(frames_dir), "--model", MODEL, "--models", str(track_models), "--quiet",
                 "--point", "4:3:800,300", "--label", "3:lamp", "-o", str(out)]) == 0
    assert _tracks(out / "00002.json") == {(1, "child"), (2, "bed")}
    assert _tracks(out / "00006.json") == {(1, "child"), (2, "bed"), (3, "lamp")}


def test_track_video_file_start_before_the_prompt_tracks_both_ways(frames_dir: Path, track_models: Path,
                                                                   tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (960, 540))
    for f in sorted(frames_dir.glob("*.jpg")):
        writer.write(cv2.imread(str(f)))
    writer.release()
    out = tmp_path / "tracks"
    assert main(["track", str(video), "--model", MODEL, "--models", str(track_models), "--no-mot", "-q",
                 "--box", "4:7:420,100,700,420", "--start", "2", "--end", "5", "-o", str(out)]) == 0
    written = sorted(p.name for p in out.glob("*.json"))
    assert written == [f"clip_{f:06d}.json" for f in range(2, 6)]
    for f in range(2, 6):
        ann = load_labelme(out / f"clip_{f:06d}.json")
        assert ann.image_path == f"clip_{f:06d}.jpg" and (out / ann.image_path).is_file()
        assert (ann.image_height, ann.image_width) == (540, 960)
        assert {(s.track_id, s.label) for s in ann.shapes} == {(7, "object_7")}
    assert not (out / "mot").exists()


def test_parse_errors_and_exit_codes(frames_dir: Path, track_models: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(AnylabelError, match="FRAME:OBJ:X,Y"):
        parse_prompts(["0:1:12"], [])
    with pytest.raises(AnylabelError, match="already has a box"):
        parse_prompts([], ["0:1:1,2,3,4", "0:1:5,6,7,8"])
    with pytest.raises(AnylabelError, match="OBJ:NAME"):
        parse_labels(["person"])
    p = parse_prompts(["3:2:10.5,20", "3:2:30,40,0"], ["3:2:1,2,3,4"])
    assert p == {(3, 2): {"pos": [(10.5, 20.0)], "neg": [(30.0, 40.0)], "box": (1.0, 2.0, 3.0, 4.0)}}
    base = ["track", str(frames_dir), "--model", MODEL, "--models", str(track_models), "-o", str(tmp_path / "o")]
    assert main(base + ["--point", "9:1:10,10"]) == 2
    assert "the video has 8 frames" in capsys.readouterr().err
    assert main(base + ["--point", "0:1:10,10", "--label", "5:cat"]) == 2
    assert "no --point or --box" in capsys.readouterr().err
    assert main(["track", str(tmp_path / "missing.mp4"), "--model", MODEL, "--point", "0:1:1,1", "-o", "x"]) == 2
    assert "no such video file" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_track_reverse_both_frames_and_existing_keep(frames_dir: Path, track_models: Path, tmp_path: Path,
                                                     capsys) -> None:
    out = tmp_path / "out"
    base = ["track", str(frames_dir), "--model", MODEL, "--models", str(track_models), "-q", "--no-mot",
            "-o", str(out)]
    # backward from frame 5, two frames: 5, 4, 3
    assert main(base + ["--box", "5:1:420,100,700,420", "--label", "1:bed", "--reverse", "--frames", "2"]) == 0
    assert sorted(p.name for p in out.glob("*.json")) == [f"{f:05d}.json" for f in (3, 4, 5)]
    assert "over 3 frame(s)" in capsys.readouterr().out
    # a person corrects object 1 on frame 4; both ways with --existing keep fills the other frames only
    ann = load_labelme(out / "00004.json")
    for s in ann.shapes:
        s.label = "corrected"
    from anylabel.formats.labelme import save_labelme

    save_labelme(ann, out / "00004.json")
    assert main(base + ["--box", "5:1:420,100,700,420", "--label", "1:bed", "--direction", "both",
                        "--existing", "keep"]) == 0
    assert sorted(p.name for p in out.glob("*.json")) == [f"{f:05d}.json" for f in range(8)]
    assert {s.label for s in load_labelme(out / "00004.json").shapes} == {"corrected"}
    assert _tracks(out / "00000.json") == _tracks(out / "00007.json") == {(1, "bed")}
    # replace (the default) puts the new result in place of the correction
    assert main(base + ["--box", "5:1:420,100,700,420", "--label", "1:bed", "--direction", "backward",
                        "--start", "4"]) == 0
    assert _tracks(out / "00004.json") == {(1, "bed")}
    assert main(base + ["--box", "5:1:1,1,50,50", "--reverse", "--direction", "forward"]) == 2
    assert "contradict" in capsys.readouterr().err
