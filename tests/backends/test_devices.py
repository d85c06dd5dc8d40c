"""The device setting: names, the resolver's rules and errors (GPUs simulated by monkeypatching torch), the
precision on GPUs, ONNX Runtime's providers, and the embedding cache's GPU bound."""
from __future__ import annotations

import pytest
import torch

from anylabel.backends.cache import EmbeddingCache, nbytes_by_device
from anylabel.backends.precision import resolve_precision
from anylabel.devices import DeviceError, available_devices, check_device_name, requested_device, resolve_device

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def _no_env_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANYLABEL_DEVICE", raising=False)
    monkeypatch.delenv("ANYLABEL_PRECISION", raising=False)


@pytest.mark.parametrize("name,expected", [("auto", "auto"), (" CUDA ", "cuda"), ("cuda:1", "cuda:1"), ("mps", "mps"),
                                           ("cpu", "cpu")])
def test_device_names(name: str, expected: str) -> None:
    assert check_device_name(name) == expected


@pytest.mark.parametrize("bad", ["gpu", "cuda:", "cuda:x", "cuda1", "", 3, None, "tpu"])
def test_unknown_device_names_are_refused(bad) -> None:
    with pytest.raises(DeviceError, match="unknown device"):
        check_device_name(bad)


def test_auto_is_the_first_gpu_else_the_cpu(fake_gpus) -> None:
    fake_gpus(cuda=2)
    assert resolve_device("auto") == "cuda:0" and available_devices() == ["cuda:0", "cuda:1", "cpu"]
    assert resolve_device("cuda") == "cuda:0" and resolve_device("cuda:1") == "cuda:1"
    fake_gpus(mps=True)
    assert resolve_device("auto") == "mps" and resolve_device("mps") == "mps"
    fake_gpus()
    assert resolve_device("auto") == "cpu" and resolve_device(None) == "cpu" and resolve_device("cpu") == "cpu"


def test_missing_cuda_names_cuda_and_what_is_available(fake_gpus) -> None:
    fake_gpus()
    with pytest.raises(DeviceError) as e:
        resolve_device("cuda")
    text = str(e.value)
    assert text.startswith("cuda is not available here (torch ") and "no GPU found" in text
    assert text.endswith("available: cpu")
    assert (f"built with CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only build") in text


def test_a_gpu_index_beyond_the_gpus(fake_gpus) -> None:
    fake_gpus(cuda=1)
    with pytest.raises(DeviceError, match=r"cuda:3 is not available here .*1 GPU found: cuda:0 to cuda:0.*"
                                          r"available: cuda:0, cpu"):
        resolve_device("cuda:3")


def test_mps_off_macos(fake_gpus) -> None:
    fake_gpus(cuda=1)
    with pytest.raises(DeviceError, match=r"mps is not available here .*available: cuda:0, cpu"):
        resolve_device("mps")


def test_where_the_name_comes_from(monkeypatch: pytest.MonkeyPatch) -> None:
    assert requested_device() == "auto"
    assert requested_device(None, setting="cuda:1") == "cuda:1"
    monkeypatch.setenv("ANYLABEL_DEVICE", "CPU")
    assert requested_device(None, setting="cuda:1") == "cpu"  # the environment over the settings file
    assert requested_device("mps", setting="cuda") == "mps"  # --device over both
    monkeypatch.setenv("ANYLABEL_DEVICE", "gpu")
    with pytest.raises(DeviceError):
        requested_device()


# ---------------------------------------------------------------------------------------------- precision


def test_precision_on_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    bf16 = {"ok": True}
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: bf16["ok"])
    monkeypatch.setattr(torch.cuda, "device", lambda d: __import__("contextlib").nullcontext())
    # sam2's upstream runs bfloat16 autocast on CUDA; segment-anything float32
    assert resolve_precision("auto", "cuda:0", gpu_auto="bfloat16") == "bfloat16"
    assert resolve_precision("auto", "cuda:0") == "float32"
    bf16["ok"] = False  # a GPU older than Ampere emulates bfloat16: float32
    assert resolve_precision("auto", "cuda:1", gpu_auto="bfloat16") == "float32"
    assert resolve_precision("auto", "mps", gpu_auto="bfloat16") == "float32"
    assert resolve_precision("bfloat16", "cuda:0") == "bfloat16" and resolve_precision("float32", "cuda:0") == "float32"


# ---------------------------------------------------------------------------------------------- ONNX Runtime


def test_onnx_providers_for_a_gpu(monkeypatch: pytest.MonkeyPatch, tmp_path, fake_gpus) -> None:
    from anylabel.backends import onnx_providers as op

    fake_gpus(cuda=2)
    monkeypatch.setattr(op, "available_providers", lambda: [op.TENSORRT, op.CUDA, op.CPU])
    monkeypatch.setattr(op, "tensorrt_installed", lambda: False)
    assert op.resolve_onnx_device("auto") == ("cuda:0", "")
    assert op.resolve_onnx_device("cuda:1") == ("cuda:1", "")
    assert op.providers_for("cuda:1") == [(op.CUDA, {"device_id": 1}), op.CPU]
    assert op.providers_for("cpu") == [op.CPU]
    monkeypatch.setattr(op, "tensorrt_installed", lambda: True)
    trt = op.providers_for("cuda:0", cache_dir=tmp_path)
    assert trt[0] == (op.TENSORRT, {"device_id": 0, "trt_engine_cache_enable": True,
                                    "trt_engine_cache_path": str(tmp_path)})
    assert trt[1:] == [(op.CUDA, {"device_id": 0}), op.CPU]
    with pytest.raises(DeviceError, match="cuda:2 is not available"):
        op.resolve_onnx_device("cuda:2")
    with pytest.raises(DeviceError, match="no Metal provider"):
        op.resolve_onnx_device("mps")


def test_onnx_cuda_shadowed_by_the_cpu_build_names_the_fix(monkeypatch: pytest.MonkeyPatch, fake_gpus) -> None:
    from anylabel.backends import onnx_providers as op

    fake_gpus(cuda=1)
    monkeypatch.setattr(op, "available_providers", lambda: ["AzureExecutionProvider", op.CPU])
    monkeypatch.setattr(op, "_installed", lambda dist: {"onnxruntime": "1.32.0", "onnxruntime-gpu": "1.31.1"}[dist])
    with pytest.raises(DeviceError) as e:
        op.resolve_onnx_device("cuda")
    text = str(e.value)
    assert "both onnxruntime 1.32.0 (CPU) and onnxruntime-gpu 1.31.1 are installed" in text
    assert op.FIX_COMMAND in text and "Azure" not in text
    device, note = op.resolve_onnx_device("auto")  # auto runs, on the CPU, and says why the GPU is unused
    assert device == "cpu" and op.FIX_COMMAND in note
    monkeypatch.setattr(op, "_installed", lambda dist: {"onnxruntime": "1.32.0"}.get(dist))
    with pytest.raises(DeviceError, match="is the CPU build"):
        op.resolve_onnx_device("cuda:0")


# ---------------------------------------------------------------------------------------------- cache


class FakeGpuTensor:
    """Duck-typed like a torch tensor on a CUDA device (the cache never imports torch)."""

    def __init__(self, nbytes: int, device: str = "cuda:0") -> None:
        self.device = torch.device(device)
        self._n = nbytes

    def element_size(self) -> int:
        return 1

    def numel(self) -> int:
        return self._n


def test_sizes_are_counted_on_their_device() -> None:
    import numpy as np

    value = {"gpu": FakeGpuTensor(3 * MB), "host": [np.zeros(MB, np.uint8), torch.zeros(MB, dtype=torch.uint8)]}
    assert nbytes_by_device(value) == {"cuda:0": 3 * MB, "cpu": 2 * MB}


def test_gpu_resident_embeddings_have_their_own_bound() -> None:
    import numpy as np

    cache = EmbeddingCache(max_mb=100, device_max_mb=8)
    for i in range(3):
        assert cache.put("sam", f"host{i}", np.zeros(10 * MB, np.uint8))
    for i in range(5):
        assert cache.put("sam", f"gpu{i}", FakeGpuTensor(3 * MB))
    # the GPU pool keeps the two most recent (6 of 8 MB); no host entry was evicted for them
    assert [k for _, k in cache.keys()] == ["host0", "host1", "host2", "gpu3", "gpu4"]
    assert cache.bytes_on("cuda:0") == 6 * MB and cache.bytes_on("cpu") == 30 * MB
    assert not cache.put("sam", "huge", FakeGpuTensor(9 * MB))  # larger than the GPU bound: not stored
    cache.set_max_mb(100, device_max_mb=3)
    assert [k for _, k in cache.keys()] == ["host0", "host1", "host2", "gpu4"]
    cache.clear()
    assert cache.size_bytes == 0 and cache.bytes_on("cuda:0") == 0
