"""MOT export of video frames with track ids, and reading it back."""
from __future__ import annotations

import configparser

import numpy as np
from formats_util import poly, write_doc

from anylabel.document import Shape
from anylabel.formats.registry import export_folder, read_dataset


def test_mot_rows_labels_and_seqinfo(tmp_path):
    video = tmp_path / "src" / "bedroom"
    for f in range(3):
        shapes = [
            poly("person", [(10 + f, 10), (30 + f, 10), (30 + f, 40), (10 + f, 40)], track_id=0),
            Shape("cup", [(40, 5), (50, 15)], "rectangle", track_id=1, score=0.5),
        ]
        if f == 1:
            shapes.append(poly("cup", [(1, 1), (5, 1), (3, 4)]))  # untracked: left out with a warning
        write_doc(video, f"{f:05d}", shapes, 64, 48, suffix=".jpg", frame_index=f)
    report = export_folder(tmp_path / "src", "mot", tmp_path / "out")
    assert report.images == 3 and report.instances == 2  # two tracks
    assert [(w.kind, w.file, w.shape) for w in report.warnings] == [("no_track_id", "bedroom/00001.json", 2)]
    rows = (tmp_path / "out" / "bedroom" / "gt" / "gt.txt").read_text().splitlines()
    assert rows == [
        "1,1,10.00,10.00,20.00,30.00,1,-1,-1,-1", "1,2,40.00,5.00,10.00,10.00,0.5,-1,-1,-1",
        "2,1,11.00,10.00,20.00,30.00,1,-1,-1,-1", "2,2,40.00,5.00,10.00,10.00,0.5,-1,-1,-1",
        "3,1,12.00,10.00,20.00,30.00,1,-1,-1,-1", "3,2,40.00,5.00,10.00,10.00,0.5,-1,-1,-1",
    ]
    assert (tmp_path / "out" / "bedroom" / "gt" / "labels.csv").read_text().splitlines() == [
        "mot_id,track_id,label", "1,0,person", "2,1,cup"]
    ini = configparser.ConfigParser()
    ini.read(tmp_path / "out" / "bedroom" / "seqinfo.ini")
    assert dict(ini["Sequence"]) == {"name": "bedroom", "imdir": "img1", "framerate": "30", "seqlength": "3",
                                     "imwidth": "64", "imheight": "48", "imext": ".jpg"}
    assert sorted(p.name for p in (tmp_path / "out" / "bedroom" / "img1").iterdir()) == [
        "000001.jpg", "000002.jpg", "000003.jpg"]
    items, read_report = read_dataset("mot", tmp_path / "out")
    assert read_report.warnings == [] and len(items) == 3
    second = items[1].annotation
    assert second.frame_index == 1 and [s.track_id for s in second.shapes] == [0, 1]
    assert [s.label for s in second.shapes] == ["person", "cup"]
    np.testing.assert_allclose(second.shapes[0].points, [(11, 10), (31, 40)])
    assert second.shapes[1].score == 0.5 and items[1].image.name == "000002.jpg"


def test_mot_groups_parts_of_one_track_and_numbers_frames_without_index(tmp_path):
    video = tmp_path / "src" / "clip"
    write_doc(video, "a", [poly("dog", [(0, 0), (10, 0), (5, 5)], track_id=7),
                           poly("dog", [(20, 20), (30, 20), (25, 30)], track_id=7)])
    write_doc(video, "b", [poly("dog", [(0, 0), (10, 0), (5, 5)], track_id=7)])
    report = export_folder(tmp_path / "src", "mot", tmp_path / "out")
    assert [w.kind for w in report.warnings] == ["no_frame_index"]
    rows = (tmp_path / "out" / "clip" / "gt" / "gt.txt").read_text().splitlines()
    assert rows == ["1,7,0.00,0.00,30.00,30.00,1,-1,-1,-1", "2,7,0.00,0.00,10.00,5.00,1,-1,-1,-1"]


def test_mot_sequence_named_after_dot_folder(tmp_path, monkeypatch):
    """The tracker exports its own output folder, possibly given as ".": the sequence keeps the real name."""
    clip = tmp_path / "clip"
    write_doc(clip, "00000", [poly("dog", [(0, 0), (10, 0), (5, 5)], track_id=1)], frame_index=0)
    monkeypatch.chdir(clip)
    export_folder(".", "mot", "../mot")
    assert (tmp_path / "mot" / "clip" / "gt" / "gt.txt").read_text() == "1,1,0.00,0.00,10.00,5.00,1,-1,-1,-1\n"


def test_export_of_an_empty_folder_is_an_error(tmp_path):
    import pytest

    from anylabel.errors import AnylabelError

    (tmp_path / "empty").mkdir()
    with pytest.raises(AnylabelError, match="no LabelMe annotation files"):
        export_folder(tmp_path / "empty", "mot", tmp_path / "out")
