"""Shared test set-up: Qt offscreen, paths to the shared data, the random-weight model zoo."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# ultralytics must never reach the network in tests (fonts, weights, update checks).
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _data_dir(*parts: str) -> Path:
    """The shared data folder beside the checkout, or the copy in tests/fixtures."""
    shared = SHARED.joinpath(*parts)
    if shared.exists():
        return shared
    local = FIXTURES.joinpath(*parts)
    if local.exists():
        return local
    pytest.skip(f"test data {'/'.join(parts)} not found in ../shared/data or tests/fixtures")


@pytest.fixture(autouse=True)
def _no_user_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the real user's settings folder (config.yaml, remembered dialog options)."""
    monkeypatch.setenv("ANYLABEL_CONFIG", str(tmp_path_factory.mktemp("settings") / "config.yaml"))


@pytest.fixture
def fake_gpus(monkeypatch: pytest.MonkeyPatch):
    """``fake_gpus(cuda=N, mps=False)``: torch reports N CUDA GPUs (named "Fake GPU") and mps or not, whatever
    the machine has, and no device is set in the environment; device rules and errors run on any CPU."""
    import torch

    def pretend(cuda: int = 0, mps: bool = False) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Fake GPU")
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
        monkeypatch.delenv("ANYLABEL_DEVICE", raising=False)

    return pretend


@pytest.fixture(scope="session")
def voc_dir() -> Path:
    """labelme's VOC example: data_annotated/, data_dataset_coco/, data_dataset_voc/."""
    return _data_dir("labelme-voc")


@pytest.fixture(scope="session")
def sam2_demo_dir() -> Path:
    """sam2's demo data: bedroom.mp4, bedroom/00000.jpg..., truck.jpg, groceries.jpg, cars.jpg."""
    return _data_dir("sam2-demo")


# ---------------------------------------------------------------- random-weight model zoo (backends)
def _random_checkpoints_module():
    """tools/random_checkpoints.py, imported by path (tools/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("random_checkpoints", ROOT / "tools" / "random_checkpoints.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def random_checkpoints():
    """The module tools/random_checkpoints.py, for fixtures that write a subset of the random zoo."""
    return _random_checkpoints_module()


@pytest.fixture(scope="session")
def random_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """models.yaml of small random-weight SAM, SAM2.1, FastSAM and CLIP checkpoints (registry names).

    Written once per session into a temporary folder. For the whole session ``ANYLABEL_MODELS`` points at it
    and ``ANYLABEL_CACHE_DIR`` at a temporary cache (ONNX exports, downloads), so
    ``ModelRegistry.load()`` and ``load_segmenter("sam_vit_b")`` pick the random models up.
    """
    out = tmp_path_factory.mktemp("random_models")
    models_file = _random_checkpoints_module().write_all(out)
    saved = {k: os.environ.get(k) for k in ("ANYLABEL_MODELS", "ANYLABEL_CACHE_DIR")}
    os.environ["ANYLABEL_MODELS"] = str(models_file)
    os.environ["ANYLABEL_CACHE_DIR"] = str(tmp_path_factory.mktemp("anylabel_cache"))
    yield models_file
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(autouse=True, scope="session")
def _engine_probe_tie():
    """``precision: auto`` in tests: a fixed engine probe (every engine equally fast, so the exact torch
    float32 wins the tie) instead of a real measurement per session, which would make results depend on
    the machine's load and write to the cache folder. tests/backends/test_engines.py tests the real probe
    and the choice."""
    from anylabel.backends import engines

    saved = engines.probe_fn
    engines.probe_fn = lambda candidates: {role: {e: 1.0 for e in candidates} for role in engines.ROLES}
    engines.forget()
    yield
    engines.probe_fn = saved
    engines.forget()
