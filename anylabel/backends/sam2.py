"""SAM2 / SAM2.1 image predictor (sam2 package): ``SAM2ImagePredictor`` for the embedding, SAM2's own prompt
encoder and mask decoder for clicks.

The model is built by sam2's ``build_sam2(config, checkpoint)`` from the entry's ``settings.config`` (a sam2
package config name such as ``configs/sam2.1/sam2.1_hiera_t.yaml``, or a hydra yaml file on disk; see
:mod:`anylabel.backends.sam2_build`), which loads the ``{"model": ...}`` checkpoint with
``weights_only=True``.

``predict`` computes what ``SAM2ImagePredictor._predict`` computes except the final full-resolution
upsampling, which the shared base does on the mask's box only; the mask decoder is evaluated by
:class:`~anylabel.backends.fast_decoder.FastMaskDecoder` (same weights and function, cheaper order). SAM2
stretches the image over its 1024x1024 input (no padding), so the whole 256x256 logit grid covers the image.
``everything`` runs sam2's automatic mask generator on the cached embedding.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional, Tuple

import numpy as np

from anylabel.backends.auto_masks import sam2_everything
from anylabel.backends.base import Progress
from anylabel.backends.cache import EmbeddingCache
from anylabel.backends.cpu import click_threads
from anylabel.backends.engines import EnginePlan
from anylabel.backends.prompt import Box, MaskCandidate
from anylabel.backends.promptable import Embedding
from anylabel.backends.sam2_build import build_sam2_model
from anylabel.backends.torch_promptable import TorchPromptableSegmenter
from anylabel.errors import ModelError
from anylabel.models import ModelSpec


class Sam2Segmenter(TorchPromptableSegmenter):
    """sam2's image predictor on torch, on any torch device (CPU by default)."""

    def __init__(self, spec: ModelSpec, checkpoint: Path, cache: Optional[EmbeddingCache] = None,
                 device: str = "cpu", precision: Optional[str] = None,
                 engines: Optional[EnginePlan] = None) -> None:
        super().__init__(spec.name, cache)
        # where, and the engines of the encoder and the clicks (anylabel.devices, anylabel.backends.engines):
        # bfloat16 autocast on CUDA GPUs with bfloat16, as sam2's own examples; on a CPU float32 or bfloat16
        # products, per role, as the probe measured (``engines`` given for benchmarks)
        device = self._use_device("sam2", device, precision, engines)
        config = spec.settings.get("config")
        if not config:
            raise ModelError(f"model {spec.name!r}: settings.config (the sam2 hydra config) is missing",
                             spec.source)
        model = build_sam2_model(str(config), checkpoint, video=False, device=device)
        self._setup(spec, model, model.sam_mask_decoder, model.sam_prompt_encoder, device)

    def _new_predictor(self) -> Any:
        from sam2.sam2_image_predictor import SAM2ImagePredictor

        return SAM2ImagePredictor(self.model)

    def _encode(self, image: np.ndarray) -> Embedding:
        p = self._encoded_predictor(image)
        features = p._features  # {"image_embed": 1x256x64x64, "high_res_feats": [1x32x256x256, 1x64x128x128]}
        # float32 whatever the encoder's precision: the decoder's per-image constants are float32
        features = {"image_embed": features["image_embed"].float(),
                    "high_res_feats": [f.float() for f in features["high_res_feats"]]}
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
        with click_threads(), torch.inference_mode():  # idle cores only (see anylabel.backends.cpu)
            state = self.prepared(emb)
            sparse, _ = self.model.sam_prompt_encoder(points=points, boxes=None, masks=None)
            # what SAM2ImagePredictor._predict's self.model.sam_mask_decoder(..., repeat_image=False,
            # high_res_features) call returns (dense embedding of mask_t), faster
            low_res, iou = self._fast(state, sparse, mask_t, multimask)
            low_res = torch.clamp(low_res, -32.0, 32.0)  # as SAM2ImagePredictor, for re-use as mask input
        return low_res[0].float().cpu().numpy(), iou[0].float().cpu().numpy()

    def _prepare(self, emb: Embedding) -> Any:
        """The decoder's per-image constants (first layer's image side; high-res features as sub-pixel rows)."""
        feats = emb.features
        high_res = None
        if self.model.sam_mask_decoder.use_high_res_features:
            high_res = [f[-1].unsqueeze(0).to(self.device) for f in feats["high_res_feats"]]
        with click_threads():
            return self._fast.prepare(feats["image_embed"][-1].unsqueeze(0).to(self.device), high_res)

    def everything(self, image: Optional[np.ndarray] = None, key: Optional[str] = None,
                   progress: Optional[Progress] = None) -> List[MaskCandidate]:
        """sam2's SAM2AutomaticMaskGenerator (options: ``everything_options``), largest mask first.

        The image's embedding comes from the cache (the encoder runs only for an image not encoded yet).
        """
        image, emb = self.everything_input(image, key)
        return sam2_everything(self.model, image, self.everything_options, emb.features, progress=progress)
