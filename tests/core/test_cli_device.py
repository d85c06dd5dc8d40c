"""``--device`` on every command that runs a model, and the settings file's ``device``: help text, the rules, and
exit status 2 with a message (no traceback) for a device this machine lacks. GPUs are simulated with monkeypatch."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anylabel.cli import main
from anylabel.config import Config, load_config, save_config
from anylabel.errors import ConfigError

COMMANDS = ["segment", "everything", "track", "autolabel"]


@pytest.fixture(autouse=True)
def _no_gpu(fake_gpus) -> None:
    fake_gpus(cuda=0)  # whatever the machine has: no CUDA GPU, no mps, no $ANYLABEL_DEVICE


@pytest.fixture
def image(tmp_path: Path) -> Path:
    import cv2

    path = tmp_path / "img.png"
    pixels = np.full((48, 64, 3), 30, np.uint8)
    pixels[14:26, 16:34] = (220, 40, 40)  # an object the classical backend finds inside the box
    cv2.imwrite(str(path), pixels)
    return path


@pytest.fixture
def frames(tmp_path: Path) -> Path:
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(2):
        cv2.imwrite(str(folder / f"{i:05d}.jpg"), np.full((48, 64, 3), 40 * i, np.uint8))
    return folder


def _argv(command: str, image: Path, frames: Path, tmp_path: Path) -> list:
    out = str(tmp_path / "out.json")
    return {
        "segment": ["segment", str(image), "--model", "classical", "-b", "8,8,40,30", "-l", "a", "-o", out],
        "everything": ["everything", str(image), "--model", "classical", "-o", out],
        "track": ["track", str(frames), "--model", "sam2.1_hiera_tiny", "--point", "0:1:10,10",
                  "-o", str(tmp_path / "track")],
        "autolabel": ["autolabel", str(frames), "-o", str(tmp_path / "auto"), "--semantic", f"labelmap:{frames}"],
    }[command]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_describes_device(command: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--device DEVICE" in text and "auto (the first GPU, else the CPU), cpu, cuda, cuda:N or mps" in text
    assert "$ANYLABEL_DEVICE" in text


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("device", ["cuda", "cuda:3", "mps"])
def test_a_missing_device_exits_2_with_a_message(command: str, device: str, image: Path, frames: Path,
                                                 tmp_path: Path, random_models: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    code = main(_argv(command, image, frames, tmp_path) + ["--device", device])
    err = capsys.readouterr().err
    assert code == 2
    assert f"anylabel {command}: error: {device} is not available here" in err and "available: cpu" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", COMMANDS)
def test_a_misspelt_device_is_a_usage_error(command: str, image: Path, frames: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as e:
        main(_argv(command, image, frames, tmp_path) + ["--device", "gpu"])
    assert e.value.code == 2 and "unknown device 'gpu'" in capsys.readouterr().err


def test_the_settings_file_device_applies_below_env_and_option(image: Path, frames: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture) -> None:
    save_config(Config(device="cuda"), load_config().path)
    argv = _argv("segment", image, frames, tmp_path)
    assert main(argv) == 2 and "cuda is not available here" in capsys.readouterr().err
    assert main(argv + ["--device", "cpu"]) == 0  # the option wins
    assert "not available" not in capsys.readouterr().err
    monkeypatch.setenv("ANYLABEL_DEVICE", "cpu")  # the environment over the settings file
    assert main(argv) == 0
    monkeypatch.setenv("ANYLABEL_DEVICE", "mps")
    assert main(argv) == 2 and "mps is not available here" in capsys.readouterr().err


def test_settings_file_device_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    for ok in ("auto", "cpu", "cuda", "cuda:1", "MPS"):
        path.write_text(f"device: {ok}\n")
        assert load_config(path).device == ok.lower()
    for bad in ("gpu", "cuda:x", "3", "[cuda]"):
        path.write_text(f"device: {bad}\n")
        with pytest.raises(ConfigError, match=r"config.yaml: setting 'device': must be auto, cpu, cuda, cuda:N or mps"):
            load_config(path)
    assert Config().device == "auto"
