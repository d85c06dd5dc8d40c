"""Every command ends in a result or a typed error naming the file (exit 2), never a traceback: closed pipes,
non-UTF-8 file names, clicks outside the image, a 1x1 image, bad numbers, wrong kinds of paths."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anylabel.cli import EXIT_BROKEN_PIPE, main

ROOT = Path(__file__).resolve().parents[2]


def _image(path, h=120, w=160) -> Path:
    img = np.full((h, w, 3), 30, np.uint8)
    img[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 220
    Image.fromarray(img).save(path)
    return Path(os.fsdecode(path))


def test_a_closed_pipe_ends_quietly_like_unix_tools() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "anylabel", "models", "list"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # `| head -0`: the reader is gone before the first line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == EXIT_BROKEN_PIPE == 141
    assert "Traceback" not in err and "BrokenPipe" not in err, err


@pytest.mark.skipif(os.name != "posix", reason="bytes file names are POSIX")
def test_segment_a_non_utf8_file_name(tmp_path: Path, capsys) -> None:
    image = _image(os.fsencode(str(tmp_path)) + b"/caf\xe9.jpg")
    out = tmp_path / "out.json"
    assert main(["segment", str(image), "-m", "classical", "--box", "30,20,130,100", "-l", "x", "-o", str(out)]) == 0
    data = json.loads(out.read_bytes().decode("utf-8"))  # valid UTF-8 JSON
    assert (tmp_path / data["imagePath"]).is_file() and os.fsencode(data["imagePath"]) == b"caf\xe9.jpg"
    assert "added 1 polygon" in capsys.readouterr().out


def test_segment_prompts_outside_the_image_and_bad_numbers_exit_2(tmp_path: Path, capsys) -> None:
    image = _image(tmp_path / "a.png")
    out = tmp_path / "out.json"
    base = ["segment", str(image), "-m", "classical", "-l", "x", "-o", str(out)]
    cases = {("--point", "5000,5000"): "the click (5000, 5000) lies outside the 160x120 image",
             ("--box", "4000,4000,5000,5000"): "has no area inside the 160x120 image",
             ("--point", "nan,3"): "--point 'nan,3': expected finite numbers",
             ("--box", "1,2,inf,4"): "expected finite numbers",
             ("--point", "1;2"): "expected comma-separated numbers"}
    for extra, message in cases.items():
        assert main(base + list(extra)) == 2, extra
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    assert not out.exists()
    # a box that sticks out is clipped, not refused
    assert main(base + ["--box=-40,-40,130,100"]) == 0


def test_segment_a_1x1_image_gives_a_result_or_a_clear_error(tmp_path: Path, capsys) -> None:
    image = tmp_path / "one.png"
    Image.fromarray(np.full((1, 1, 3), 200, np.uint8)).save(image)
    out = tmp_path / "one.json"
    assert main(["segment", str(image), "-m", "classical", "-p", "0,0", "-l", "x", "-o", str(out), "--mask"]) == 0
    assert json.loads(out.read_text())["shapes"][0]["shape_type"] == "mask"
    assert main(["segment", str(image), "-m", "classical", "-p", "0,0", "-l", "x", "-o", str(tmp_path / "p.json")]) == 2
    assert "too small for a polygon; --mask keeps it" in capsys.readouterr().err


def test_paths_of_the_wrong_kind_exit_2(tmp_path: Path, capsys) -> None:
    image = _image(tmp_path / "a.png")
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.yaml").write_text("[1, 2\n")
    runs = {("segment", str(tmp_path), "-p", "1,1", "-l", "x", "-o", str(tmp_path / "o.json")): "no such image file",
            ("segment", str(image), "-m", "classical", "-p", "1,1", "-l", "x", "-o", str(tmp_path / "empty")):
                "Is a directory",
            ("stats", str(tmp_path / "empty"), "-q"): "no LabelMe annotation to count (no JSON files)",
            ("models", "list", "--models", str(tmp_path / "bad.yaml")):
                "invalid YAML: expected ',' or ']', but got '<stream end>' at line 2, column 1",
            ("track", str(tmp_path / "empty"), "--model", "sam2.1_hiera_tiny", "--point", "0:1:5,5", "-o",
             str(image)): "the output must be a folder"}
    for argv, message in runs.items():
        assert main(list(argv)) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1, err  # one sentence, not a library's paragraphs


def test_bad_option_numbers_are_refused_by_the_parser(tmp_path: Path, capsys) -> None:
    image = _image(tmp_path / "a.png")
    out = str(tmp_path / "o.json")
    for argv in (["segment", str(image), "-m", "classical", "--box", "30,20,130,100", "-l", "x", "-o", out,
                  "--tolerance", "inf"],  # reached OpenCV's approxPolyDP as a traceback
                 ["segment", str(image), "-m", "classical", "-p", "5,5", "-l", "x", "-o", out, "--tolerance", "-5"],
                 ["everything", str(image), "-m", "classical", "-o", out, "--max-masks", "-1"],
                 ["everything", str(image), "-m", "classical", "-o", out, "--min-area", "nan"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "expected a" in err and "Traceback" not in err
