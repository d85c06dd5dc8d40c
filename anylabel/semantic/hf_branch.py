"""``hf:MODEL_DIR``: a transformers semantic segmenter (SegFormer and the other
``AutoModelForSemanticSegmentation`` architectures) saved with ``save_pretrained``. Optional extra
(``pip install -e ".[hf]"``).

The folder is read offline (``local_files_only``); weights in ``model.safetensors`` load without
unpickling. The class map is the processor's own post-processing (logits upsampled to the image size,
then argmax), and the names come from the model's ``id2label``. When the folder holds no
``preprocessor_config.json``, SegFormer's default processor (ImageNet normalisation, 512x512) is used.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Union

import numpy as np

from anylabel.errors import ModelError
from anylabel.semantic.branch import ClassMap, SemanticBranch

PathLike = Union[str, Path]


class HFBranch(SemanticBranch):
    """Class maps from a local transformers semantic-segmentation model folder."""

    def __init__(self, model_dir: PathLike, device: Optional[str] = "cpu") -> None:
        from anylabel.devices import resolve_device

        device = resolve_device(device)  # any name of anylabel.devices (DeviceError when absent)
        folder = Path(model_dir)
        if not (folder / "config.json").is_file():
            raise ModelError("not a transformers model folder (no config.json; save it with save_pretrained)", folder)
        try:
            import transformers
            from transformers import AutoModelForSemanticSegmentation
        except ImportError as e:
            raise ModelError('the hf branch needs transformers: pip install -e ".[hf]"', folder) from e
        try:
            self.model = AutoModelForSemanticSegmentation.from_pretrained(str(folder), local_files_only=True)
        except Exception as e:  # transformers raises ValueError/OSError/KeyError for foreign folders
            raise ModelError(f"cannot load a semantic segmentation model: {e}", folder) from e
        self.model.eval().to(device)
        self.processor = self._processor(transformers, folder)
        id2label = self.model.config.id2label or {}
        n = int(self.model.config.num_labels)
        self.names: List[str] = [str(id2label.get(i, id2label.get(str(i), f"class{i}"))) for i in range(n)]
        self.device = device
        self.name = f"hf:{folder}"
        self.folder = folder

    def _processor(self, transformers, folder: Path):
        if (folder / "preprocessor_config.json").is_file():
            try:
                return transformers.AutoImageProcessor.from_pretrained(str(folder), local_files_only=True)
            except Exception as e:  # a malformed processor config
                raise ModelError(f"cannot load the image processor: {e}", folder / "preprocessor_config.json") from e
        if getattr(self.model.config, "model_type", "") == "segformer":
            return transformers.SegformerImageProcessor()
        raise ModelError("no preprocessor_config.json next to the model (save the processor with "
                         "save_pretrained too)", folder)

    def class_map(self, image: Optional[np.ndarray], image_path: Optional[PathLike] = None) -> ClassMap:
        import torch

        image = self.pixels(image, image_path)
        h, w = image.shape[:2]
        try:
            inputs = self.processor(images=image, return_tensors="pt").to(self.device)
            with torch.inference_mode():
                outputs = self.model(**inputs)
            seg = self.processor.post_process_semantic_segmentation(outputs, target_sizes=[(h, w)])[0]
        except Exception as e:  # a model that cannot run on this input
            raise ModelError(f"semantic segmentation failed: {e}", image_path or self.folder) from e
        return np.ascontiguousarray(seg.cpu().numpy(), dtype=np.int32), list(self.names)

    def close(self) -> None:
        self.model = None
