"""SAM 3: the gated entry, a local file as for the others, the device rules, and what a machine without the
package or without a CUDA GPU is told (sam3 0.1.4 builds parts of the model on CUDA only: upstream issue #587).
The model itself runs in the slow test on a CUDA machine with the sam3 package (pip install "anylabel[sam3]")."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from anylabel.backends import Prompt, load_segmenter
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


@pytest.mark.skipif(not HAS_SAM3, reason="needs the sam3 package (pip install \"anylabel[sam3]\")")
def test_without_cuda_the_error_names_the_upstream_problem(tmp_path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is here: the model builds")
    with pytest.raises(ModelError, match="without a CUDA GPU.*issue #587"):
        load_segmenter("sam3", registry=_local(tmp_path), device="cpu")


@pytest.mark.slow
@pytest.mark.skipif(not HAS_SAM3, reason="needs the sam3 package (pip install \"anylabel[sam3]\")")
def test_random_full_size_sam3_answers_clicks_boxes_and_text_on_a_gpu(voc_image) -> None:
    """Random weights of the real architecture (sam3's own builder, no checkpoint): the adapter's prompts, its
    agreement with upstream's predict_inst, and one shape per instance for a text prompt."""
    import torch

    from anylabel.backends.sam3 import Sam3Segmenter, build_sam3_model
    from anylabel.models import ModelSpec

    if not torch.cuda.is_available():
        pytest.skip("sam3 0.1.4 builds only with a CUDA GPU (facebookresearch/sam3 issue #587)")
    spec = ModelSpec(name="sam3", family="sam3", settings={"confidence_threshold": 0.0})
    model = build_sam3_model(spec.settings, None, "cuda")
    seg = Sam3Segmenter(spec, None, device="cuda", precision="float32", model=model)
    seg.set_image(voc_image, key="sam3-random")
    emb, _ = seg._state()
    h, w = voc_image.shape[:2]
    for prompt in (Prompt.from_clicks([(250, 200)]), Prompt.from_clicks(box=(150, 100, 350, 330)),
                   Prompt.from_clicks([(250, 200)], [(60, 40)], box=(150, 100, 350, 330))):
        ours = seg.predict(prompt)
        assert 1 <= len(ours) <= 3 and all(c.mask.shape == (h, w) for c in ours)
        masks, scores, _ = model.predict_inst(emb.features, point_coords=prompt.points if len(prompt.points) else None,
                                              point_labels=prompt.labels if len(prompt.points) else None,
                                              box=np.array(prompt.box) if prompt.box else None, multimask_output=True)
        assert np.allclose(sorted(scores, reverse=True), [c.score for c in ours], atol=1e-4)
    found = seg.segment_text("object")
    assert all(c.mask.shape == (h, w) for c in found)
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
