"""``yolo:MODEL``: an ultralytics YOLO segmentation model as the semantic branch.

YOLO-seg gives instances (mask, class, confidence), not a class per pixel. They are rasterised into a
class map: every pixel starts as ``background`` (id 0) and each instance paints its mask with its class
id + 1, the least confident first, so where instances overlap the most confident one wins. Masks are
taken at the image's full resolution (``retina_masks=True``). ``background`` is a real class: SAM masks
on sky or road vote for it; add ``--ignore-id 0`` to make it abstain instead.

ultralytics runs offline here (the backends' ``ultralytics_offline``). ``.pt`` files are pickled modules:
they are read once and unpickled from memory with ultralytics' restricted loader, which refuses classes
other than ultralytics' own, like the FastSAM adapter does (:mod:`anylabel.models.ultralytics_loading`).
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np

from anylabel.errors import ModelError
from anylabel.semantic.branch import ClassMap, SemanticBranch

PathLike = Union[str, Path]

BACKGROUND = "background"


def rasterise_instances(
    masks: Sequence[np.ndarray], classes: Sequence[int], scores: Sequence[float], size: tuple
) -> np.ndarray:
    """Paint instance masks into an int32 class map of ``size`` = (h, w).

    Pixel value = class + 1 of the most confident instance covering it, 0 (background) elsewhere. Ties
    in confidence keep the later instance in input order (a stable sort), so the result is deterministic.
    """
    out = np.zeros(tuple(size), dtype=np.int32)
    order = np.argsort(np.asarray(scores, dtype=np.float64), kind="stable")
    for i in order:
        m = np.asarray(masks[i]) > 0.5 if np.asarray(masks[i]).dtype != np.bool_ else np.asarray(masks[i])
        if m.shape != out.shape:
            raise ValueError(f"instance mask {i} has shape {m.shape}, expected {out.shape}")
        out[m] = int(classes[i]) + 1
    return out


class YoloBranch(SemanticBranch):
    """Class maps from an ultralytics YOLO-seg checkpoint (``.pt``)."""

    def __init__(self, model: PathLike, conf: float = 0.25, imgsz: int = 640, device: Optional[str] = "cpu") -> None:
        from anylabel.backends.fastsam import ultralytics_offline
        from anylabel.devices import resolve_device

        device = resolve_device(device)  # any name of anylabel.devices; ultralytics' device argument takes it
        path = Path(model)
        if not path.is_file():
            raise ModelError("YOLO segmentation model not found", path)

        ultralytics_offline()  # never reach the network (fonts, weights, updates, telemetry)
        from anylabel.models.ultralytics_loading import load_ultralytics_model

        try:  # read once, restricted unpickling in memory: the file is not opened a second time
            from ultralytics import YOLO

            self.model = load_ultralytics_model(YOLO, path, task="segment")
        except ModelError:
            raise
        except Exception as e:  # ultralytics raises many types for foreign or corrupt files
            raise ModelError(f"cannot load as an ultralytics YOLO model: {e}", path) from e
        if getattr(self.model, "task", "segment") != "segment":
            raise ModelError(f"a YOLO {self.model.task} model, not a segmentation (-seg) model", path)
        names = self.model.names
        self.names: List[str] = [BACKGROUND] + [str(names[i]) for i in sorted(names)]
        self.conf, self.imgsz, self.device = float(conf), int(imgsz), device
        self.path = path
        self.name = f"yolo:{path}"

    def class_map(self, image: Optional[np.ndarray], image_path: Optional[PathLike] = None) -> ClassMap:
        image = self.pixels(image, image_path)
        h, w = image.shape[:2]
        try:
            # ultralytics reads numpy images as BGR (OpenCV's order); ours are RGB.
            result = self.model.predict(np.ascontiguousarray(image[..., ::-1]), conf=self.conf, imgsz=self.imgsz,
                                        retina_masks=True, verbose=False, device=self.device)[0]
        except Exception as e:  # a model that cannot run on this input
            raise ModelError(f"YOLO segmentation failed: {e}", image_path or self.path) from e
        if result.masks is None or len(result.masks) == 0:
            return np.zeros((h, w), dtype=np.int32), list(self.names)
        masks = result.masks.data.cpu().numpy()
        classes = result.boxes.cls.cpu().numpy().astype(np.int64)
        scores = result.boxes.conf.cpu().numpy()
        if masks.shape[1:] != (h, w):  # retina masks are at the original size; guard anyway
            from anylabel.semantic.voting import resize_class_map

            masks = np.stack([resize_class_map((m > 0.5).astype(np.int32), (h, w)) for m in masks])
        return rasterise_instances(masks, classes, scores, (h, w)), list(self.names)

    def close(self) -> None:
        self.model = None
