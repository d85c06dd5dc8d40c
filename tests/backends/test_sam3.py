"""SAM 3: the gated entry, a local file as for the others, the device rules, what a machine without the package
is told, and the workaround that runs sam3 0.1.4 off its hard-coded "cuda" (upstream issue #587;
``anylabel.backends.sam3_device``).

With the sam3 package (pip install "anylabel[sam3]"), the slow tests build a random full-size SAM 3 in the
official ``sam3.pt`` layout (tools/random_checkpoints.py --only sam3, 3.4 GB) and run it on the CPU through the
registry path: clicks, negative clicks and boxes beside upstream's ``predict_inst``, text prompts with one
shape per instance from ``anylabel segment --text``, and the find box's path."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch

from anylabel.backends import Prompt, load_segmenter
from anylabel.backends.sam3_device import CudaRedirect, needs_redirect, on_device
from anylabel.errors import ModelError
from anylabel.models import ModelRegistry

HAS_SAM3 = importlib.util.find_spec("sam3") is not None


def _local(tmp_path) -> ModelRegistry:
    """The shipped sam3 entry pointed at a local file, as a user's models file does after the gated download."""
    weights = tmp_path / "sam3.pt"
    weights.write_bytes(b"not really sam3")
    models = tmp_path / "mine.yaml"
    models.write_text(f"models:\n  - {{name: sam3, path: {weights}}}\n")
    return ModelRegistry.load(extra_files=[models], include_env=False)


def test_the_entry_is_gated_with_a_note_and_a_local_copy_is_used(tmp_path) -> None:
    shipped = ModelRegistry.load(include_env=False).get("sam3")
    assert shipped.family == "sam3" and shipped.url.startswith("https://huggingface.co/facebook/sam3/")
    assert not shipped.has_checksum and "no checksum" in shipped.checksum_note
    isolated = ModelRegistry([shipped], cache_dir=tmp_path / "cache")
    with pytest.raises(ModelError, match="no published checksum"):
        isolated.ensure(shipped)  # a download could not be verified: refused, nothing fetched
    registry = _local(tmp_path)
    spec = registry.get("sam3")
    assert spec.path == tmp_path / "sam3.pt" and registry.ensure(spec) == spec.path  # the user's file, as given


def test_a_missing_gpu_is_refused_before_the_file_is_read(tmp_path, fake_gpus, monkeypatch) -> None:
    from anylabel.devices import DeviceError

    fake_gpus(cuda=0)
    registry = _local(tmp_path)
    monkeypatch.setattr(registry, "ensure", lambda *a, **k: pytest.fail("the file was read first"))
    with pytest.raises(DeviceError, match="cuda is not available here"):
        load_segmenter("sam3", registry=registry, device="cuda")


@pytest.mark.skipif(HAS_SAM3, reason="the sam3 package is installed here")
def test_without_the_package_the_error_says_how_to_install_it(tmp_path) -> None:
    with pytest.raises(ModelError, match=r'pip install "anylabel\[sam3\]"'):
        load_segmenter("sam3", registry=_local(tmp_path), device="cpu")


def test_the_redirect_sends_every_cuda_the_code_names_to_the_device_asked_for() -> None:
    """What sam3 0.1.4 does on the CPU: tensors made with device="cuda", torch.device("cuda"), .cuda(),
    .to("cuda"), pin_memory(); none of them may reach CUDA (this machine's torch has none to give)."""
    with on_device("cpu"):
        made = [torch.zeros((1, 1, 4, 4), device="cuda"), torch.arange(3, device=torch.device("cuda")),
                torch.tensor([1.0], device="cuda:0"), torch.ones(2).cuda(), torch.ones(2).cuda(non_blocking=True),
                torch.ones(2).to("cuda"), torch.ones(2).to(device="cuda", dtype=torch.float16),
                torch.ones(2).pin_memory().to(device="cuda", non_blocking=True),
                torch.ones(2).new_zeros(3, device="cuda")]
    assert [t.device.type for t in made] == ["cpu"] * len(made)
    assert made[6].dtype == torch.float16  # the other arguments are kept
    with pytest.raises((RuntimeError, AssertionError)):  # outside the context, torch's own behaviour again
        torch.zeros(1, device="cuda") if not torch.cuda.is_available() else torch.ones(1).to("nonsense")


def test_the_redirect_is_entered_only_off_sams_own_gpu() -> None:
    assert needs_redirect("cpu") and needs_redirect("mps") and needs_redirect("cuda:1")
    assert not needs_redirect("cuda") and not needs_redirect("cuda:0")
    mode = CudaRedirect("cuda:1")  # a second GPU: sam3's "cuda" would be the first one (upstream issue #550)
    assert mode._fix("cuda") == torch.device("cuda:1") and mode._fix(torch.device("cuda", 0)) == torch.device("cuda:1")
    assert mode._fix("cpu") == "cpu" and mode._fix(None) is None


needs_sam3 = pytest.mark.skipif(not HAS_SAM3, reason="needs the sam3 package (pip install \"anylabel[sam3]\")")


@needs_sam3
def test_a_file_that_is_not_sam3_is_refused_not_loaded_as_random_weights(tmp_path) -> None:
    """sam3's loader takes a state dict with strict=False and only prints what is missing."""
    weights = tmp_path / "sam3.pt"
    torch.save({"detector.unrelated": torch.zeros(2)}, weights)
    models = tmp_path / "mine.yaml"
    models.write_text(f"models:\n  - {{name: sam3, path: {weights}}}\n")
    registry = ModelRegistry.load(extra_files=[models], include_env=False)
    with pytest.raises(ModelError, match=r"not a SAM 3 checkpoint.*weights are not in it") as err:
        load_segmenter("sam3", registry=registry, device="cpu")
    assert str(weights) in str(err.value)


@pytest.fixture(scope="module")
def sam3_models(tmp_path_factory):
    """A random full-size SAM 3 in sam3.pt's layout, written by tools/random_checkpoints.py, and its models file."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
    from random_checkpoints import write_all

    return write_all(tmp_path_factory.mktemp("sam3"), only=["sam3"])


@pytest.fixture(scope="module")
def sam3_cpu(sam3_models):
    registry = ModelRegistry.load(extra_files=[sam3_models], include_env=False)
    seg = load_segmenter("sam3", registry=registry, device="cpu")
    yield seg
    seg.close()


@pytest.mark.slow
@needs_sam3
def test_random_sam3_answers_points_negative_points_and_boxes_on_the_cpu(sam3_cpu, voc_image) -> None:
    """Through the registry path a download takes, on the CPU, each prompt beside upstream's predict_inst."""
    seg = sam3_cpu
    assert seg.device == "cpu" and all(p.device.type == "cpu" for p in seg.model.parameters())
    seg.set_image(voc_image, key="sam3-cpu")
    emb, _ = seg._state()
    h, w = voc_image.shape[:2]
    for prompt in (Prompt.from_clicks([(250, 200)]), Prompt.from_clicks(box=(150, 100, 350, 330)),
                   Prompt.from_clicks([(250, 200)], [(60, 40)], box=(150, 100, 350, 330))):
        ours = seg.predict(prompt)
        assert 1 <= len(ours) <= 3 and all(c.mask.shape == (h, w) and c.mask.dtype == bool for c in ours)
        with torch.inference_mode(), on_device("cpu"):
            _, scores, _ = seg.model.predict_inst(
                emb.features, point_coords=prompt.points if len(prompt.points) else None,
                point_labels=prompt.labels if len(prompt.points) else None,
                box=np.array(prompt.box) if prompt.box else None, multimask_output=True)
        assert np.allclose(sorted(scores, reverse=True), [c.score for c in ours], atol=1e-4)


@pytest.mark.slow
@needs_sam3
def test_random_sam3_text_prompt_gives_instances_best_first(sam3_cpu, voc_image) -> None:
    found = sam3_cpu.segment_text("red car", voc_image)
    h, w = voc_image.shape[:2]
    assert found and all(c.mask.shape == (h, w) and c.mask.any() and c.box is not None for c in found)
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
    assert len(sam3_cpu.everything(voc_image)) == len(sam3_cpu.segment_text("object", voc_image))


@pytest.mark.slow
@needs_sam3
def test_segment_text_with_sam3_writes_one_shape_group_per_instance(sam3_models, sam3_cpu, voc_image, voc_image_path,
                                                                  tmp_path, monkeypatch) -> None:
    from anylabel.cli import main

    found = sam3_cpu.segment_text("red car", voc_image)  # the same pixels as the file
    out = tmp_path / "out.json"
    monkeypatch.setenv("ANYLABEL_MODELS", str(sam3_models))
    assert main(["segment", str(voc_image_path), "--model", "sam3", "--text", "red car", "--device", "cpu",
                 "-o", str(out)]) == 0
    shapes = json.loads(out.read_text())["shapes"]
    groups = {s["group_id"] for s in shapes}
    assert shapes and all(s["label"] == "red car" and s["text_prompt"]["model"] == "sam3" for s in shapes)
    by_group = {g: {s["text_prompt"]["score"] for s in shapes if s["group_id"] == g} for g in groups}
    assert all(len(scores) == 1 for scores in by_group.values())  # a group is one instance
    assert 1 <= len(groups) <= len(found)  # one group per instance (those with a polygon of 16 px or more)
    assert max(s for v in by_group.values() for s in v) == pytest.approx(found[0].score, abs=1e-5)
