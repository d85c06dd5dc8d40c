"""SAM-HQ (segment-anything's ViT with an extra high-quality output token) through its official package
``segment-anything-hq`` (module ``segment_anything_hq``, github.com/SysCV/sam-hq).

``segment_anything_hq`` has segment-anything's layout, so the adapter is
:class:`~anylabel.backends.sam.SamSegmenter` with another package (cache, prefetch, devices, engines,
mask-to-shape, ``everything`` through the package's generator). What differs is the decoder: HQ's image encoder
also returns the early ViT features (``interm_features``; its ``MaskDecoderHQ`` uses the first one), which are
kept in the embedding beside the image embedding, and a click runs upstream's ``MaskDecoderHQ`` itself (not the
fast decoder, which knows only SAM's tokens). As upstream's predictor, it answers one mask per prompt: the HQ
token's mask alone with ``settings.hq_token_only: true``, else (upstream's default) the best SAM mask plus the
HQ token's mask.
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

import numpy as np

from anylabel.backends.auto_masks import sam_everything
from anylabel.backends.base import Progress
from anylabel.backends.cpu import click_threads
from anylabel.backends.precision import encoder_autocast
from anylabel.backends.prompt import Box, MaskCandidate
from anylabel.backends.promptable import Embedding
from anylabel.backends.sam import SamSegmenter, logit_frame


class SamHqSegmenter(SamSegmenter):
    """SAM-HQ on torch, on any torch device (CPU by default)."""

    package = "segment_anything_hq"
    gpu_family = "sam_hq"  # float32 on a GPU, as SAM-HQ's predictor
    onnx_export = False

    @property
    def hq_token_only(self) -> bool:
        """Only the HQ output token's mask (``settings.hq_token_only``), else SAM's best mask + the HQ mask."""
        return bool(self.spec.settings.get("hq_token_only", False))

    def _encode(self, image: np.ndarray) -> Embedding:
        p = self._encoded_predictor(image)
        # float32 whatever the encoder's precision; only the first early feature map is used by MaskDecoderHQ
        features = {"embed": p.features.float(), "interm": p.interm_features[0].float()}
        emb = Embedding(orig_hw=tuple(image.shape[:2]), features=features, pre_scale=4,
                        logit_hw=logit_frame(p.input_size, p.model.image_encoder.img_size))
        p.reset_image()
        return emb

    def _prepare(self, emb: Embedding) -> Any:
        return None  # upstream's MaskDecoderHQ computes everything per click

    def _decode(self, emb: Embedding, coords: np.ndarray, labels: np.ndarray, box: Optional[Box],
                mask_logits: Optional[np.ndarray], multimask: bool) -> Tuple[np.ndarray, np.ndarray]:
        import torch

        points, box_t, mask_t = self._prompt_tensors(emb, coords, labels, box, mask_logits)
        feats = emb.features
        with click_threads(), torch.inference_mode(), \
                encoder_autocast(self.engines.decoder_precision, self.device):
            sparse, dense = self.model.prompt_encoder(points=points, boxes=box_t, masks=mask_t)
            # what segment_anything_hq's SamPredictor.predict_torch computes, before its full-size upsampling
            low_res, iou = self.model.mask_decoder(
                image_embeddings=feats["embed"].to(self.device), image_pe=self.model.prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense, multimask_output=multimask,
                hq_token_only=self.hq_token_only, interm_embeddings=[feats["interm"].to(self.device)])
        return low_res[0].float().cpu().numpy(), iou[0].float().cpu().numpy()

    def everything(self, image: Optional[np.ndarray] = None, key: Optional[str] = None,
                   progress: Optional[Progress] = None) -> List[MaskCandidate]:
        """segment_anything_hq's SamAutomaticMaskGenerator on the cached embedding, largest mask first."""
        import torch

        image, emb = self.everything_input(image, key)
        feats = emb.features
        interm = [torch.as_tensor(feats["interm"]).to(self.device)]
        return sam_everything(self.model, image, self.everything_options, feats["embed"], progress=progress,
                              package=self.package, predictor_state={"interm_features": interm})
