"""A tracking session on SAM 3's video tracker (``sam3``'s ``Sam3TrackerPredictor``), behind the interface of
:class:`~anylabel.tracking.session.TrackingSession`: prompts and corrections on any frame, propagation forward,
backward or both ways, progress and cancel, bounded memory, lazily decoded frames.

What is SAM 3's and what is ours:

* **One upstream inference state per object.** sam3's tracker keeps sam2 1.0's layout: one state for all
  objects, packed outputs, and no new object once tracking started ("Cannot add new object id ... after
  tracking starts"); upstream's single-object path (``clear_non_cond_mem_around_input`` applies to one
  object only) is its best supported one. Here each object has its own ``init_state`` state, so an object
  added on frame 30 after a propagation, a correction or a removal never touches the others, as with SAM2.
  The image features of the last frame are shared between the states (``init_state(cached_features=...)``):
  two objects on one frame cost one backbone run.
* **The propagation loop is ours**, per frame and object: the body of upstream's ``propagate_in_video``
  (``_run_single_frame_inference`` on the state's packed ``output_dict``, ``_add_output_per_object``,
  ``_clear_non_cond_mem_around_input`` on a conditioning frame, ``frames_already_tracked``); a test checks
  that the masks equal upstream's own ``propagate_in_video`` forward and backward.
* **Bounded memory**: after every frame the outputs the next frame's memory does not read are released
  (:func:`~anylabel.tracking.sam3_model.sam3_frames_read`; with memory selection upstream's own
  ``frame_filter`` says which).
* Coordinates: sam3's ``add_new_points_or_box`` takes coordinates relative to the frame (0..1,
  ``rel_coordinates=True``); the session's prompts are pixels, divided here by the frame's size.
* Every call into sam3 runs under :func:`anylabel.backends.sam3_device.on_device` (sam3 0.1.4 calls
  ``.cuda()`` on frames and memories and keeps ``storage_device = "cuda"``), in float32 unless bfloat16 is
  asked for (the memories are stored in bfloat16 by upstream, as on a GPU).
"""
from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Set

import numpy as np
import torch

from anylabel.backends.precision import requested_precision
from anylabel.backends.prompt import Prompt
from anylabel.tracking.frames import LazyFrameTensors
from anylabel.tracking.propagation import Pass
from anylabel.tracking.sam3_model import SAM3_MEAN, SAM3_STD, first_seen_after, sam3_frames_read
from anylabel.tracking.session import TrackingSession
from anylabel.tracking.state import FrameResult

#: every object's upstream state holds it as object index 0
_IDX = 0


class Sam3TrackingSession(TrackingSession):
    """SAM 3 video tracking over a lazily decoded video (the arguments of :class:`TrackingSession`; the
    predictor is a ``Sam3TrackerPredictor`` with a backbone: see
    :func:`~anylabel.tracking.sam3_model.build_sam3_tracker`)."""

    # ---------------------------------------------------------------------------- model hooks
    def _precision(self, precision: Optional[str]) -> str:
        # float32 unless bfloat16 is asked for: the engine probe has no SAM 3 measurement (as the image adapter)
        return "bfloat16" if requested_precision(precision) == "bfloat16" else "float32"

    def _frame_tensors(self) -> LazyFrameTensors:
        return LazyFrameTensors(self.frames, self.predictor.image_size, self.predictor.device,
                                mean=SAM3_MEAN, std=SAM3_STD)

    def _new_state(self, height: int, width: int) -> Dict[str, Any]:
        self._features: Dict[int, Any] = {}  # the last frame's image features, shared by the objects' states
        self._protect_pass: Optional[Pass] = None
        return {"objects": OrderedDict(), "video_height": int(height), "video_width": int(width)}

    @property
    def obj_ids(self) -> List[int]:
        return list(self.state["objects"])

    def _compute(self) -> Any:
        from anylabel.backends.sam3_device import on_device

        stack = super()._compute()
        stack.enter_context(on_device(self.device))
        return stack

    @contextmanager
    def _features_of(self, state: Dict[str, Any]) -> Iterator[Dict[str, Any]]:
        """Give ``state`` the shared image-feature cache, and take back what upstream put there (it replaces
        the dict on a cache miss)."""
        state["cached_features"] = self._features
        try:
            yield state
        finally:
            self._features = state["cached_features"]

    def _object_state(self, obj_id: int) -> Dict[str, Any]:
        st = self.state["objects"].get(obj_id)
        if st is None:
            st = self.predictor.init_state(video_height=self.state["video_height"],
                                           video_width=self.state["video_width"], num_frames=self.num_frames,
                                           cached_features=self._features)
            st["images"] = self.images
            st["storage_device"] = st["device"]  # init_state says "cuda" unless offloading: the model's device
        return st

    def _prompt_model(self, frame: int, obj_id: int, prompt: Prompt, previous_mask: Optional[np.ndarray]) -> np.ndarray:
        h, w = self.frames.size
        points = labels = box = None
        if len(prompt.points):
            points = prompt.points.astype(np.float32) / np.array([w, h], np.float32)
            labels = prompt.labels.astype(np.int32)
        if prompt.box is not None:
            box = np.asarray(prompt.box, np.float32) / np.array([w, h, w, h], np.float32)
        with self._compute():
            st = self._object_state(obj_id)
            injected = self._inject_previous_mask_into(st, frame, previous_mask)
            try:
                with self._features_of(st):
                    _, _, _, masks = self.predictor.add_new_points_or_box(
                        st, frame_idx=frame, obj_id=obj_id, points=points, labels=labels, box=box,
                        clear_old_points=True, rel_coordinates=True)
            except BaseException:
                if injected is not None:
                    injected.pop(frame, None)
                raise
        self.state["objects"][obj_id] = st  # a new object exists once its first prompt was answered
        return (masks[_IDX, 0] > 0).cpu().numpy()

    def _inject_previous_mask_into(self, st: Dict[str, Any], frame: int,
                                   mask: Optional[np.ndarray]) -> Optional[dict]:
        """As :meth:`TrackingSession._inject_previous_mask`: the object's current mask as the previous logits
        when the tracker released its own output of ``frame`` (sam3 looks in the same dicts as sam2)."""
        if mask is None or not st["frames_already_tracked"]:
            return None
        out_dict, temp = st["output_dict_per_obj"][_IDX], st["temp_output_dict_per_obj"][_IDX]
        logits = self._mask_as_logits(out_dict, temp, frame, mask, int(self.predictor.low_res_mask_size))
        if logits is None:
            return None
        temp["cond_frame_outputs"][frame] = {"pred_masks": logits}
        return temp["cond_frame_outputs"]

    def _remove_model(self, obj_id: int) -> None:
        del self.state["objects"][obj_id]

    def _reset_model(self) -> None:
        self.state["objects"].clear()  # the shared image features stay: the next click on this frame is fast

    def _preflight(self) -> None:
        for st in self.state["objects"].values():
            if any(st["temp_output_dict_per_obj"][_IDX][k] for k in ("cond_frame_outputs", "non_cond_frame_outputs")):
                with self._features_of(st):
                    self.predictor.propagate_in_video_preflight(st)

    def _cond_frames(self, obj_id: int) -> List[int]:
        return sorted(self.state["objects"][obj_id]["output_dict"]["cond_frame_outputs"])

    def _second_pass_protect(self, second: Optional[Pass]) -> Set[int]:
        # what the second pass reads depends on the scores the first one computes: decided per frame (_release)
        self._protect_pass = second
        return set()

    def _release(self, t: int, reverse: bool, objs: List[int], protect: Optional[Set[int]]) -> int:
        released = 0
        nxt = t - 1 if reverse else t + 1
        for obj_id in objs:
            st = self.state["objects"][obj_id]
            packed = st["output_dict"]
            keep = sam3_frames_read(self.predictor, packed, nxt, reverse, self.num_frames) | set(protect or ())
            second = self._protect_pass
            if second is not None and second.reverse != reverse:
                cond = self._cond_frames(obj_id)
                # the second pass starts next to the object's first prompt (both ways), else at its own start
                start = cond[0] if second.from_first_prompt and cond else second.start
                keep |= first_seen_after(self.predictor, packed, start, reverse)
            for out in (packed["non_cond_frame_outputs"], st["output_dict_per_obj"][_IDX]["non_cond_frame_outputs"]):
                for f in [f for f in out if f not in keep]:
                    del out[f]
                    released += out is packed["non_cond_frame_outputs"]
        return released

    def _stored(self) -> Dict[str, int]:
        states = list(self.state["objects"].values())
        return {
            "non_cond_frame_outputs": sum(len(s["output_dict"]["non_cond_frame_outputs"]) for s in states),
            "cond_frame_outputs": sum(len(s["output_dict"]["cond_frame_outputs"]) for s in states),
            "cached_features": len(self._features),
            "prompted_frames": sum(len(s["point_inputs_per_obj"][_IDX]) + len(s["mask_inputs_per_obj"][_IDX])
                                   for s in states),
        }

    def run(self, *args: Any, **kwargs: Any) -> Iterator[FrameResult]:
        try:
            yield from super().run(*args, **kwargs)
        finally:
            self._protect_pass = None

    # ------------------------------------------------------------------------------ one frame
    def _track_frame(self, t: int, objs: List[int], reverse: bool, from_first_prompt: bool = False) -> FrameResult:
        """Track every object of ``objs`` that exists on frame ``t`` (the rules of
        :meth:`TrackingSession._track_frame`), each in its own state as upstream's ``propagate_in_video``
        loop body does for one object."""
        p = self.predictor
        result = FrameResult(frame_index=t)
        for obj_id in objs:
            cond = self._cond_frames(obj_id)
            if not cond or (reverse and cond[0 if from_first_prompt else -1] < t) or (not reverse and cond[0] > t):
                continue  # the object is not introduced yet (in this direction)
            st = self.state["objects"][obj_id]
            packed = st["output_dict"]
            with self._features_of(st):
                if t in packed["cond_frame_outputs"]:
                    out = packed["cond_frame_outputs"][t]
                    key, pred = "cond_frame_outputs", out["pred_masks"]
                    if p.clear_non_cond_mem_around_input:
                        p._clear_non_cond_mem_around_input(st, t)
                else:
                    key = "non_cond_frame_outputs"
                    out, pred = p._run_single_frame_inference(
                        inference_state=st, output_dict=packed, frame_idx=t, batch_size=1, is_init_cond_frame=False,
                        point_inputs=None, mask_inputs=None, reverse=reverse, run_mem_encoder=True)
                    packed[key][t] = out
                p._add_output_per_object(st, t, out, key)
                st["frames_already_tracked"][t] = {"reverse": reverse}
                _, video_res = p._get_orig_video_res_output(st, pred)
            result.masks[obj_id] = (video_res[_IDX, 0] > 0).cpu().numpy()
            result.scores[obj_id] = float(torch.sigmoid(out["object_score_logits"].float()).reshape(-1)[0])
            result.labels[obj_id] = self.labels.get(obj_id, "")
        return result
