"""The registry: the shipped zoo, merging models files, overrides, strict validation, local files."""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest
import yaml
from zoo_testutil import write_models_file

from anylabel.errors import ConfigError, ModelError
from anylabel.models import SHIPPED_MODELS, ModelRegistry, ModelSpec
from anylabel.models import checksum as checksum_module

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_NAMES = {
    "sam_vit_b", "sam_vit_l", "sam_vit_h", "sam_vit_b_onnx", "sam_vit_l_onnx", "sam_vit_h_onnx",
    "mobile_sam", "sam_hq_vit_b", "sam_hq_vit_l", "sam_hq_vit_h", "sam3",
    "sam2.1_hiera_tiny", "sam2.1_hiera_small", "sam2.1_hiera_base_plus", "sam2.1_hiera_large",
    "fastsam_s", "fastsam_x", "classical", "clip_vit_b32", "clip_vit_l14",
}


# ---------------------------------------------------------------- the shipped zoo
def test_shipped_zoo_has_every_model_with_a_checksum_or_a_note():
    reg = ModelRegistry.load()
    assert set(reg.names()) == EXPECTED_NAMES
    for spec in reg.specs():
        assert spec.source == SHIPPED_MODELS.resolve()
        if spec.family == "classical":
            assert spec.url is None and reg.local_path(spec) is None and reg.is_available(spec)
            continue
        assert spec.url.startswith("https://"), spec.name
        assert spec.size and spec.size > 1_000_000, spec.name
        assert spec.has_checksum or spec.checksum_note, spec.name


def test_sam_md5s_start_with_the_digits_in_the_official_file_names():
    # Meta's convention: sam_vit_b_01ec64.pth -> the file's MD5 starts with 01ec64.
    reg = ModelRegistry.load()
    for name in ("sam_vit_b", "sam_vit_l", "sam_vit_h", "sam_vit_b_onnx", "sam_vit_l_onnx", "sam_vit_h_onnx"):
        spec = reg.get(name)
        prefix = re.fullmatch(r"sam_vit_[blh]_([0-9a-f]{6})\.pth", spec.filename).group(1)
        assert spec.md5.startswith(prefix), name
        assert spec.url.endswith("/" + spec.filename)
        assert spec.settings["model_type"] == name[4:9]
        assert spec.settings.get("runtime") == ("onnx" if name.endswith("_onnx") else None)


def test_clip_sha256_is_the_one_openai_publishes_in_the_url():
    reg = ModelRegistry.load()
    for name in ("clip_vit_b32", "clip_vit_l14"):
        spec = reg.get(name)
        assert spec.url.split("/")[-2] == spec.sha256


def test_sam2_configs_exist_in_the_installed_sam2_package():
    import sam2

    package = Path(sam2.__file__).parent
    for spec in ModelRegistry.load().specs():
        if spec.family == "sam2":
            assert (package / spec.settings["config"]).is_file(), spec.settings["config"]


def test_root_models_yaml_is_the_packaged_file():
    root = ROOT / "models.yaml"
    assert root.read_bytes() == SHIPPED_MODELS.read_bytes()


# ---------------------------------------------------------------- merging and overrides
def _entry(name: str, **kw) -> dict:
    base = {"name": name, "family": "sam", "url": f"https://example.org/{name}.pth",
            "sha256": hashlib.sha256(name.encode()).hexdigest(), "size": 10, "settings": {"model_type": "vit_b"}}
    base.update(kw)
    return base


def test_env_files_then_extra_files_override_by_name(tmp_path, monkeypatch):
    a = write_models_file(tmp_path / "a.yaml", [_entry("sam_vit_b", display_name="from A"), _entry("mine_a")])
    b = write_models_file(tmp_path / "b.yaml", [_entry("sam_vit_b", display_name="from B")])
    c = write_models_file(tmp_path / "c.yaml", [_entry("sam_vit_b", display_name="from C"), _entry("mine_c")])
    monkeypatch.setenv("ANYLABEL_MODELS", os.pathsep.join([str(a), str(b)]))
    reg = ModelRegistry.load(extra_files=[c])
    spec = reg.get("sam_vit_b")
    assert spec.display_name == "from C" and spec.source == c.resolve()
    assert reg.get("mine_a").source == a.resolve() and reg.get("mine_c").source == c.resolve()
    # An override keeps the shipped position; new names come after the shipped ones, in file order.
    assert reg.names()[0] == "sam_vit_b"
    assert reg.names()[-2:] == ["mine_a", "mine_c"]
    monkeypatch.setenv("ANYLABEL_MODELS", str(a))
    assert ModelRegistry.load().get("sam_vit_b").display_name == "from A"


def test_entry_with_family_replaces_and_without_family_patches(tmp_path):
    local = tmp_path / "ckpt" / "sam_vit_h_4b8939.pth"
    f = write_models_file(tmp_path / "m.yaml", [
        {"name": "sam_vit_h", "path": "ckpt/sam_vit_h_4b8939.pth"},               # patch: keeps md5, settings
        {"name": "sam_vit_l", "family": "sam", "path": str(local), "settings": {}},  # replace: nothing kept
    ])
    reg = ModelRegistry.load(extra_files=[f])
    patched = reg.get("sam_vit_h")
    assert patched.path == local  # relative to the models file
    assert patched.md5 == "4b8939a88964f0f4ff5f5b2642c598a6" and patched.settings == {"model_type": "vit_h"}
    assert reg.local_path(patched) == local
    replaced = reg.get("sam_vit_l")
    assert replaced.md5 is None and replaced.url is None and replaced.settings == {}


def test_random_checkpoints_style_file_works_through_env(tmp_path, monkeypatch):
    """The shape tools/random_checkpoints.py writes: path + sha256 under the registry names."""
    ckpt = tmp_path / "rand" / "sam_vit_b_random_small.pth"
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"random weights" * 100)
    entry = {"name": "sam_vit_b", "family": "sam", "display_name": "SAM vit_b (random)", "path": str(ckpt),
             "filename": ckpt.name, "sha256": hashlib.sha256(ckpt.read_bytes()).hexdigest(),
             "size": ckpt.stat().st_size, "settings": {"model_type": "vit_b", "encoder": {"depth": 2}}}
    monkeypatch.setenv("ANYLABEL_MODELS", str(write_models_file(tmp_path / "rand" / "models.yaml", [entry])))
    reg = ModelRegistry.load()
    spec = reg.get("sam_vit_b")
    assert reg.is_available(spec)
    assert reg.ensure(spec) == ckpt
    assert spec.settings["encoder"] == {"depth": 2}


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "entry, message",
    [
        ({"name": "x", "family": "sam", "colour": "red"}, "unknown key(s) colour"),
        ({"name": "x"}, "missing required key(s) family"),
        ({"family": "sam"}, "missing required key(s) name"),
        ({"name": "x", "family": "yolo"}, "family 'yolo' is not one of"),
        ({"name": "x", "family": "sam", "md5": "abc"}, "md5 must be 32 hex digits"),
        ({"name": "x", "family": "sam", "sha256": "z" * 64}, "sha256 must be 64 hex digits"),
        ({"name": "x", "family": "sam", "size": "big"}, "size must be a non-negative integer"),
        ({"name": "x", "family": "sam", "settings": [1]}, "settings must be a mapping"),
        ({"name": "x", "family": "sam", "url": "ftp://a/b"}, "url must start with"),
        ({"name": "x", "family": "sam", "filename": "../evil.pth"}, "filename must be a bare file name"),
        ("just a string", "must be a mapping"),
    ],
)
def test_bad_entries_name_the_file_and_the_entry(tmp_path, entry, message):
    f = write_models_file(tmp_path / "bad.yaml", [_entry("ok_first"), entry])
    with pytest.raises(ConfigError) as err:
        ModelRegistry.load(extra_files=[f])
    text = str(err.value)
    assert str(f.resolve()) in text and "entry #2" in text and message in text


def test_bad_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="models file not found"):
        ModelRegistry.load(extra_files=[tmp_path / "missing.yaml"])
    broken = tmp_path / "broken.yaml"
    broken.write_text("models: [ {name: x", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid YAML"):
        ModelRegistry.load(extra_files=[broken])
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(yaml.safe_dump({"model": []}), encoding="utf-8")
    with pytest.raises(ConfigError, match="single key 'models'"):
        ModelRegistry.load(extra_files=[wrong])
    dup = write_models_file(tmp_path / "dup.yaml", [_entry("twice"), _entry("twice")])
    with pytest.raises(ConfigError, match="declared twice"):
        ModelRegistry.load(extra_files=[dup])
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert set(ModelRegistry.load(extra_files=[empty]).names()) == EXPECTED_NAMES


def test_unknown_name_lists_close_names():
    with pytest.raises(ModelError) as err:
        ModelRegistry.load().get("sam2.1_hiera_tiney")
    assert "unknown model 'sam2.1_hiera_tiney'" in str(err.value)
    assert "Did you mean: sam2.1_hiera_tiny" in str(err.value)


# ---------------------------------------------------------------- cache paths and local files
def test_local_path_uses_the_cache_root_from_the_environment(isolated_cache):
    reg = ModelRegistry.load()
    spec = reg.get("sam2.1_hiera_tiny")
    assert reg.local_path(spec) == isolated_cache / "models" / "sam2.1_hiera_tiny.pt"
    assert not reg.is_available(spec)
    (isolated_cache / "models").mkdir(parents=True)
    reg.local_path(spec).write_bytes(b"x")
    assert reg.is_available(spec)


def test_local_file_is_hashed_once_and_again_after_it_changes(tmp_path, monkeypatch):
    ckpt = tmp_path / "big.pth"
    ckpt.write_bytes(b"a" * 5000)
    spec = ModelSpec(name="big", family="sam", path=ckpt, sha256=hashlib.sha256(b"a" * 5000).hexdigest())
    reg = ModelRegistry([spec])
    calls = []
    real = checksum_module.file_checksum
    monkeypatch.setattr(checksum_module, "file_checksum", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    assert reg.ensure(spec) == ckpt
    assert reg.ensure(spec) == ckpt
    assert len(calls) == 1  # the second start trusts the sidecar (same size + mtime)
    ckpt.write_bytes(b"b" * 5000)  # same size, new content and mtime
    os.utime(ckpt, ns=(ckpt.stat().st_atime_ns, ckpt.stat().st_mtime_ns + 10**9))
    with pytest.raises(ModelError, match="checksum mismatch"):
        reg.ensure(spec)
    assert len(calls) == 2
    with pytest.raises(ModelError, match="checksum mismatch"):
        reg.ensure(spec)  # a mismatch is never cached
    assert len(calls) == 3


def test_missing_local_file_names_the_path_and_the_models_file(tmp_path):
    f = write_models_file(tmp_path / "m.yaml", [_entry("gone", path="nowhere/gone.pth")])
    reg = ModelRegistry.load(extra_files=[f], include_shipped=False)
    with pytest.raises(ModelError) as err:
        reg.ensure(reg.get("gone"))
    assert str(tmp_path / "nowhere" / "gone.pth") in str(err.value) and "m.yaml" in str(err.value)


def test_a_model_without_a_checksum_is_refused_unless_the_user_gives_one(tmp_path, isolated_cache):
    f = write_models_file(tmp_path / "m.yaml", [
        {"name": "nosum", "family": "sam", "url": "https://example.org/nosum.pth",
         "checksum_note": "the vendor publishes none"}])
    reg = ModelRegistry.load(extra_files=[f], include_shipped=False)
    spec = reg.get("nosum")
    cached = isolated_cache / "models" / "nosum.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"whatever is there")
    with pytest.raises(ModelError) as err:
        reg.ensure(spec)
    assert "no published checksum (the vendor publishes none)" in str(err.value)
    assert "--sha256" in str(err.value)
    mine = spec.with_checksum(sha256=hashlib.sha256(b"whatever is there").hexdigest())
    assert reg.ensure(mine) == cached
    with pytest.raises(ConfigError, match="64 hex digits"):
        spec.with_checksum(sha256="123")


def test_missing_file_from_the_environment_says_where_it_was_named(tmp_path, monkeypatch):
    monkeypatch.setenv("ANYLABEL_MODELS", str(tmp_path / "typo.yaml"))
    with pytest.raises(ConfigError) as err:
        ModelRegistry.load()
    assert str(tmp_path / "typo.yaml") in str(err.value) and "ANYLABEL_MODELS" in str(err.value)
