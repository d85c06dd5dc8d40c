"""benchmarks/gpu.py runs only on a GPU machine; what it decides can be checked here: its plan (every family,
which precisions ours offers), the device check that stops a model whose weights or embedding are elsewhere,
and the --dry-run / no-GPU exits."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from anylabel.backends import load_segmenter

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import gpu  # noqa: E402


def test_the_plan_covers_every_family_and_marks_what_ours_does_not_offer() -> None:
    rows = gpu.plan(list(gpu.FAMILY), ["float32", "bfloat16", "float16"])
    families = {gpu.FAMILY[name] for name, _, _ in rows}
    assert families == {"sam", "sam_onnx", "mobile_sam", "sam_hq", "sam2", "fastsam", "sam3", "clip"}
    offered = {(name, precision): ours for name, precision, ours in rows}
    assert offered[("sam_vit_h", "bfloat16")] and not offered[("sam_vit_h", "float16")]
    assert not offered[("fastsam_s", "bfloat16")] and offered[("fastsam_s", "float32")]
    assert [p for n, p, _ in rows if n == "sam_vit_b_onnx"] == ["float32"]


def test_dry_run_and_no_gpu_exit_cleanly(capsys, fake_gpus) -> None:
    assert gpu.main(["--dry-run", "--only", "sam_vit_b,fastsam_s"]) == 0
    assert "fastsam_s            float16   anylabel not offered; upstream yes" in capsys.readouterr().out
    fake_gpus(cuda=0)
    assert gpu.main(["--only", "sam_vit_b"]) == 0
    assert "no CUDA GPU here" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["sam_vit_b", "mobile_sam", "sam2.1_hiera_tiny", "fastsam_s"])
def test_the_device_check_stops_a_model_that_is_not_on_the_device(name: str, registry, voc_image) -> None:
    seg = load_segmenter(name, registry=registry, device="cpu")
    try:
        seg.set_image(voc_image, key=f"check-{name}")
        assert gpu.device_check(seg, "cpu") == "all on cpu"
        module = gpu.torch_module(seg)
        path, first = next(module.named_parameters())
        owner, _, leaf = path.rpartition(".")
        # one weight elsewhere (the meta device here): a CUDA run that had left one on the CPU is refused
        setattr(module.get_submodule(owner), leaf, torch.nn.Parameter(torch.empty_like(first, device="meta")))
        with pytest.raises(SystemExit, match=rf"{name}: not all on cpu: 1 parameters"):
            gpu.device_check(seg, "cpu")
    finally:
        seg.close()


def test_the_device_check_looks_into_the_cached_embedding(registry, voc_image) -> None:
    seg = load_segmenter("sam_vit_b", registry=registry, device="cpu")
    try:
        seg.set_image(voc_image, key="check-embedding")
        emb = seg._state()[0]
        found = list(gpu.tensors(emb.features))
        assert found and all(t.device.type == "cpu" for t in found)
        emb.features = {"image_embed": torch.zeros(1, device="meta")}
        with pytest.raises(SystemExit, match="1 embedding tensors elsewhere"):
            gpu.device_check(seg, "cpu")
    finally:
        seg.close()


def test_models_benchmark_smoke_puts_fastsam_beside_ultralytics(capsys) -> None:
    """benchmarks/models.py --smoke: small random models, every family's row beside its upstream pipeline."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "models.py"
    spec = importlib.util.spec_from_file_location("bench_models", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--smoke", "--only", "fastsam_s,mobile_sam"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith(("fastsam_s", "mobile"))}
    assert set(rows) == {"fastsam_s", "mobile_sam"}
    assert all(len(values) == 5 and all(float(v) > 0 for v in values[:4]) for values in rows.values())
