"""Review state: marked checked in the file, "next unchecked" over a folder, the statistics count it."""
from __future__ import annotations

import json
import os
from pathlib import Path

from anylabel.document import ImageAnnotation, Shape
from anylabel.editing.review import ReviewIndex, count_checked, next_unchecked
from anylabel.formats.labelme import save_labelme
from anylabel.formats.stats import folder_stats


def _folder(tmp_path: Path, checked: list) -> list:
    """One LabelMe file per entry: True / False = checked or not, None = no file."""
    paths = []
    for i, state in enumerate(checked):
        p = tmp_path / f"img{i}.json"
        if state is not None:
            ann = ImageAnnotation(f"img{i}.jpg", 10, 10, shapes=[Shape("a", [(0, 0), (5, 5)], "rectangle")],
                                  checked=state)
            save_labelme(ann, p)
        paths.append(p)
    return paths


def test_next_unchecked_skips_checked_images_and_wraps(tmp_path: Path) -> None:
    paths = _folder(tmp_path, [True, False, True, None, True])
    index = ReviewIndex()
    assert next_unchecked(paths, 0, index) == 1
    assert next_unchecked(paths, 1, index) == 3  # no file = unchecked
    assert next_unchecked(paths, 3, index) == 1  # wraps round
    assert next_unchecked(paths, 3, index, wrap=False) is None
    assert next_unchecked(paths, 3, index, backwards=True) == 1
    assert next_unchecked(paths, -1, index) == 1
    assert count_checked(paths, index) == 3


def test_every_image_checked_gives_none_and_a_change_on_disk_is_seen(tmp_path: Path) -> None:
    paths = _folder(tmp_path, [True, True, True])
    index = ReviewIndex()
    assert next_unchecked(paths, 0, index) is None
    data = json.loads(paths[2].read_text())
    data["checked"] = False
    paths[2].write_text(json.dumps(data) + "   ")  # another size: the cached state is stale
    assert next_unchecked(paths, 0, index) == 2


def test_a_broken_file_counts_as_unchecked_and_is_reported(tmp_path: Path) -> None:
    paths = _folder(tmp_path, [True, True])
    paths[1].write_text('{"checked": tru')
    index = ReviewIndex()
    assert next_unchecked(paths, 0, index) == 1
    assert list(index.problems()) == [os.fspath(paths[1])] and "JSON" in index.problems()[os.fspath(paths[1])]


def test_statistics_count_checked_images(tmp_path: Path) -> None:
    _folder(tmp_path, [True, False, True])
    stats, _ = folder_stats(tmp_path)
    assert stats.images == 3 and stats.checked == 2 and ", 2 checked" in stats.table()


def test_only_the_top_level_key_counts(tmp_path: Path) -> None:
    from anylabel.fileio import json_text

    nested = {"version": "5", "flags": {"checked": True}, "shapes": [{"label": "a", "checked": True,
              "attributes": {"checked": True}, "points": [[0, 0]], "shape_type": "point"}],
              "imagePath": "a.jpg", "imageData": None, "imageHeight": 5, "imageWidth": 5}
    (tmp_path / "nested.json").write_text(json_text(nested))
    (tmp_path / "compact.json").write_text(json.dumps({**nested, "checked": True}))
    (tmp_path / "indented.json").write_text(json_text({**nested, "checked": True}))
    (tmp_path / "other-indent.json").write_text(json.dumps({**nested, "checked": False}, indent=4))
    index = ReviewIndex()
    assert not index.checked(tmp_path / "nested.json")
    assert index.checked(tmp_path / "compact.json") and index.checked(tmp_path / "indented.json")
    assert not index.checked(tmp_path / "other-indent.json")
