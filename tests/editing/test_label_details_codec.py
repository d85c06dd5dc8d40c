"""Label details (flags, attributes, difficult, image tags, review state) and rotated rectangles in LabelMe
files: our writer, our reader, labelme's own LabelFile and files X-AnyLabeling writes."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from anylabel.document import ImageAnnotation, Shape
from anylabel.errors import FormatError
from anylabel.formats.labelme import labelme_from_dict, labelme_to_dict, load_labelme, save_labelme
from anylabel.geometry.rotated import rotation_corners


def _annotation() -> ImageAnnotation:
    rot = Shape("ship", rotation_corners(100, 80, 60, 20, math.radians(30)), shape_type="rotation")
    cat = Shape("cat", [(1, 2), (30, 2), (30, 40)], flags={"occluded": True}, attributes={"color": "black",
                "pose": "sitting"}, difficult=True)
    return ImageAnnotation("img.jpg", 200, 300, shapes=[cat, rot], flags={"blurry": True},
                           tags=["night", "rain"], checked=True)


def test_the_details_and_rotations_round_trip_through_our_codec(tmp_path: Path) -> None:
    save_labelme(_annotation(), tmp_path / "a.json")
    raw = json.loads((tmp_path / "a.json").read_text())
    assert raw["checked"] is True and raw["tags"] == ["night", "rain"] and raw["flags"] == {"blurry": True}
    cat, rot = raw["shapes"]
    assert cat["attributes"] == {"color": "black", "pose": "sitting"} and cat["difficult"] is True
    assert cat["flags"] == {"occluded": True} and "direction" not in cat
    assert rot["shape_type"] == "rotation" and len(rot["points"]) == 4
    assert rot["direction"] == pytest.approx(math.radians(30))
    back = load_labelme(tmp_path / "a.json")
    assert back.checked and back.tags == ["night", "rain"]
    assert back.shapes[0].attributes == {"color": "black", "pose": "sitting"} and back.shapes[0].difficult
    assert back.shapes[1].points == _annotation().shapes[1].points and back.shapes[1].extra == {}


def test_unset_details_add_no_keys() -> None:
    data = labelme_to_dict(ImageAnnotation("x.jpg", 10, 10, shapes=[Shape("a", [(0, 0), (1, 1)], "rectangle")]))
    assert "checked" not in data and "tags" not in data
    assert set(data["shapes"][0]) == {"label", "points", "group_id", "description", "shape_type", "flags", "mask"}


def test_a_negative_angle_is_written_as_xanylabeling_direction_in_0_2pi() -> None:
    rot = Shape("s", rotation_corners(50, 50, 20, 10, -math.pi / 6), shape_type="rotation")
    d = labelme_to_dict(ImageAnnotation("x.jpg", 100, 100, shapes=[rot]))["shapes"][0]["direction"]
    assert d == pytest.approx(2 * math.pi - math.pi / 6)


def test_labelme_loader_keeps_the_new_keys_and_they_survive_its_save(voc_dir: Path, tmp_path: Path) -> None:
    label_file = pytest.importorskip("labelme._label_file")
    shutil.copy(voc_dir / "data_annotated" / "2011_000003.jpg", tmp_path / "img.jpg")
    from anylabel.imaging import image_size

    h, w = image_size(tmp_path / "img.jpg")
    ann = _annotation()
    ann.image_height, ann.image_width = h, w
    save_labelme(ann, tmp_path / "ours.json")
    theirs = label_file.LabelFile(str(tmp_path / "ours.json"))
    assert theirs.flags == {"blurry": True}
    assert theirs.other_data == {"tags": ["night", "rain"], "checked": True}
    assert theirs.shapes[0]["flags"] == {"occluded": True}
    assert theirs.shapes[0]["other_data"] == {"attributes": {"color": "black", "pose": "sitting"}, "difficult": True}
    assert theirs.shapes[1]["shape_type"] == "rotation" and len(theirs.shapes[1]["points"]) == 4
    assert set(theirs.shapes[1]["other_data"]) == {"direction"}
    shapes = []
    for s in theirs.shapes:  # what labelme's app writes back: its keys plus the shape's other data
        d = {k: s[k] for k in ("label", "points", "group_id", "shape_type", "flags", "description")}
        d["mask"] = None
        d.update(s["other_data"])
        shapes.append(d)
    label_file.write_label_file(str(tmp_path / "resaved.json"), shapes=shapes, image_path=theirs.image_path,
                                image_height=h, image_width=w, other_data=theirs.other_data, flags=theirs.flags)
    back = load_labelme(tmp_path / "resaved.json")
    assert back.checked and back.tags == ["night", "rain"] and back.flags == {"blurry": True}
    assert back.shapes[0].attributes == {"color": "black", "pose": "sitting"} and back.shapes[0].difficult
    assert back.shapes[1].points == ann.shapes[1].points


def test_a_file_written_by_xanylabeling_is_read() -> None:
    # the keys X-AnyLabeling's Shape.to_dict and LabelFile.save write (schema.py: "checked" after "flags"; four-
    # corner rectangles; "direction" for rotations; "attributes", "difficult", "kie_linking", "score")
    data = {
        "version": "3.0.0", "flags": {}, "checked": True, "tags": ["indoor"],
        "shapes": [
            {"label": "box", "score": None, "points": [[10, 20], [50, 20], [50, 60], [10, 60]], "group_id": None,
             "description": "", "difficult": False, "shape_type": "rectangle", "flags": {},
             "attributes": {"state": "open"}, "kie_linking": []},
            {"label": "car", "score": 0.8, "points": [[0, 0], [40, 30], [34, 38], [-6, 8]], "group_id": None,
             "description": None, "difficult": True, "shape_type": "rotation", "flags": {}, "attributes": {},
             "kie_linking": [], "direction": 0.6435},
        ],
        "description": "", "imagePath": "a.jpg", "imageData": None, "imageHeight": 100, "imageWidth": 100,
    }
    ann = labelme_from_dict(data, "a.json")
    box, car = ann.shapes
    assert box.points == [(10.0, 20.0), (50.0, 60.0)] and box.attributes == {"state": "open"}
    assert not box.difficult and box.extra == {"kie_linking": []}
    assert car.shape_type == "rotation" and len(car.points) == 4 and car.difficult and car.score == 0.8
    assert ann.checked and ann.tags == ["indoor"] and ann.extra == {"description": ""}
    again = labelme_to_dict(ann)["shapes"][1]
    assert again["direction"] == pytest.approx(math.atan2(30, 40))


@pytest.mark.parametrize("key, value, message", [
    ("checked", "yes", "checked"), ("tags", "a,b", "tags"), ("tags", [1], "tags"),
])
def test_bad_image_details_name_the_key(key, value, message) -> None:
    data = {"shapes": [], "imagePath": "a.jpg", "imageHeight": 5, "imageWidth": 5, key: value}
    with pytest.raises(FormatError, match=message):
        labelme_from_dict(data, "a.json")


@pytest.mark.parametrize("shape, message", [
    ({"attributes": ["red"]}, "attributes"), ({"difficult": "no"}, "difficult"),
    ({"shape_type": "rotation", "points": [[0, 0], [1, 0], [1, 1]]}, "4 corners"),
])
def test_bad_shape_details_name_the_shape(shape, message) -> None:
    s = {"label": "a", "points": [[0, 0], [1, 1]], "shape_type": "polygon", **shape}
    data = {"shapes": [s], "imagePath": "a.jpg", "imageHeight": 5, "imageWidth": 5}
    with pytest.raises(FormatError, match=f"shape 0: .*{message}"):
        labelme_from_dict(data, "a.json")


def test_voc_difficult_as_0_or_1_is_read_as_a_bool() -> None:
    s = {"label": "a", "points": [[0, 0], [1, 1]], "shape_type": "rectangle", "difficult": 1}
    ann = labelme_from_dict({"shapes": [s], "imagePath": "a.jpg", "imageHeight": 5, "imageWidth": 5}, "a.json")
    assert ann.shapes[0].difficult is True


def test_settings_list_flags_and_attribute_choices(tmp_path: Path) -> None:
    from anylabel.config import ConfigError, config_from_dict, load_config, save_config

    cfg = config_from_dict({"shape_flags": ["occluded"], "image_flags": ["blurry"], "image_tags": ["night"],
                            "attributes": {"color": ["red", "blue"]},
                            "label_attributes": {"car": {"type": ["sedan", "suv"], "color": ["black"]}}})
    assert cfg.shape_flags == ["occluded"] and cfg.image_flags == ["blurry"] and cfg.image_tags == ["night"]
    assert cfg.attribute_choices("person") == {"color": ["red", "blue"]}
    assert cfg.attribute_choices("car") == {"color": ["black"], "type": ["sedan", "suv"]}
    save_config(cfg, tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml").label_attributes == cfg.label_attributes
    for bad in ({"attributes": ["red"]}, {"attributes": {"color": "red"}}, {"label_attributes": {"car": ["x"]}},
                {"shape_flags": "occluded"}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            config_from_dict(bad)


def test_a_direction_key_on_another_shape_type_is_kept() -> None:
    s = {"label": "a", "points": [[0, 0], [1, 1], [0, 1]], "shape_type": "polygon", "direction": 1.5}
    ann = labelme_from_dict({"shapes": [s], "imagePath": "a.jpg", "imageHeight": 5, "imageWidth": 5}, "a.json")
    assert ann.shapes[0].extra == {"direction": 1.5}
    assert labelme_to_dict(ann)["shapes"][0]["direction"] == 1.5
