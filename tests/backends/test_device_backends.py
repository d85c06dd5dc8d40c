"""``device`` through every backend: an explicit ``cpu`` is honoured by each family (random checkpoints through
the registry path), and a GPU this machine lacks is refused before any file is read or downloaded."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from anylabel.backends import Prompt, load_segmenter
from anylabel.devices import DeviceError

FAMILIES = ["sam_vit_b", "sam_vit_b_onnx", "mobile_sam", "sam_hq_vit_b", "sam2.1_hiera_tiny", "fastsam_s", "classical"]
#: every other model of the zoo's segmentation families (their sizes share the adapters above; SAM 3's own
#: adapter runs on the CPU in tests/backends/test_sam3.py, with the sam3 package)
OTHER_SIZES = ["sam_vit_l", "sam_vit_h", "sam_hq_vit_l", "sam_hq_vit_h", "sam2.1_hiera_small", "sam2.1_hiera_base_plus",
               "sam2.1_hiera_large", "fastsam_x"]


@pytest.fixture(autouse=True)
def _no_gpu(fake_gpus) -> None:
    fake_gpus(cuda=0)  # whatever the machine has: no CUDA GPU, no mps, no $ANYLABEL_DEVICE


@pytest.fixture
def no_download(registry, monkeypatch: pytest.MonkeyPatch):
    """The registry, whose ``ensure`` (verify / download the file) must not be reached."""
    def refuse(*args, **kwargs):
        raise AssertionError("the model file was read before the device was checked")

    monkeypatch.setattr(registry, "ensure", refuse)
    return registry


@pytest.mark.parametrize("name", FAMILIES + OTHER_SIZES[:4])
def test_explicit_cpu_is_honoured_by_every_family(name: str, registry, voc_image) -> None:
    seg = load_segmenter(name, registry=registry, device="cpu")
    try:
        assert seg.device == "cpu" and seg.runs_on().startswith("cpu")
        for tensor in _parameters(seg):
            assert tensor.device.type == "cpu"
        seg.set_image(voc_image, key=f"device-cpu-{name}")
        h, w = voc_image.shape[:2]
        cands = seg.predict(Prompt.from_clicks(box=(0.0, 0.0, w - 1.0, h - 1.0)))
        assert all(c.mask.shape == (h, w) and c.mask.dtype == bool for c in cands)
        if name.endswith("_onnx"):
            assert "onnxruntime CPU" in seg.runs_on()
        if name.startswith(("sam", "mobile_sam")):
            # the torch adapters name the engine of each role (anylabel.backends.engines); ONNX its provider
            how = seg.engines.describe() if getattr(seg, "engines", None) is not None else seg.precision
            assert seg.runs_on() == f"cpu, {how}" + (", onnxruntime CPU" if name.endswith("_onnx") else "")
    finally:
        seg.close()


def _parameters(seg):
    model = getattr(seg, "model", None)
    if isinstance(model, torch.nn.Module):
        return list(model.parameters())[:5]
    inner = getattr(model, "model", None)  # ultralytics wraps its torch module
    return list(inner.parameters())[:5] if isinstance(inner, torch.nn.Module) else []


@pytest.mark.parametrize("name", [n for n in FAMILIES if n != "sam_vit_b_onnx"] + OTHER_SIZES + ["sam3"])
@pytest.mark.parametrize("device", ["cuda", "cuda:1", "mps"])
def test_a_missing_gpu_is_refused_before_the_file_is_read(name: str, device: str, no_download) -> None:
    with pytest.raises(DeviceError, match=rf"^{device} is not available here .*available: cpu$"):
        load_segmenter(name, registry=no_download, device=device)


def test_onnx_refuses_cuda_without_a_gpu(no_download, monkeypatch: pytest.MonkeyPatch) -> None:
    from anylabel.backends import onnx_providers as op

    monkeypatch.setattr(op, "available_providers", lambda: [op.CUDA, op.CPU])  # onnxruntime-gpu, no GPU
    with pytest.raises(DeviceError, match="cuda is not available here"):
        load_segmenter("sam_vit_b_onnx", registry=no_download, device="cuda")
    monkeypatch.setattr(op, "available_providers", lambda: [op.CPU])  # the CPU build
    with pytest.raises(DeviceError, match="not available to ONNX Runtime here"):
        load_segmenter("sam_vit_b_onnx", registry=no_download, device="cuda:0")


def test_auto_and_the_environment(registry, monkeypatch: pytest.MonkeyPatch, no_download) -> None:
    seg = load_segmenter("classical", registry=registry, device="auto")
    assert seg.device == "cpu" and seg.device_note == ""
    monkeypatch.setenv("ANYLABEL_DEVICE", "cuda")  # the environment applies when no device is given
    with pytest.raises(DeviceError, match="^cuda is not available"):
        load_segmenter("sam_vit_b", registry=no_download)
    with pytest.raises(DeviceError, match="unknown device 'gpu'"):
        load_segmenter("sam_vit_b", registry=no_download, device="gpu")


def test_classical_runs_on_the_cpu_and_says_so(registry, fake_gpus) -> None:
    fake_gpus(cuda=1)
    seg = load_segmenter("classical", registry=registry, device="cuda")
    assert seg.device == "cpu" and "CPU only, not cuda:0" in seg.runs_on()


def test_clip_on_the_cpu_and_a_missing_gpu(registry, no_download, monkeypatch: pytest.MonkeyPatch,
                                           fake_gpus) -> None:
    from anylabel.classify import load_clip

    with pytest.raises(DeviceError, match="^cuda is not available"):
        load_clip("clip_vit_b32", registry=no_download, device="cuda")
    monkeypatch.undo()  # the real registry.ensure again
    fake_gpus(cuda=0)
    model = load_clip("clip_vit_b32", registry=registry, device="cpu")
    assert model.device == "cpu" and next(model.model.parameters()).device.type == "cpu"
    feats = model.encode_texts(["a cat", "a dog"])
    assert feats.device.type == "cpu" and feats.shape[0] == 2
    crops = model.preprocess([np.zeros((32, 32, 3), np.uint8)])
    assert model.encode_images(crops).device.type == "cpu"


def test_tracking_on_the_cpu_and_a_missing_gpu(registry, no_download, monkeypatch: pytest.MonkeyPatch,
                                               fake_gpus) -> None:
    from anylabel.tracking import TrackingSession
    from anylabel.tracking.model import load_video_predictor

    with pytest.raises(DeviceError, match="^mps is not available"):
        load_video_predictor("sam2.1_hiera_tiny", registry=no_download, device="mps")
    monkeypatch.undo()
    fake_gpus(cuda=0)
    predictor = load_video_predictor("sam2.1_hiera_tiny", registry=registry, device="cpu")
    assert torch.device(predictor.device).type == "cpu"

    class Frames:
        size = (48, 64)

        def __len__(self) -> int:
            return 2

        def __getitem__(self, i: int) -> np.ndarray:
            return np.zeros((48, 64, 3), np.uint8)

    session = TrackingSession(predictor, Frames(), precision="float32")
    assert session.device == "cpu" and session.precision == "float32"


def test_semantic_branches_check_the_device(registry, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from anylabel.semantic.hf_branch import HFBranch
    from anylabel.semantic.yolo_branch import YoloBranch

    with pytest.raises(DeviceError, match="^cuda is not available"):
        HFBranch(tmp_path, device="cuda")
    with pytest.raises(DeviceError, match="^cuda:2 is not available"):
        YoloBranch(tmp_path / "none.pt", device="cuda:2")
    yolo = YoloBranch(registry.ensure(registry.get("fastsam_s")), device="cpu")  # FastSAM is a YOLO-seg model
    assert yolo.device == "cpu"
    ids, names = yolo.class_map(np.zeros((64, 64, 3), np.uint8))
    assert ids.shape == (64, 64) and names[0] == "background"


def test_onnx_falls_back_to_the_cpu_when_cuda_cannot_start(registry, fake_gpus, monkeypatch, voc_image) -> None:
    """onnxruntime lists CUDA and a GPU is seen, but the session cannot start CUDA's provider (here: a CPU
    build was given it): the adapter runs on the CPU, says why, and still answers."""
    from anylabel.backends import onnx_providers as op

    fake_gpus(cuda=1)
    monkeypatch.setattr(op, "available_providers", lambda: [op.CUDA, op.CPU])
    with pytest.warns(RuntimeWarning, match="could not start its CUDA provider"):
        seg = load_segmenter("sam_vit_b_onnx", registry=registry, device="cuda")
    try:
        assert seg.device == "cpu" and "could not start its CUDA provider on cuda:0" in seg.runs_on()
        seg.set_image(voc_image, key="onnx-fallback")
        assert seg.prepared(seg._state()[0]) is None  # no GPU copy of the embedding on the CPU
        assert seg.predict(Prompt.from_clicks([(250.0, 200.0)]))[0].mask.shape == voc_image.shape[:2]
    finally:
        seg.close()
