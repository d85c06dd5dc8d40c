"""The private upstream API anylabel calls, checked against the installed sam2 / segment-anything.

setup.py pins ``sam2`` and ``segment-anything`` to ranges containing the versions this table was checked on;
when a new upstream release is allowed, this test is what says whether our private calls still fit. Each
entry names the function, the module of ours that calls it and the keyword parameters it passes; a missing
function, a parameter we pass that is gone, or a new required parameter fails with one message naming the
function and the upstream version.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class PrivateCall:
    """One private upstream function we call (or wrap)."""

    distribution: str          # the PyPI distribution that ships it
    target: str                # module:Class.method
    caller: str                # our module that calls it
    passes: Tuple[str, ...]    # the parameters we pass by keyword (or positionally, in this order)


PRIVATE_CALLS = [
    PrivateCall("sam2", "sam2.sam2_video_predictor:SAM2VideoPredictor._run_single_frame_inference",
                "anylabel/tracking/session.py",
                ("inference_state", "output_dict", "frame_idx", "batch_size", "is_init_cond_frame",
                 "point_inputs", "mask_inputs", "reverse", "run_mem_encoder")),
    PrivateCall("sam2", "sam2.sam2_video_predictor:SAM2VideoPredictor._get_orig_video_res_output",
                "anylabel/tracking/session.py", ("inference_state", "any_res_masks")),
    # wrapped with (*args, **kwargs) and called by upstream's own _process_crop: only its existence and
    # upstream's call of it matter, checked below
    PrivateCall("segment-anything", "segment_anything:SamAutomaticMaskGenerator._process_batch",
                "anylabel/backends/auto_masks.py", ("points", "im_size", "crop_box", "orig_size")),
    PrivateCall("sam2", "sam2.automatic_mask_generator:SAM2AutomaticMaskGenerator._process_batch",
                "anylabel/backends/auto_masks.py", ("points", "im_size", "crop_box", "orig_size")),
    PrivateCall("sam2", "sam2.modeling.sam.mask_decoder:MaskDecoder._dynamic_multimask_via_stability",
                "anylabel/backends/fast_decoder.py", ("all_mask_logits", "all_iou_scores")),
]

#: private attributes we read or set on upstream objects: (distribution, module:Class, attribute, our module)
PRIVATE_ATTRIBUTES = [
    ("sam2", "sam2.sam2_image_predictor:SAM2ImagePredictor", "_features", "anylabel/backends/sam2.py"),
    ("sam2", "sam2.sam2_image_predictor:SAM2ImagePredictor", "_orig_hw", "anylabel/backends/auto_masks.py"),
    ("sam2", "sam2.sam2_image_predictor:SAM2ImagePredictor", "_is_image_set", "anylabel/backends/auto_masks.py"),
    ("sam2", "sam2.sam2_image_predictor:SAM2ImagePredictor", "_transforms", "anylabel/backends/sam2.py"),
]


def _resolve(target: str) -> Tuple[object, Optional[Callable]]:
    module, _, path = target.partition(":")
    obj: object = importlib.import_module(module)
    owner = obj
    for part in path.split("."):
        owner, obj = obj, getattr(obj, part, None)
        if obj is None:
            return owner, None
    return owner, obj  # type: ignore[return-value]


def signature_problem(call: PrivateCall, fn: Optional[Callable], version: str) -> Optional[str]:
    """What no longer fits between ``fn`` (upstream's function) and the parameters we pass, or None."""
    where = f"{call.distribution} {version}: {call.target.replace(':', '.')} (called by {call.caller})"
    if fn is None:
        return f"{where} does not exist any more"
    params = [p for p in inspect.signature(fn).parameters.values() if p.name != "self"]
    names = [p.name for p in params]
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params)
    gone = [n for n in call.passes if n not in names and not takes_kwargs]
    required = [p.name for p in params if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    new_required = [n for n in required if n not in call.passes]
    if gone or new_required:
        parts = ([f"no parameter(s) {gone} any more"] if gone else []) + (
            [f"new required parameter(s) {new_required}"] if new_required else [])
        return f"{where} changed: {'; '.join(parts)}; its signature is now {inspect.signature(fn)}"
    return None


def _pin(distribution: str) -> str:
    text = (ROOT / "setup.py").read_text(encoding="utf-8")
    m = re.search(rf'"{re.escape(distribution)}([<>=!~][^"]*)"', text)
    assert m, f"setup.py does not pin {distribution}"
    return m.group(1)


def _in_range(version: str, spec: str) -> bool:
    from packaging.specifiers import SpecifierSet

    return version in SpecifierSet(spec)


@pytest.mark.parametrize("call", PRIVATE_CALLS, ids=lambda c: c.target.split(":")[1])
def test_private_function_we_call_exists_with_the_parameters_we_pass(call: PrivateCall) -> None:
    version = importlib.metadata.version(call.distribution)
    _, fn = _resolve(call.target)
    problem = signature_problem(call, fn, version)
    assert problem is None, problem
    assert call.target.rsplit(".", 1)[1] in (ROOT / call.caller).read_text(encoding="utf-8"), \
        f"{call.caller} no longer uses {call.target}: remove it from this table (and maybe the pin)"


@pytest.mark.parametrize("target", ["segment_anything:SamAutomaticMaskGenerator",
                                    "sam2.automatic_mask_generator:SAM2AutomaticMaskGenerator"])
def test_generators_call_process_batch_through_the_instance(target: str) -> None:
    """auto_masks counts batches by replacing ``generator._process_batch`` on the instance: that works only
    while upstream calls it as ``self._process_batch(...)``."""
    _, cls = _resolve(target)
    src = inspect.getsource(cls)
    assert "self._process_batch(" in src, f"{target} no longer calls self._process_batch: progress and " \
        "cancel of 'everything' (anylabel/backends/auto_masks.py) would silently stop working"


@pytest.mark.parametrize("distribution,target,attribute,caller", PRIVATE_ATTRIBUTES,
                         ids=[a[2] for a in PRIVATE_ATTRIBUTES])
def test_private_attributes_we_use_are_set_by_upstream(distribution: str, target: str, attribute: str,
                                                       caller: str) -> None:
    version = importlib.metadata.version(distribution)
    _, cls = _resolve(target)
    src = inspect.getsource(cls)
    assert f"self.{attribute} =" in src, \
        f"{distribution} {version}: {target.replace(':', '.')} no longer sets {attribute} ({caller} uses it)"


@pytest.mark.parametrize("distribution", ["sam2", "segment-anything"])
def test_setup_py_pins_a_range_that_contains_the_installed_version(distribution: str) -> None:
    spec = _pin(distribution)
    version = importlib.metadata.version(distribution)
    assert "<" in spec, f"setup.py: {distribution}{spec} has no upper bound, though we call its private API"
    assert _in_range(version, spec), f"installed {distribution} {version} is outside setup.py's {spec}"


def test_a_changed_signature_fails_naming_the_function_and_version() -> None:
    """The checker itself: a renamed parameter and a new required one are both reported."""
    call = PrivateCall("sam2", "sam2.fake:Predictor._step", "anylabel/tracking/session.py", ("frame_idx", "reverse"))

    def renamed(self, frame_index, reverse):  # noqa: ANN001 - a stand-in for upstream
        return None

    def extra(self, frame_idx, reverse, direction):  # noqa: ANN001
        return None

    msg = signature_problem(call, renamed, "9.9")
    assert msg and "sam2 9.9" in msg and "sam2.fake.Predictor._step" in msg and "['frame_idx']" in msg
    msg = signature_problem(call, extra, "9.9")
    assert msg and "['direction']" in msg
    assert "does not exist" in signature_problem(call, None, "9.9")
    ok: List[str] = []
    assert signature_problem(call, lambda self, frame_idx, reverse, extra=None: ok, "9.9") is None


# ------------------------------------------------------------------ sam3 (optional: pip install "anylabel[sam3]")
HAS_SAM3 = importlib.util.find_spec("sam3") is not None
needs_sam3 = pytest.mark.skipif(not HAS_SAM3, reason="the optional sam3 package is not installed")
_TRACKER = "sam3.model.sam3_tracking_predictor:Sam3TrackerPredictor"
_SESSION = "anylabel/tracking/sam3_session.py"

SAM3_PRIVATE_CALLS = [
    PrivateCall("sam3", f"{_TRACKER}._run_single_frame_inference", _SESSION,
                ("inference_state", "output_dict", "frame_idx", "batch_size", "is_init_cond_frame",
                 "point_inputs", "mask_inputs", "reverse", "run_mem_encoder")),
    PrivateCall("sam3", f"{_TRACKER}._get_orig_video_res_output", _SESSION, ("inference_state", "any_res_masks")),
    PrivateCall("sam3", f"{_TRACKER}._add_output_per_object", _SESSION,
                ("inference_state", "frame_idx", "current_out", "storage_key")),
    PrivateCall("sam3", f"{_TRACKER}._clear_non_cond_mem_around_input", _SESSION, ("inference_state", "frame_idx")),
    # called positionally: (output_dict, reverse, frame, num_frames, r)
    PrivateCall("sam3", f"{_TRACKER}.frame_filter", "anylabel/tracking/sam3_model.py",
                ("output_dict", "track_in_reverse", "frame_idx", "num_frames", "r")),
    PrivateCall("sam3", f"{_TRACKER}.add_new_points_or_box", _SESSION,
                ("inference_state", "frame_idx", "obj_id", "points", "labels", "box", "clear_old_points",
                 "rel_coordinates")),
    PrivateCall("sam3", f"{_TRACKER}.init_state", _SESSION,
                ("video_height", "video_width", "num_frames", "cached_features")),
    PrivateCall("sam3", "sam3.model_builder:build_tracker", "anylabel/tracking/sam3_model.py",
                ("apply_temporal_disambiguation", "with_backbone")),
]

#: attributes of sam3's tracker we read or set: (module:Class that sets it, attribute, our module)
SAM3_ATTRIBUTES = [
    (_TRACKER, "clear_non_cond_mem_around_input", _SESSION),
    (_TRACKER, "add_all_frames_to_correct_as_cond", "anylabel/tracking/sam3_model.py"),
    ("sam3.model.sam3_tracker_base:Sam3TrackerBase", "low_res_mask_size", _SESSION),
    ("sam3.model.sam3_tracker_base:Sam3TrackerBase", "use_memory_selection", "anylabel/tracking/sam3_model.py"),
    ("sam3.model.sam3_tracker_base:Sam3TrackerBase", "mf_threshold", "anylabel/tracking/sam3_model.py"),
    ("sam3.model.sam3_tracker_base:Sam3TrackerBase", "max_obj_ptrs_in_encoder", "anylabel/tracking/sam3_model.py"),
    ("sam3.model.sam3_tracker_base:Sam3TrackerBase", "memory_temporal_stride_for_eval",
     "anylabel/tracking/sam3_model.py"),
]


@needs_sam3
@pytest.mark.parametrize("call", SAM3_PRIVATE_CALLS, ids=lambda c: c.target.split(":")[1])
def test_sam3_function_we_call_exists_with_the_parameters_we_pass(call: PrivateCall) -> None:
    version = importlib.metadata.version("sam3")
    _, fn = _resolve(call.target)
    problem = signature_problem(call, fn, version)
    assert problem is None, problem
    name = call.target.split(":")[1].rsplit(".", 1)[-1]
    assert name in (ROOT / call.caller).read_text(encoding="utf-8"), \
        f"{call.caller} no longer uses {call.target}: remove it from this table"


@needs_sam3
@pytest.mark.parametrize("target,attribute,caller", SAM3_ATTRIBUTES, ids=[a[1] for a in SAM3_ATTRIBUTES])
def test_sam3_attributes_we_use_are_set_by_upstream(target: str, attribute: str, caller: str) -> None:
    test_private_attributes_we_use_are_set_by_upstream("sam3", target, attribute, caller)
    assert attribute in (ROOT / caller).read_text(encoding="utf-8"), f"{caller} no longer uses {attribute}"


@needs_sam3
def test_sam3_tracker_workarounds_are_still_needed() -> None:
    """The two things anylabel/tracking/sam3_session.py works around in sam3 0.1.4's tracker, checked against the
    installed sam3 so that an upstream fix is noticed (then the workaround can go):

    * ``Sam3TrackerPredictor.init_state`` sets ``storage_device = torch.device("cuda")`` whatever the model's
      device (sam3_session sets it to the model's device), and
    * ``Sam3TrackerPredictor._get_image_feature`` and ``Sam3TrackerBase._prepare_memory_conditioned_features``
      call ``.cuda()`` on frames and memories (every call runs under ``sam3_device.on_device``, which sends
      them to the chosen device).
    """
    version = importlib.metadata.version("sam3")
    _, tracker = _resolve(_TRACKER)
    _, base = _resolve("sam3.model.sam3_tracker_base:Sam3TrackerBase")
    init = inspect.getsource(tracker.init_state)
    assert 'inference_state["storage_device"] = torch.device("cuda")' in init, \
        f"sam3 {version}: Sam3TrackerPredictor.init_state no longer names cuda for storage_device"
    assert ".cuda()" in inspect.getsource(tracker._get_image_feature), \
        f"sam3 {version}: Sam3TrackerPredictor._get_image_feature no longer calls .cuda()"
    assert ".cuda(" in inspect.getsource(base._prepare_memory_conditioned_features), \
        f"sam3 {version}: Sam3TrackerBase._prepare_memory_conditioned_features no longer calls .cuda()"
    assert 'storage_device"] = st["device"]' in (ROOT / _SESSION).read_text(encoding="utf-8")
