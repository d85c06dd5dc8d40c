"""SAM2 / SAM2.1 image predictor (sam2 package): ``SAM2ImagePredictor`` for the embedding, SAM2's own prompt
encoder and mask decoder for clicks.

The model is built by sam2's ``build_sam2(config, checkpoint)`` from the entry's ``settings.config`` (a sam2
package config name such as ``configs/sam2.1/sam2.1_hiera_t.yaml``, or a hydra yaml file on disk; see
:mod:`anylabel.backends.sam2_build`), which loads the ``{"model": ...}`` checkpoint with
``weights_only=True``.

``predict`` makes the calls of ``SAM2ImagePredictor._predict`` except the final full-resolution upsampling,
which the shared base does on the mask's box only. SAM2 stretches the image over its 1024x1024 input (no
padding), so the whole 256x256 logit grid covers the image.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from anylabel.backends.cache import EmbeddingCache
from anylabel.backends.prompt import Box, MaskCandidate
from anylabel.backends.promptable import Embedding, PromptableSegmenter
from anylabel.backends.sam import records_to_candidates
from anylabel.backends.sam2_build import build_sam2_model
from anylabel.errors import ModelError
from anylabel.models import ModelSpec

#: SAM2AutomaticMaskGenerator options for everything(); settings.everything overrides (16: CPU-friendly).
EVERYTHING_DEFAULTS: Dict[str, Any] = {"points_per_side": 16, "points_per_batch": 64}


class Sam2Segmenter(PromptableSegmenter):
    """sam2's image predictor on torch (CPU by default)."""

    def __init__(self, spec: ModelSpec, checkpoint: Path, cache: Optional[EmbeddingCache] = None,
                 device: str = "cpu") -> None:
        super().__init__(spec.name, cache)
        config = spec.settings.get("config")
        if not config:
            raise ModelError(f"model {spec.name!r}: settings.config (the sam2 hydra config) is missing",
                             spec.source)
        self.spec = spec
        self.device = device
        self.model = build_sam2_model(str(config), checkpoint, video=False, device=device)
        self.everything_options: Dict[str, Any] = {**EVERYTHING_DEFAULTS, **spec.settings.get("everything", {})}
        self._local = threading.local()
        self._pe: Any = None
        # The decoder's transposed convolutions run ~3x faster with channels-last weights (oneDNN path instead
        # of im2col copies; measured 53 -> 16 ms per click on this CPU). Same arithmetic, same results.
        import torch

        self.model.sam_mask_decoder.to(memory_format=torch.channels_last)

    def _dense_pe(self) -> Any:
        """The prompt encoder's positional encoding of the embedding grid: constant, so computed once."""
        if self._pe is None:
            self._pe = self.model.sam_prompt_encoder.get_dense_pe()
        return self._pe

    def _predictor(self) -> Any:
        """One SAM2ImagePredictor per thread: its state (the current features) must not be shared."""
        p = getattr(self._local, "predictor", None)
        if p is None:
            from sam2.sam2_image_predictor import SAM2ImagePredictor

            p = self._local.predictor = SAM2ImagePredictor(self.model)
        return p

    def _encode(self, image: np.ndarray) -> Embedding:
        import torch

        p = self._predictor()
        with torch.inference_mode():
            p.set_image(image)
        features = p._features  # {"image_embed": 1x256x64x64, "high_res_feats": [1x32x256x256, 1x64x128x128]}
        p.reset_predictor()
        low_res = 4 * features["image_embed"].shape[-1]
        return Embedding(orig_hw=tuple(image.shape[:2]), logit_hw=(low_res, low_res), features=features)

    def _decode(self, emb: Embedding, coords: np.ndarray, labels: np.ndarray, box: Optional[Box],
                mask_logits: Optional[np.ndarray], multimask: bool) -> Tuple[np.ndarray, np.ndarray]:
        import torch

        transforms = self._predictor()._transforms
        dev = self.device
        point_list = []
        if box is not None:  # sam2 feeds a box as two corner points labelled 2 and 3, before the clicks
            b = transforms.transform_boxes(torch.as_tensor(box, dtype=torch.float, device=dev)[None],
                                           normalize=True, orig_hw=emb.orig_hw)
            point_list.append((b.reshape(1, 2, 2), torch.tensor([[2, 3]], dtype=torch.int, device=dev)))
        if len(coords):
            c = transforms.transform_coords(torch.as_tensor(coords, dtype=torch.float, device=dev),
                                            normalize=True, orig_hw=emb.orig_hw)
            point_list.append((c[None], torch.as_tensor(labels, dtype=torch.int, device=dev)[None]))
        points = (torch.cat([p[0] for p in point_list], dim=1), torch.cat([p[1] for p in point_list], dim=1))
        mask_t = None
        if mask_logits is not None:
            m = np.asarray(mask_logits, np.float32)
            mask_t = torch.as_tensor(m.reshape(1, 1, *m.shape[-2:]), device=dev)
        feats = emb.features
        with torch.inference_mode():
            sparse, dense = self.model.sam_prompt_encoder(points=points, boxes=None, masks=mask_t)
            low_res, iou, _, _ = self.model.sam_mask_decoder(
                image_embeddings=feats["image_embed"][-1].unsqueeze(0),
                image_pe=self._dense_pe(),
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
                multimask_output=multimask,
                repeat_image=False,
                high_res_features=[f[-1].unsqueeze(0) for f in feats["high_res_feats"]],
            )
            low_res = torch.clamp(low_res, -32.0, 32.0)  # as SAM2ImagePredictor, for re-use as mask input
        return low_res[0].float().cpu().numpy(), iou[0].float().cpu().numpy()

    def everything(self, image: Optional[np.ndarray] = None) -> List[MaskCandidate]:
        """sam2's SAM2AutomaticMaskGenerator (options: ``everything_options``), largest mask first."""
        import torch
        from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator

        image = self.everything_image(image)
        generator = SAM2AutomaticMaskGenerator(self.model, **self.everything_options)
        with torch.inference_mode():
            records = generator.generate(image)
        return records_to_candidates(records)
