"""Measured encode times per machine and model, and the order a CPU-only machine is offered the models in."""
from __future__ import annotations

import json

import numpy as np

from anylabel.models import ModelSpec
from anylabel.models.speed import KEEP, EncodeTimes, format_seconds, machine_of, offer_order, picker_offers

MB = 1_000_000


def _spec(name: str, size=None, url: str = "https://example.org/m.pt") -> ModelSpec:
    return ModelSpec(name=name, family="sam", url=url if size else None, size=size)


SPECS = [_spec("classical"), _spec("sam_vit_b", 375 * MB), _spec("sam_vit_h", 2564 * MB),
         _spec("sam2.1_hiera_tiny", 156 * MB), _spec("mobile_sam", 41 * MB), _spec("fastsam_s", 24 * MB)]


def test_records_keep_the_last_runs_per_machine_and_model(tmp_path) -> None:
    store = EncodeTimes(tmp_path / "times.json")
    for seconds in (50.0, 9.0, 10.0, 11.0, 12.0, 10.5):
        store.record("sam_vit_b", "cpu", seconds)
    store.record("sam_vit_b", "mps", 0.4)  # other hardware: kept apart
    data = json.loads((tmp_path / "times.json").read_text())
    assert data[machine_of("cpu")]["sam_vit_b"] == [9.0, 10.0, 11.0, 12.0, 10.5][-KEEP:]  # the 50 s run dropped
    assert store.medians("cpu") == {"sam_vit_b": 10.5}
    assert store.medians("mps") == {"sam_vit_b": 0.4}
    assert machine_of("cpu").startswith("cpu: ") and machine_of("mps") == "mps"


def test_an_unreadable_store_starts_afresh(tmp_path) -> None:
    path = tmp_path / "times.json"
    path.write_text("{not json")
    store = EncodeTimes(path)
    assert store.medians("cpu") == {}
    store.record("mobile_sam", "cpu", 0.8)
    assert store.medians("cpu") == {"mobile_sam": 0.8}


def test_cpu_only_offers_the_fast_ones_first_measured_before_guessed() -> None:
    measured = {"sam_vit_b": 10.0, "sam2.1_hiera_tiny": 2.5, "fastsam_s": 30.0}  # fastsam slow despite its size
    order = [o.spec.name for o in offer_order(SPECS, measured, cpu_only=True)]
    # classical (no file) stays first; mobile_sam not measured: 41 MB at vit_b's / tiny's seconds per byte
    assert order == ["classical", "mobile_sam", "sam2.1_hiera_tiny", "sam_vit_b", "fastsam_s", "sam_vit_h"]
    offers = {o.spec.name: o for o in offer_order(SPECS, measured, cpu_only=True)}
    assert offers["sam_vit_b"].label_suffix == " · 10 s / image here"
    assert offers["mobile_sam"].seconds is None and offers["mobile_sam"].label_suffix == ""
    # nothing measured yet: by file size
    assert [o.spec.name for o in offer_order(SPECS, {}, cpu_only=True)] == [
        "classical", "fastsam_s", "mobile_sam", "sam2.1_hiera_tiny", "sam_vit_b", "sam_vit_h"]


def test_a_gpu_machine_keeps_the_registry_order() -> None:
    order = offer_order(SPECS, {"sam_vit_h": 0.3, "mobile_sam": 0.05}, cpu_only=False)
    assert [o.spec.name for o in order] == [s.name for s in SPECS]
    assert order[2].seconds == 0.3  # still shown


def test_format_seconds() -> None:
    assert [format_seconds(s) for s in (0.423, 3.25, 18.4)] == ["0.42 s", "3.2 s", "18 s"]


def test_picker_offers_use_the_machine_and_the_store(tmp_path, fake_gpus) -> None:
    store = EncodeTimes(tmp_path / "t.json")
    store.record("sam_vit_b", "cpu", 12.0)
    fake_gpus(cuda=0)
    assert [o.spec.name for o in picker_offers(SPECS, store)][:2] == ["classical", "fastsam_s"]
    fake_gpus(cuda=1)  # a GPU machine: registry order, times of the GPU (none measured there)
    offers = picker_offers(SPECS, store)
    assert [o.spec.name for o in offers] == [s.name for s in SPECS] and all(o.seconds is None for o in offers)


def test_every_encoder_run_is_recorded_for_the_picker(tmp_path, monkeypatch) -> None:
    from anylabel.backends import load_segmenter

    monkeypatch.setenv("ANYLABEL_CACHE_DIR", str(tmp_path))
    seg = load_segmenter("classical")
    image = np.zeros((40, 60, 3), np.uint8)
    seg.set_image(image, key="a")
    seg.set_image(image, key="a")  # cached: no encoder run, nothing recorded
    seg.set_image(image + 1, key="b")
    runs = json.loads((tmp_path / "encode_times.json").read_text())[machine_of("cpu")]["classical"]
    assert len(runs) == 2 and all(r > 0 for r in runs)
