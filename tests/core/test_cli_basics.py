"""`anylabel --version`, `--help` and subcommand discovery."""
from __future__ import annotations

import subprocess
import sys

import pytest

from anylabel import __version__
from anylabel.cli import main, subcommands


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"anylabel {__version__}"


def test_help_lists_every_discovered_subcommand(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in subcommands():
        assert name in out


def test_console_script_runs_as_a_module() -> None:
    result = subprocess.run([sys.executable, "-m", "anylabel", "--version"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0
    assert __version__ in result.stdout
