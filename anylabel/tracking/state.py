"""What a tracking session hands out per frame, and the inference state it gives sam2's predictor."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

import numpy as np

from anylabel.geometry import mask_to_box

if TYPE_CHECKING:  # frames imports torch; building a FrameResult (anylabel export, tests) must not
    from anylabel.tracking.frames import LazyFrameTensors


@dataclass
class FrameResult:
    """The masks of the objects tracked on one frame.

    Attributes:
        frame_index: the frame's index in the video.
        masks: object id -> bool HxW mask at the frame's size (empty when the object is not visible).
        scores: object id -> probability that the object is visible (sigmoid of sam2's object score).
        labels: object id -> label ("" when none was given).
    """

    frame_index: int
    masks: Dict[int, np.ndarray] = field(default_factory=dict)
    scores: Dict[int, float] = field(default_factory=dict)
    labels: Dict[int, str] = field(default_factory=dict)

    @property
    def obj_ids(self) -> List[int]:
        return list(self.masks)

    def box(self, obj_id: int) -> Optional[Tuple[float, float, float, float]]:
        """The tight (x1, y1, x2, y2) box of an object's mask, ``None`` when the mask is empty."""
        return mask_to_box(self.masks[obj_id])


def new_inference_state(predictor: Any, images: LazyFrameTensors, height: int, width: int) -> Dict[str, Any]:
    """The dict ``SAM2VideoPredictor.init_state`` builds, with lazy ``images`` and no frame pre-loaded.

    Keys and meanings are sam2's (``sam2_video_predictor.py``); a test checks that they match
    ``init_state``'s so that an upstream change is noticed.
    """
    device = predictor.device
    return {
        "images": images,
        "num_frames": len(images),
        "offload_video_to_cpu": False,
        "offload_state_to_cpu": False,
        "video_height": int(height),
        "video_width": int(width),
        "device": device,
        "storage_device": device,
        "point_inputs_per_obj": {},
        "mask_inputs_per_obj": {},
        "cached_features": {},
        "constants": {},
        "obj_id_to_idx": OrderedDict(),
        "obj_idx_to_id": OrderedDict(),
        "obj_ids": [],
        "output_dict_per_obj": {},
        "temp_output_dict_per_obj": {},
        "frames_tracked_per_obj": {},
    }
