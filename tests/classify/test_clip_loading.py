"""CLIP weights load through the registry and safely: open_clip state dicts, safetensors, and OpenAI's
official TorchScript archives (read without executing them)."""
from __future__ import annotations

import copy
import pickle
import zipfile
from pathlib import Path

import pytest
import torch

from anylabel.classify import load_clip, load_clip_file, read_clip_weights
from anylabel.errors import ModelError

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*deprecated:FutureWarning")

SMALL = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def _small_clip(quick_gelu: bool, seed: int = 0):
    from open_clip.model import CLIP

    torch.manual_seed(seed)
    return CLIP(**copy.deepcopy(SMALL), quick_gelu=quick_gelu).eval()


def _outputs(model, image_size=32):
    torch.manual_seed(1)
    images = torch.randn(2, 3, image_size, image_size)
    tokens = torch.randint(1, 1000, (2, 77))
    with torch.no_grad():
        return model.encode_image(images), model.encode_text(tokens)


def test_registry_model_loads_with_the_files_exact_weights(clip_registry, random_clip):
    spec = clip_registry.get("clip_vit_b32")
    saved = torch.load(spec.path, map_location="cpu", weights_only=True)
    loaded = random_clip.model.state_dict()
    assert set(saved) <= set(loaded)
    assert all(torch.equal(saved[k], loaded[k]) for k in saved)
    assert random_clip.image_size == _image_size(spec)
    assert random_clip.name.startswith("clip_vit_b32@")


def _image_size(spec) -> int:
    return int(spec.settings["model_config"]["vision_cfg"]["image_size"])


@pytest.fixture(scope="module")
def openai_style_archive(tmp_path_factory) -> Path:
    """A TorchScript archive made the way OpenAI's are: a QuickGELU CLIP in fp16, scripted and saved."""
    model = _small_clip(quick_gelu=True)
    model.half()
    path = tmp_path_factory.mktemp("jit") / "ViT-small.pt"
    torch.jit.save(torch.jit.script(model), str(path))
    return path


def test_openai_torchscript_archive_loads_without_torch_jit(openai_style_archive, monkeypatch):
    reference = _small_clip(quick_gelu=True)
    reference.half().float()  # the archive holds fp16 weights; compare with the same rounding
    ref_img, ref_txt = _outputs(reference)

    def refuse(*args, **kwargs):
        raise AssertionError("torch.jit.load must never be called on a downloaded file")

    monkeypatch.setattr(torch.jit, "load", refuse)
    state, fmt = read_clip_weights(openai_style_archive)
    assert fmt == "torchscript"
    assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())
    model = load_clip_file(openai_style_archive, {"model_config": SMALL})  # quick_gelu defaults to True
    img, txt = _outputs(model.model)
    assert torch.allclose(img, ref_img, atol=1e-4) and torch.allclose(txt, ref_txt, atol=1e-4)
    # The activation setting is honoured: GELU instead of QuickGELU gives other outputs.
    gelu = load_clip_file(openai_style_archive, {"model_config": SMALL, "quick_gelu": False})
    assert not torch.allclose(_outputs(gelu.model)[0], ref_img, atol=1e-4)


def test_torchscript_archive_with_code_in_its_pickle_is_refused(openai_style_archive, tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "evil.pt"
    with zipfile.ZipFile(openai_style_archive) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("/data.pkl"):
                data = pickle.dumps({"visual": Evil()}, protocol=2)
            dst.writestr(info.filename, data)
    with pytest.raises(ModelError, match="refused|not allowed|module"):
        load_clip_file(bad, {"model_config": SMALL})
    assert not marker.exists()


def test_weights_of_another_architecture_are_a_clear_error(openai_style_archive):
    bigger = copy.deepcopy(SMALL)
    bigger["vision_cfg"]["layers"] = 2
    with pytest.raises(ModelError, match="do not fit") as err:
        load_clip_file(openai_style_archive, {"model_config": bigger})
    assert str(openai_style_archive) in str(err.value) and "missing" in str(err.value)
    with pytest.raises(ModelError, match="settings.arch"):
        load_clip_file(openai_style_archive, {})
    with pytest.raises(ModelError, match="unknown open_clip architecture"):
        load_clip_file(openai_style_archive, {"arch": "ViT-Nope"})


def test_wrapped_prefixed_state_dicts_and_safetensors_load(tmp_path):
    from safetensors.torch import save_file

    model = _small_clip(quick_gelu=False, seed=3)
    ref = _outputs(model)[0]
    wrapped = tmp_path / "epoch_10.pt"
    torch.save({"epoch": 10, "state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, wrapped)
    st = tmp_path / "open_clip_model.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(st))
    for path in (wrapped, st):
        loaded = load_clip_file(path, {"model_config": SMALL})
        assert torch.allclose(_outputs(loaded.model)[0], ref, atol=1e-5)


def test_corrupt_files_and_wrong_family_raise_model_error(tmp_path, openai_style_archive):
    from anylabel.models import ModelRegistry, ModelSpec

    cut = tmp_path / "cut.pt"
    cut.write_bytes(openai_style_archive.read_bytes()[:5000])
    with pytest.raises(ModelError):
        load_clip_file(cut, {"model_config": SMALL})
    junk = tmp_path / "junk.bin"
    torch.save({"not": "weights"}, junk)
    with pytest.raises(ModelError, match="state dict"):
        load_clip_file(junk, {"model_config": SMALL})
    registry = ModelRegistry([ModelSpec(name="sam_vit_b", family="sam")])
    with pytest.raises(ModelError, match="not a CLIP model"):
        load_clip("sam_vit_b", registry=registry)
    with pytest.raises(ModelError, match="unknown model"):
        load_clip("clip_nope", registry=registry)


@pytest.mark.slow
def test_full_size_vit_b32_in_openais_format_loads_through_the_registry(tmp_path):
    """The shipped entry's shape (arch ViT-B-32, quick_gelu, TorchScript fp16 file, sha256) end to end."""
    import yaml

    from anylabel.classify.loader import build_clip
    from anylabel.models import ModelRegistry

    torch.manual_seed(0)
    model = build_clip({"arch": "ViT-B-32"}, quick_gelu=True).eval()
    model.half()
    path = tmp_path / "ViT-B-32.pt"
    torch.jit.save(torch.jit.script(model), str(path))
    import hashlib

    entry = {"name": "clip_vit_b32", "family": "clip", "path": str(path),
             "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
             "settings": {"arch": "ViT-B-32", "model_name": "ViT-B-32", "pretrained": "openai", "quick_gelu": True}}
    models = tmp_path / "models.yaml"
    models.write_text(yaml.safe_dump({"models": [entry]}), encoding="utf-8")
    clip = load_clip("clip_vit_b32", registry=ModelRegistry.load(extra_files=[models], include_env=False))
    model.float()
    assert clip.image_size == 224
    ref_img = _outputs(model, 224)[0]
    assert torch.allclose(_outputs(clip.model, 224)[0], ref_img, atol=1e-3)
