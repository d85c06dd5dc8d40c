"""The engine choice of ``precision: auto`` (anylabel.backends.engines): forced probe results, so that every
kind of CPU is covered on any machine; the cache file; explicit choices; the adapters' engines and their
embedding-cache namespaces; one real (short) probe."""
from __future__ import annotations

import json

import numpy as np
import pytest

from anylabel.backends import EmbeddingCache, Prompt, load_segmenter
from anylabel.backends import engines as en
from anylabel.backends.engines import ONNX_FP32, TORCH_BF16, TORCH_FP32, EnginePlan

AMX_FLAGS = {"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}
AMD_FLAGS = {"avx512f", "avx512_bf16"}  # AMD EPYC (Zen 4): AVX512-BF16, no AMX
LAPTOP_FLAGS = {"avx2", "fma"}  # no bfloat16 instructions

# seconds (encoder: whole image; decoder: one click)
AMX_TIMES = {"encoder": {TORCH_FP32: 10.8, TORCH_BF16: 5.3, ONNX_FP32: 8.0},
             "decoder": {TORCH_FP32: 0.030, TORCH_BF16: 0.022, ONNX_FP32: 0.040}}
# the issue's AMD EPYC: float32 25.7-28.8 s, ONNX Runtime 9.1-14.5 s, bfloat16 9.4-9.6 s (not measured by us)
AMD_TIMES = {"encoder": {TORCH_FP32: 27.0, TORCH_BF16: 9.5, ONNX_FP32: 13.5},
             "decoder": {TORCH_FP32: 0.060, TORCH_BF16: 0.045, ONNX_FP32: 0.050}}


class FakeProbe:
    """Stands in for the probe: returns ``times`` restricted to the engines asked for, counts the calls."""

    def __init__(self, times: dict) -> None:
        self.times, self.calls = times, []

    def __call__(self, candidates):
        self.calls.append(list(candidates))
        return {role: {e: self.times[role][e] for e in candidates} for role in en.ROLES}


@pytest.fixture()
def machine(monkeypatch, tmp_path):
    """``machine(flags, times, ort=True)`` makes this process look like that CPU; returns the fake probe.
    The cache file lives in a fresh folder."""
    monkeypatch.setenv("ANYLABEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ANYLABEL_PRECISION", raising=False)
    from anylabel.backends import cpu

    monkeypatch.setattr(cpu, "idle_cores", cpu.cores)  # a quiet machine (unless a test says otherwise)
    en.forget()

    def make(flags, times, ort: bool = True, cpu: str = "Test CPU") -> FakeProbe:
        fake = FakeProbe(times)
        monkeypatch.setattr(en, "cpu_flags", lambda: set(flags))
        monkeypatch.setattr(en, "cpu_model", lambda: cpu)
        monkeypatch.setattr(en, "onnxruntime_version", lambda: "1.32.0" if ort else None)
        monkeypatch.setattr(en, "probe_fn", fake)
        return fake

    yield make
    en.forget()


def test_amx_cpu_runs_bfloat16_everywhere(machine) -> None:
    machine(AMX_FLAGS, AMX_TIMES)
    assert en.plan_engines(None, onnx=True) == EnginePlan(TORCH_BF16, TORCH_BF16, "measured")
    assert en.plan_engines("auto", onnx=False) == EnginePlan(TORCH_BF16, TORCH_BF16, "measured")


def test_amd_avx512_bf16_numbers_of_the_issue(machine) -> None:
    fake = machine(AMD_FLAGS, AMD_TIMES)
    plan = en.plan_engines(None, onnx=True)
    assert plan.encoder == TORCH_BF16  # 9.5 s vs ONNX Runtime 13.5 s vs float32 27 s
    assert plan.decoder == TORCH_BF16
    assert fake.calls == [[TORCH_FP32, ONNX_FP32, TORCH_BF16]]  # every offered engine measured, once


def test_encoder_and_decoder_are_chosen_apart(machine) -> None:
    times = {"encoder": {TORCH_FP32: 27.0, TORCH_BF16: 15.0, ONNX_FP32: 9.1},
             "decoder": {TORCH_FP32: 0.030, TORCH_BF16: 0.031, ONNX_FP32: 0.045}}
    machine(AMD_FLAGS, times)
    plan = en.plan_engines(None, onnx=True)
    assert (plan.encoder, plan.decoder) == (ONNX_FP32, TORCH_FP32)  # bfloat16 clicks: not faster, less exact
    # SAM2 has no ONNX path: the faster torch engine per role
    assert en.plan_engines(None, onnx=False) == EnginePlan(TORCH_BF16, TORCH_FP32, "measured")


def test_cpu_without_bfloat16_never_gets_it(machine) -> None:
    cheat = {"encoder": {TORCH_FP32: 20.0, TORCH_BF16: 1.0, ONNX_FP32: 10.0},
             "decoder": {TORCH_FP32: 0.030, TORCH_BF16: 0.001, ONNX_FP32: 0.050}}
    fake = machine(LAPTOP_FLAGS, cheat)
    plan = en.plan_engines(None, onnx=True)
    assert plan == EnginePlan(ONNX_FP32, TORCH_FP32, "measured")
    assert TORCH_BF16 not in fake.calls[0]  # not even measured (bfloat16 would be emulated)
    assert en.auto_torch_precision() == "float32"
    from anylabel.backends.precision import resolve_precision

    assert resolve_precision("auto") == "float32"


def test_without_onnxruntime_only_torch_is_measured(machine) -> None:
    fake = machine(AMD_FLAGS, {"encoder": {TORCH_FP32: 27.0, TORCH_BF16: 30.0, ONNX_FP32: 1.0},
                               "decoder": {TORCH_FP32: 0.03, TORCH_BF16: 0.02, ONNX_FP32: 0.001}}, ort=False)
    assert en.plan_engines(None, onnx=True) == EnginePlan(TORCH_FP32, TORCH_BF16, "measured")
    assert fake.calls == [[TORCH_FP32, TORCH_BF16]]


def test_near_tie_prefers_the_exact_engine(machine) -> None:
    machine(AMX_FLAGS, {"encoder": {TORCH_FP32: 10.0, TORCH_BF16: 9.8, ONNX_FP32: 9.9},
                        "decoder": {TORCH_FP32: 0.030, TORCH_BF16: 0.020, ONNX_FP32: 0.0295}})
    plan = en.plan_engines(None, onnx=True)
    assert plan.encoder == TORCH_FP32  # within 3 %: float32 torch, upstream's exact results
    assert plan.decoder == TORCH_BF16  # 1.5x faster: worth it


def test_explicit_choices_win_and_skip_the_probe(machine, monkeypatch) -> None:
    fake = machine(AMX_FLAGS, AMX_TIMES)
    assert en.plan_engines("float32", onnx=True) == EnginePlan(TORCH_FP32, TORCH_FP32, "requested")
    assert en.plan_engines("bfloat16", onnx=True) == EnginePlan(TORCH_BF16, TORCH_BF16, "requested")
    monkeypatch.setenv("ANYLABEL_PRECISION", "float32")
    assert en.plan_engines(None, onnx=True) == EnginePlan(TORCH_FP32, TORCH_FP32, "requested")
    assert en.plan_engines("bfloat16").encoder == TORCH_BF16  # the argument before the environment
    assert fake.calls == []
    with pytest.raises(ValueError, match="fp8"):
        en.plan_engines("fp8")
    assert en.plan_engines("auto", device="cuda").source == "device"  # GPUs: precision.resolve_precision's rule


def test_cache_hit_miss_and_corruption(machine) -> None:
    fake = machine(AMX_FLAGS, AMX_TIMES)
    en.measured_times()
    path = en.cache_path()
    entry = json.loads(path.read_text())[en.cache_key()]
    assert entry["times"]["encoder"][TORCH_BF16] == 5.3 and entry["attempts"] == 1
    en.forget()  # a new process: the file answers
    assert en.measured_times()["decoder"][TORCH_BF16] == 0.022
    assert len(fake.calls) == 1
    path.write_text("{ not json")  # a corrupt file is measured again, not a crash
    en.forget()
    assert en.plan_engines(None, onnx=True).encoder == TORCH_BF16
    assert len(fake.calls) == 2
    assert en.cache_key() in json.loads(path.read_text())
    path.write_text(json.dumps({en.cache_key(): {"times": {"encoder": {TORCH_FP32: "x"}}}}))  # wrong shape
    en.forget()
    en.measured_times()
    assert len(fake.calls) == 3
    assert not list(path.parent.glob(".engines.json.*"))  # atomic write: no temporary file left


def test_cache_key_changes_with_versions_and_cpu(machine, monkeypatch) -> None:
    import torch

    fake = machine(AMX_FLAGS, AMX_TIMES)
    en.measured_times()
    first = en.cache_key()
    monkeypatch.setattr(en, "onnxruntime_version", lambda: "9.9.9")
    monkeypatch.setattr(torch, "__version__", "9.0.0")
    monkeypatch.setattr(en, "cpu_model", lambda: "Another CPU")
    second = en.cache_key()
    assert second != first and "9.9.9" in second and "9.0.0" in second and "Another CPU" in second
    en.measured_times()  # measured again for the new key; the old entry stays for the old versions
    assert len(fake.calls) == 2
    assert set(json.loads(en.cache_path().read_text())) == {first, second}


def test_a_contended_probe_is_measured_again(machine, monkeypatch) -> None:
    from anylabel.backends import cpu

    fake = machine(AMX_FLAGS, AMX_TIMES)
    monkeypatch.setattr(cpu, "idle_cores", lambda: 0)  # other processes hold the cores
    for _ in range(en.CONTENDED_RETRIES + 2):
        en.forget()
        en.measured_times()
    assert len(fake.calls) == en.CONTENDED_RETRIES  # re-measured by the next processes, then kept
    assert json.loads(en.cache_path().read_text())[en.cache_key()]["contended"] is True


def test_notices_announce_the_probe(machine) -> None:
    machine(AMX_FLAGS, AMX_TIMES)
    messages = []
    with en.notices(messages.append):
        en.measured_times()
        en.measured_times()
    assert len(messages) == 2 and "measuring this CPU's engines once" in messages[0]
    assert "encoder torch-bfloat16" in messages[1]


def test_cli_announces_the_probe_on_stderr(machine, random_models, capsys) -> None:
    import argparse

    from anylabel.cli._segmenting import load_cli_segmenter

    machine(AMD_FLAGS, AMD_TIMES)
    seg = load_cli_segmenter(argparse.Namespace(model="sam_vit_b", models=[str(random_models)], precision=None))
    assert seg.engines.encoder == TORCH_BF16
    err = capsys.readouterr().err
    assert "anylabel: measuring this CPU's engines once" in err and "encoder torch-bfloat16" in err


# ------------------------------------------------------------------------------ adapters
def test_sam_adapter_follows_the_probe(machine, registry, voc_image) -> None:
    machine(AMX_FLAGS, AMX_TIMES)
    seg = load_segmenter("sam_vit_b", registry=registry, cache=EmbeddingCache(256))
    assert seg.engines == EnginePlan(TORCH_BF16, TORCH_BF16, "measured")
    assert seg.precision == "bfloat16" and seg.cache_name == "sam_vit_b@bfloat16"
    assert seg._fast.product_dtype.is_floating_point and str(seg._fast.product_dtype) == "torch.bfloat16"
    exact = load_segmenter("sam_vit_b", registry=registry, precision="float32", cache=EmbeddingCache(256))
    assert exact.engines.source == "requested" and exact.cache_name == "sam_vit_b"
    onnx = load_segmenter("sam_vit_b_onnx", registry=registry)  # an explicit ONNX entry stays ONNX Runtime
    assert type(onnx).__name__ == "SamOnnxSegmenter" and onnx.cache_name == "sam_vit_b_onnx"


def test_sam2_adapter_chooses_torch_engines_apart(machine, registry) -> None:
    machine(AMD_FLAGS, {"encoder": {TORCH_FP32: 27.0, TORCH_BF16: 9.5, ONNX_FP32: 1.0},
                        "decoder": {TORCH_FP32: 0.03, TORCH_BF16: 0.035, ONNX_FP32: 0.001}})
    seg = load_segmenter("sam2.1_hiera_tiny", registry=registry, cache=EmbeddingCache(256))
    assert seg.engines == EnginePlan(TORCH_BF16, TORCH_FP32, "measured")  # never ONNX: SAM2 has no ONNX path
    assert seg.cache_name == "sam2.1_hiera_tiny@bfloat16" and str(seg._fast.product_dtype) == "torch.float32"


def test_onnx_encoder_with_torch_clicks(machine, registry, voc_image) -> None:
    """The measured mix: the encoder in ONNX Runtime (exported once, reusing the ``_onnx`` entry's export of
    the same file), clicks in the fused torch decoder; answers as torch float32's, cached apart."""
    from anylabel.backends.sam_onnx import find_export

    machine(LAPTOP_FLAGS, {"encoder": {TORCH_FP32: 20.0, TORCH_BF16: 1.0, ONNX_FP32: 10.0},
                           "decoder": {TORCH_FP32: 0.03, TORCH_BF16: 0.001, ONNX_FP32: 0.05}})
    cache = EmbeddingCache(256)
    exact = load_segmenter("sam_vit_b", registry=registry, precision="float32", cache=cache)
    messages = []
    with en.notices(messages.append):
        mixed = load_segmenter("sam_vit_b", registry=registry, cache=cache)
    assert mixed.engines == EnginePlan(ONNX_FP32, TORCH_FP32, "measured")
    assert mixed.cache_name == "sam_vit_b@onnx"
    spec = registry.get("sam_vit_b")
    assert find_export(spec, spec.path) is not None
    exact.set_image(voc_image, key="img")
    mixed.set_image(voc_image, key="img")
    assert sorted(cache.keys()) == [("sam_vit_b", "img"), ("sam_vit_b@onnx", "img")]  # never shared silently
    prompt = Prompt.from_clicks([(250, 200)])
    a, b = exact.predict(prompt), mixed.predict(prompt)
    assert np.allclose([c.score for c in a], [c.score for c in b], atol=1e-3)
    assert (a[0].mask == b[0].mask).mean() > 0.999
    # ONNX Runtime clicks too
    both = load_segmenter("sam_vit_b", registry=registry, cache=cache)
    both._use_engines(EnginePlan(TORCH_FP32, ONNX_FP32, "test"))
    from anylabel.backends.sam_onnx import OnnxSam

    both._onnx = OnnxSam(find_export(spec, spec.path), encoder=False)
    both.set_image(voc_image, key="img")
    c = both.predict(prompt)
    assert np.allclose([x.score for x in a], [x.score for x in c], atol=1e-3)


def test_large_checkpoints_are_not_exported_implicitly(machine, registry, monkeypatch, tmp_path) -> None:
    from anylabel.backends import onnx_engine

    machine(LAPTOP_FLAGS, {"encoder": {TORCH_FP32: 20.0, ONNX_FP32: 10.0},
                           "decoder": {TORCH_FP32: 0.03, ONNX_FP32: 0.05}})
    monkeypatch.setenv("ANYLABEL_CACHE_DIR", str(tmp_path / "no_exports"))  # no export to reuse
    monkeypatch.setattr(onnx_engine, "IMPLICIT_EXPORT_MAX_BYTES", 1)
    messages = []
    with en.notices(messages.append):
        seg = load_segmenter("sam_vit_b", registry=registry, cache=EmbeddingCache(64))
    assert seg.engines == EnginePlan(TORCH_FP32, TORCH_FP32, "fallback") and seg._onnx is None
    assert seg.cache_name == "sam_vit_b"
    assert any("not done implicitly" in m and "sam_vit_b_onnx" in m for m in messages)
    assert not (tmp_path / "no_exports" / "onnx").exists()


# ------------------------------------------------------------------------------ the real probe
def test_the_real_probe_measures_every_offered_engine() -> None:
    from anylabel.backends.engine_probe import probe

    candidates = en.offered(onnx=True)
    times = probe(candidates, budget_s=0.1)
    assert set(times) == set(en.ROLES)
    for role in en.ROLES:
        assert set(times[role]) == set(candidates)
        assert all(0 < s < 600 for s in times[role].values())
