"""``anylabel [options] [PATH]``: GUI options before or after the path; ``--help`` shows them."""
from __future__ import annotations

import pytest

from anylabel import cli


@pytest.fixture
def opened(monkeypatch):
    """Replace the GUI by a recorder of what it would open."""
    import anylabel.gui.app as app

    calls = []
    monkeypatch.setattr(app, "run_gui", lambda path, output_dir=None: calls.append((path, output_dir)) or 0)
    return calls


@pytest.mark.parametrize("argv", [["--output", "OUT", "FOLDER"], ["FOLDER", "--output", "OUT"],
                                  ["-o", "OUT", "FOLDER"], ["--output=OUT", "FOLDER"],
                                  ["--gui", "-o", "OUT", "FOLDER"]])
def test_output_before_or_after_the_path(opened, argv):
    assert cli.main(argv) == 0  # "--output DIR FOLDER" was refused (exit 2: invalid choice 'OUT')
    assert opened == [("FOLDER", "OUT")]


def test_a_folder_named_like_an_option_value_is_still_a_subcommand_when_first(opened, tmp_path, capsys):
    assert cli.main(["stats", str(tmp_path), "--json"]) in (0, 1, 2)
    assert opened == []
    assert cli.main(["-o", "stats"]) == 0  # "stats" is the output folder here, not the subcommand
    assert opened == [(None, "stats")]


def test_help_lists_the_gui_usage_and_the_subcommands(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "anylabel [PATH] [--output DIR]" in out
    assert "--output DIR, -o DIR" in out and "LabelMe JSON" in out and "PATH" in out
    assert "export" in out and "segment" in out
