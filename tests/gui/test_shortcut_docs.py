"""The README's shortcuts table lists every action of ``config.SHORTCUTS`` with its default keys, and nothing
else: a key added to the program but not to the documentation (or a stale row) fails here."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List

from anylabel.config import SHORTCUTS

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### Keyboard shortcuts"


def readme_shortcuts(text: str) -> Dict[str, List[str]]:
    """action -> keys of the table rows ``| `KEY`, `KEY` | `action` | what it does |`` in the section."""
    start = text.index(SECTION) + len(SECTION)
    following = re.search(r"^#{1,3} ", text[start:], flags=re.M)
    section = text[start:start + following.start()] if following else text[start:]
    rows: Dict[str, List[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not re.fullmatch(r"`[a-z0-9_]+`", cells[1]):
            continue
        action = cells[1].strip("`")
        assert action not in rows, f"README lists the shortcut action {action!r} twice"
        rows[action] = re.findall(r"`([^`]+)`", cells[0])
    return rows


def test_readme_table_lists_every_shortcut_with_its_default_keys() -> None:
    rows = readme_shortcuts(README.read_text(encoding="utf-8"))
    missing = sorted(set(SHORTCUTS) - set(rows))
    assert not missing, f"README's shortcuts table lacks {missing}: add a row `| keys | action | description |`"
    stale = sorted(set(rows) - set(SHORTCUTS))
    assert not stale, f"README's shortcuts table lists actions config.SHORTCUTS does not have: {stale}"
    wrong = {a: (rows[a], list(SHORTCUTS[a][0])) for a in SHORTCUTS if rows[a] != list(SHORTCUTS[a][0])}
    assert not wrong, f"README's keys differ from the defaults (README, config): {wrong}"


def test_the_check_notices_a_missing_row() -> None:
    text = README.read_text(encoding="utf-8")
    without = "\n".join(line for line in text.splitlines() if "| `brush_mode` |" not in line)
    assert "brush_mode" in SHORTCUTS and "brush_mode" not in readme_shortcuts(without)


def readme_sections(text: str) -> Dict[str, List[str]]:
    """Section title (the bold line above each table) -> the actions of its rows, in order."""
    start = text.index(SECTION) + len(SECTION)
    following = re.search(r"^#{1,3} ", text[start:], flags=re.M)
    section = text[start:start + following.start()] if following else text[start:]
    out: Dict[str, List[str]] = {}
    title = None
    for line in section.splitlines():
        bold = re.fullmatch(r"\*\*(.+)\*\*", line.strip())
        if bold:
            title = bold.group(1)
            out[title] = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if title is not None and len(cells) >= 3 and re.fullmatch(r"`[a-z0-9_]+`", cells[1]):
            out[title].append(cells[1].strip("`"))
    return out


def test_help_shortcuts_sections_are_the_readme_tables() -> None:
    """Help → Shortcuts groups the actions as the README's tables do: same titles, same actions, same order."""
    from anylabel.config import SHORTCUT_GROUPS

    grouped = [a for actions in SHORTCUT_GROUPS.values() for a in actions]
    assert sorted(grouped) == sorted(SHORTCUTS) and len(grouped) == len(set(grouped)), "each action in one group"
    assert readme_sections(README.read_text(encoding="utf-8")) == {t: list(a) for t, a in SHORTCUT_GROUPS.items()}
