"""A tracking session: prompt objects on any frame, propagate them through the video with SAM2's memory.

Built on ``sam2.sam2_video_predictor.SAM2VideoPredictor`` (its per-object inference state, its
``add_new_points_or_box`` and its single-frame tracking step), with four changes around it:

1. **Lazy frames.** The inference state is built here instead of by ``init_state`` (which decodes and
   keeps every frame); its ``images`` entry is a :class:`~anylabel.tracking.frames.LazyFrameTensors`.
2. **Bounded memory.** The propagation loop is ours; after every frame it releases the per-object
   outputs that the memory bank and the object pointers will not read again
   (:mod:`anylabel.tracking.memory`). Masks are handed out as :class:`FrameResult` and are not kept.
3. **Corrections and new objects mid-video.** Corrections use sam2's ``add_all_frames_to_correct_as_cond``
   (the corrected frame becomes a conditioning frame). sam2 >= 1.1 keeps one output dict per object
   and tracks every object in its own batch-of-one slice, so objects are independent; sam2's
   ``propagate_in_video`` nevertheless re-tracks *all* objects from the earliest prompt, which would
   recompute (and, with released memory, alter) the objects already tracked. Our loop tracks only the
   objects with new prompts ("pending") unless told otherwise, so adding a third object on frame 30
   leaves objects 1 and 2 exactly as they were, and a correction re-runs one object from its frame.
4. **Progress and cancel.** :meth:`TrackingSession.propagate` is a generator (one result per frame);
   :meth:`TrackingSession.cancel`, callable from another thread, stops it before the next frame. A lock
   serialises the session like sam2's demo server does, so a GUI worker thread and the GUI thread can
   share one session.

Coordinates: points and boxes are (x, y) pixels of the full-size frame; masks are bool HxW at the frame's
size. The model's calls sit in small hooks that :class:`~anylabel.tracking.sam3_session.Sam3TrackingSession`
overrides for SAM 3's tracker (one interface; :func:`anylabel.tracking.model.open_session` picks).
"""
from __future__ import annotations

import threading
from contextlib import ExitStack, contextmanager
from typing import Any, Dict, Iterator, List, Optional, Set

import numpy as np
import torch

from anylabel.backends.precision import GPU_AUTO, cuda_matmul_setup, encoder_autocast, resolve_precision
from anylabel.backends.prompt import Prompt
from anylabel.errors import TrackingError
from anylabel.imaging.video import FrameSource
from anylabel.tracking.frames import LazyFrameTensors
from anylabel.tracking.memory import release_outside, stored_outputs, trim_heap
from anylabel.tracking.propagation import Pass, Propagation, plan_passes, second_pass_reads
from anylabel.tracking.state import FrameResult, new_inference_state

#: frames between two heap trims during a propagation (see :func:`anylabel.tracking.memory.trim_heap`)
TRIM_EVERY = 8


class TrackingSession:
    """SAM2 video tracking over a lazily decoded video.

    Args:
        predictor: a ``SAM2VideoPredictor`` (see :func:`anylabel.tracking.model.build_video_predictor`).
            Its ``add_all_frames_to_correct_as_cond`` is switched on: corrections become conditioning frames.
        frames: the video's frames.
        release_memory: release per-frame outputs outside the memory window (on by default; off gives
            sam2's unbounded behaviour, for comparisons).
    """

    def __init__(self, predictor: Any, frames: FrameSource, release_memory: bool = True,
                 precision: Optional[str] = None) -> None:
        self.predictor = predictor
        # float32, or sam2 under bfloat16 autocast (as sam2's own GPU examples run it): ~3x faster on CPUs
        # with AMX (anylabel.backends.precision); None = $ANYLABEL_PRECISION or auto
        device = torch.device(predictor.device)
        self.device = "cuda:0" if device.type == "cuda" and device.index is None else str(device)
        self.precision = self._precision(precision)
        if self.precision == "bfloat16":
            cuda_matmul_setup(self.device)
        predictor.add_all_frames_to_correct_as_cond = True
        self.frames = frames
        self.release_memory = release_memory
        self.images = self._frame_tensors()
        h, w = frames.size
        self.state = self._new_state(h, w)
        self.labels: Dict[int, str] = {}
        self.pending: Dict[int, Set[int]] = {}  # obj id -> prompted frames not yet propagated through
        self.released = 0  # per-object frame outputs released so far
        self.last_run_cancelled = False
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._owner: Optional[int] = None

    # ------------------------------------------------ what differs between models (sam3_session overrides)
    def _precision(self, precision: Optional[str]) -> str:
        # on a GPU, auto = sam2's own choice there (bfloat16 autocast, TF32 for the rest)
        return resolve_precision(precision, self.device, gpu_auto=GPU_AUTO["sam2"])

    def _frame_tensors(self) -> LazyFrameTensors:
        return LazyFrameTensors(self.frames, self.predictor.image_size, self.predictor.device)

    def _new_state(self, height: int, width: int) -> Dict[str, Any]:
        return new_inference_state(self.predictor, self.images, height, width)

    def _preflight(self) -> None:
        self.predictor.propagate_in_video_preflight(self.state)

    def _second_pass_protect(self, second: Optional[Pass]) -> Set[int]:  # what the next pass reads: kept
        return set() if second is None else second_pass_reads(self.predictor, second, self.num_frames)

    def _release(self, t: int, reverse: bool, objs: List[int], protect: Optional[Set[int]]) -> int:
        nxt = t - 1 if reverse else t + 1
        idx = [self.state["obj_id_to_idx"][o] for o in objs]
        return release_outside(self.predictor, self.state, nxt, reverse, idx, keep=protect)

    def _stored(self) -> Dict[str, int]:
        return stored_outputs(self.state)

    def _remove_model(self, obj_id: int) -> None:
        self.predictor.remove_object(self.state, obj_id, strict=True, need_output=False)

    def _reset_model(self) -> None:
        self.predictor.reset_state(self.state)

    # ----------------------------------------------------------------------------------- queries
    @property
    def num_frames(self) -> int:
        return len(self.frames)

    @property
    def obj_ids(self) -> List[int]:
        """The ids of the objects that have prompts, in the order they were added."""
        return list(self.state["obj_ids"])

    def stats(self) -> Dict[str, int]:
        """What the tracker holds in memory (see :func:`anylabel.tracking.memory.stored_outputs`), plus
        the frames decoded and prepared so far and the outputs released."""
        out = self._stored()
        out.update(frames_decoded=self.frames.decoded, frames_prepared=self.images.prepared,
                   released=self.released)
        return out

    # ------------------------------------------------------------------------------ interaction
    def set_label(self, obj_id: int, label: str) -> None:
        """Give object ``obj_id`` a label (its class name)."""
        self.labels[int(obj_id)] = str(label)

    def add_prompt(self, frame: int, obj_id: int, prompt: Prompt, label: Optional[str] = None,
                   previous_mask: Optional[np.ndarray] = None) -> np.ndarray:
        """Set the clicks / box of object ``obj_id`` on ``frame`` and return its mask there.

        ``prompt`` is the object's complete input on that frame (it replaces earlier clicks on the same
        frame, which still refine the previous answer as SAM does). On a frame the object was already
        tracked on, this is a correction: the frame becomes a conditioning frame and the next
        :meth:`propagate` re-runs the object from it. A new ``obj_id`` may be added on any frame at any
        time; the other objects are not touched.

        Args:
            frame: frame index.
            obj_id: the object's id (becomes the shapes' ``track_id``).
            prompt: points (x, y pixels, labels 1/0) and/or a box; negative boxes are not supported by
                SAM2's video model.
            label: optional label for the object.
            previous_mask: bool HxW, the object's current mask on this frame (e.g. from the frame's
                annotation); used as the previous logits when the tracker no longer holds them.

        Returns:
            bool HxW mask of ``obj_id`` on ``frame``.
        """
        frame, obj_id = self._check_frame(frame), int(obj_id)
        if prompt.negative_boxes:
            raise TrackingError("negative boxes are not supported by SAM2 video tracking; use negative points")
        if prompt.is_empty():
            raise TrackingError(f"the prompt for object {obj_id} on frame {frame} has no positive point and no box")
        prompt = prompt.fit(self.frames.size)  # outside the frame: refused or clipped as by every backend
        with self._exclusive():
            mask = self._prompt_model(frame, obj_id, prompt, previous_mask)
            self.pending.setdefault(obj_id, set()).add(frame)
            if label is not None:
                self.labels[obj_id] = str(label)
            return mask

    def _prompt_model(self, frame: int, obj_id: int, prompt: Prompt, previous_mask: Optional[np.ndarray]) -> np.ndarray:
        """The model's answer to ``prompt`` (fitted to the frame) for ``obj_id`` on ``frame``: bool HxW."""
        points = labels = None
        if len(prompt.points):
            points = prompt.points.astype(np.float32)
            labels = prompt.labels.astype(np.int32)
        injected = self._inject_previous_mask(frame, obj_id, previous_mask)
        try:
            with self._compute():
                _, ids, masks = self.predictor.add_new_points_or_box(
                    self.state, frame_idx=frame, obj_id=obj_id, points=points, labels=labels,
                    box=prompt.box, clear_old_points=True, normalize_coords=True)
        except BaseException:
            if injected is not None:
                injected.pop(frame, None)
            raise
        return (masks[list(ids).index(obj_id), 0] > 0).cpu().numpy()

    def remove_object(self, obj_id: int) -> None:
        """Forget object ``obj_id`` (its prompts and tracker memory); shapes already written stay.

        Cancels a propagation running in another thread first."""
        obj_id = int(obj_id)
        self.cancel()
        with self._exclusive():
            if obj_id not in self.obj_ids:
                raise TrackingError(f"no object {obj_id} in the tracker (objects: {self.obj_ids})")
            with self._compute():
                self._remove_model(obj_id)
            self.labels.pop(obj_id, None)
            self.pending.pop(obj_id, None)

    def reset(self) -> None:
        """Clear the tracker: every object, prompt and memory. Annotations already written are not touched.

        Cancels a propagation running in another thread first. The image features of the last frame
        stay cached, so the next click on it is fast."""
        self.cancel()
        with self._exclusive():
            with self._compute():
                self._reset_model()
            self.labels.clear()
            self.pending.clear()

    def _compute(self) -> Any:
        """The context of every sam2 call: inference mode, in the session's precision."""
        stack = ExitStack()
        stack.enter_context(torch.inference_mode())
        stack.enter_context(encoder_autocast(self.precision, torch.device(self.predictor.device).type))
        return stack

    def cancel(self) -> None:
        """Ask a running :meth:`propagate` (in any thread) to stop before its next frame."""
        self._cancel.set()

    # ------------------------------------------------------------------------------ propagation
    def run(self, plan: Propagation = Propagation(), obj_ids: Optional[List[int]] = None) -> Iterator[FrameResult]:
        """Propagate as ``plan`` says (direction, range; see :mod:`anylabel.tracking.propagation`), yielding
        one :class:`FrameResult` per frame and pass (both ways: the forward frames, then the backward ones).

        ``obj_ids``: as in :meth:`propagate`. :meth:`frames_to_track` says how many results will come (for a
        progress bar); :meth:`cancel` stops between two frames, in either pass."""
        passes = self.passes(plan, obj_ids)
        objs = self._select_objects(obj_ids)
        for i, p in enumerate(passes):
            # what the next pass reads from this one is kept until it has read it (sam2's results, exactly)
            protect = self._second_pass_protect(passes[i + 1] if i + 1 < len(passes) else None)
            yield from self.propagate(p.start, p.end, p.reverse, objs, _protect=protect,
                                      _from_first_prompt=p.from_first_prompt)
            if self.last_run_cancelled:
                return

    def passes(self, plan: Propagation, obj_ids: Optional[List[int]] = None) -> List[Pass]:
        """The passes :meth:`run` makes for ``plan`` (raises TrackingError when nothing is prompted)."""
        if not self.obj_ids:
            raise TrackingError("nothing to track: prompt an object first")
        objs = self._select_objects(obj_ids)
        # prompted frames: consolidated conditioning outputs, and prompts sam2 consolidates at the next run
        cond = {o: sorted(set(self._cond_frames(o)) | self.pending.get(o, set())) for o in objs}
        return plan_passes(plan, self.num_frames, pending=[f for o in objs for f in self.pending.get(o, ())],
                           first_prompts=[c[0] for c in cond.values() if c],
                           prompts=[f for c in cond.values() for f in c])

    def frames_to_track(self, plan: Propagation, obj_ids: Optional[List[int]] = None) -> int:
        """How many :class:`FrameResult` :meth:`run` yields for ``plan`` (when not cancelled)."""
        return sum(len(p.frames) for p in self.passes(plan, obj_ids))

    def propagate(self, start: Optional[int] = None, end: Optional[int] = None, reverse: bool = False,
                  obj_ids: Optional[List[int]] = None, _protect: Optional[Set[int]] = None,
                  _from_first_prompt: bool = False) -> Iterator[FrameResult]:
        """Track objects frame by frame in one direction, yielding one :class:`FrameResult` per frame.

        Args:
            start: first frame (default: the earliest frame with a pending prompt, or with any prompt;
                the latest one when ``reverse``).
            end: last frame, inclusive (default: the last frame, or 0 when ``reverse``).
            reverse: track backwards in time.
            obj_ids: the objects to track (default: those with prompts not yet propagated, or all
                objects when none is pending). An object is tracked on frame ``t`` only from its first
                prompt on (up to its last prompt when ``reverse``).

        Progress is the generator itself; :meth:`cancel` (from any thread) or closing the generator stops
        it before the next frame, with ``last_run_cancelled`` set by a cancel. (:meth:`run` is the entry
        point for both ways and ranges; ``_protect`` / ``_from_first_prompt`` are its settings.)
        """
        with self._exclusive():
            self._cancel.clear()
            self.last_run_cancelled = False
            if not self.obj_ids:
                raise TrackingError("nothing to track: prompt an object first")
            try:
                with self._compute():
                    self._preflight()
            except RuntimeError as e:
                raise TrackingError(f"cannot propagate: {e}") from e
            objs = self._select_objects(obj_ids)
            order = self._frame_order(objs, start, end, reverse)
            for t in order:
                if self._cancel.is_set():
                    self.last_run_cancelled = True
                    return
                with self._compute():
                    result = self._track_frame(t, objs, reverse, _from_first_prompt)
                    if self.release_memory:
                        self.released += self._release(t, reverse, objs, _protect)
                        if (t - order.start) % TRIM_EVERY == TRIM_EVERY - 1:
                            trim_heap()
                for o in result.masks:
                    self.pending.get(o, set()).discard(t)
                yield result

    def _select_objects(self, obj_ids: Optional[List[int]]) -> List[int]:
        known = self.obj_ids
        if obj_ids is None:
            pending = [o for o in known if self.pending.get(o)]
            return pending or list(known)
        unknown = [o for o in obj_ids if o not in known]
        if unknown:
            raise TrackingError(f"no object(s) {unknown} in the tracker (objects: {list(known)})")
        return [int(o) for o in obj_ids]

    def _cond_frames(self, obj_id: int) -> List[int]:
        idx = self.state["obj_id_to_idx"][obj_id]
        return sorted(self.state["output_dict_per_obj"][idx]["cond_frame_outputs"])

    def _frame_order(self, objs: List[int], start: Optional[int], end: Optional[int], reverse: bool) -> range:
        if start is None:
            marks = ([f for o in objs for f in self.pending.get(o, ())]
                     or [f for o in objs for f in self._cond_frames(o)])
            start = max(marks) if reverse else min(marks)
        start = self._check_frame(start)
        end = self._check_frame(end) if end is not None else (0 if reverse else self.num_frames - 1)
        if reverse:
            return range(start, end - 1, -1) if end <= start else range(0)
        return range(start, end + 1) if end >= start else range(0)

    def _track_frame(self, t: int, objs: List[int], reverse: bool, from_first_prompt: bool = False) -> FrameResult:
        """Track every object of ``objs`` that exists on frame ``t``; mirrors the loop body of
        ``SAM2VideoPredictor.propagate_in_video`` for a subset of objects. Backwards, an object exists up
        to its latest prompt, or up to its first one with ``from_first_prompt`` (both ways: the frames
        after it were tracked forward)."""
        p, state = self.predictor, self.state
        result = FrameResult(frame_index=t)
        logits, present = [], []
        for obj_id in objs:
            cond = self._cond_frames(obj_id)
            if not cond or (reverse and cond[0 if from_first_prompt else -1] < t) or (not reverse and cond[0] > t):
                continue  # the object is not introduced yet (in this direction)
            obj_idx = state["obj_id_to_idx"][obj_id]
            out_dict = state["output_dict_per_obj"][obj_idx]
            if t in out_dict["cond_frame_outputs"]:
                out = out_dict["cond_frame_outputs"][t]
                pred = out["pred_masks"].to(state["device"], non_blocking=True)
            else:
                out, pred = p._run_single_frame_inference(
                    inference_state=state, output_dict=out_dict, frame_idx=t, batch_size=1,
                    is_init_cond_frame=False, point_inputs=None, mask_inputs=None, reverse=reverse,
                    run_mem_encoder=True)
                out_dict["non_cond_frame_outputs"][t] = out
            state["frames_tracked_per_obj"][obj_idx][t] = {"reverse": reverse}
            logits.append(pred)
            present.append((obj_id, float(torch.sigmoid(out["object_score_logits"].float()).reshape(-1)[0])))
        if logits:
            _, video_res = p._get_orig_video_res_output(state, torch.cat(logits, dim=0))
            masks = (video_res[:, 0] > 0).cpu().numpy()
            for (obj_id, score), mask in zip(present, masks):
                result.masks[obj_id] = mask
                result.scores[obj_id] = score
                result.labels[obj_id] = self.labels.get(obj_id, "")
        return result

    # ---------------------------------------------------------------------------------- helpers
    def _check_frame(self, frame: int) -> int:
        f = int(frame)
        if not 0 <= f < self.num_frames:
            raise TrackingError(f"frame {frame} out of range (the video has {self.num_frames} frames)",
                                self.frames.path)
        return f

    def _inject_previous_mask(self, frame: int, obj_id: int, mask: Optional[np.ndarray]) -> Optional[dict]:
        """Give sam2 the object's current mask on ``frame`` as the previous low-res logits when its own
        output for that frame was released (sam2 looks them up in the temporary outputs first)."""
        idx = self.state["obj_id_to_idx"].get(obj_id)
        if mask is None or idx is None:
            return None
        out_dict = self.state["output_dict_per_obj"][idx]
        temp = self.state["temp_output_dict_per_obj"][idx]
        logits = self._mask_as_logits(out_dict, temp, frame, mask, self.predictor.image_size // 4)  # sam2's low res
        if logits is None:
            return None
        key = "cond_frame_outputs" if self.predictor.add_all_frames_to_correct_as_cond else "non_cond_frame_outputs"
        temp[key][frame] = {"pred_masks": logits}
        return temp[key]

    def _mask_as_logits(self, out_dict: dict, temp: dict, frame: int, mask: np.ndarray,
                        low: int) -> Optional[torch.Tensor]:
        """``mask`` (bool HxW at the frames' size) as 1x1x``low``x``low`` previous logits for ``frame``, or None
        when the tracker still holds its own output of that frame (its output dicts ``out_dict`` / ``temp``)."""
        if any(frame in d for d in (out_dict["cond_frame_outputs"], out_dict["non_cond_frame_outputs"],
                                     temp["cond_frame_outputs"], temp["non_cond_frame_outputs"])):
            return None
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != tuple(self.frames.size):
            raise TrackingError(f"previous_mask is {mask.shape}, the frames are {self.frames.size}")
        m = torch.from_numpy(mask).float()[None, None].to(self.predictor.device)
        m = torch.nn.functional.interpolate(m, size=(low, low), mode="bilinear", align_corners=False)
        # SAM's mask-as-logits convention (sam2_base._use_mask_as_output): +10 inside, -10 outside.
        return m * 20.0 - 10.0

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the session lock; a call from inside this thread's running propagation is an error
        instead of a deadlock."""
        me = threading.get_ident()
        if self._owner == me:
            raise TrackingError("the tracker is propagating in this thread: finish or close the propagation first")
        self._lock.acquire()
        self._owner = me
        try:
            yield
        finally:
            self._owner = None
            self._lock.release()
