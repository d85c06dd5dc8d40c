"""SAM (segment-anything) in torch: ``SamPredictor`` for the image embedding, SAM's own prompt encoder and mask
decoder for clicks.

The model is built by segment-anything's builder for the entry's ``settings.model_type`` (vit_b / vit_l /
vit_h) and loaded from the verified checkpoint with ``weights_only=True``. An entry may describe a
non-standard encoder in ``settings.encoder`` (``embed_dim``, ``depth``, ``num_heads``,
``global_attn_indexes``): same classes, other sizes (the small random models of the tests).

``predict`` computes what ``SamPredictor.predict_torch`` computes except the final full-resolution
upsampling, which the shared base does on the mask's box only (see :mod:`anylabel.backends.masks`): SAM's
prompt encoder, then SAM's mask decoder evaluated by :class:`~anylabel.backends.fast_decoder.FastMaskDecoder`
(the same weights and function in a cheaper order; its per-image constants are computed at ``set_image``),
with as many threads as there are idle cores (:mod:`anylabel.backends.cpu`). The encoder and the clicks run
in the engines :mod:`anylabel.backends.engines` measures fastest on this CPU (``precision: auto``): torch
float32, torch bfloat16, or ONNX Runtime float32 through the exported graphs
(:mod:`anylabel.backends.onnx_engine`). ``everything`` runs segment-anything's automatic mask generator on
the cached embedding (:mod:`anylabel.backends.auto_masks`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from anylabel.backends.auto_masks import records_to_candidates, sam_everything  # noqa: F401 (re-exported)
from anylabel.backends.base import Progress
from anylabel.backends.cache import EmbeddingCache
from anylabel.backends.cpu import click_threads
from anylabel.backends.engines import ONNX_FP32, EnginePlan
from anylabel.backends.onnx_engine import attach_onnx
from anylabel.backends.prompt import Box, MaskCandidate
from anylabel.backends.promptable import Embedding
from anylabel.backends.torch_promptable import TorchPromptableSegmenter
from anylabel.errors import ModelError
from anylabel.models import ModelSpec, safe_torch_load

#: the families' names in messages, by upstream package
FAMILY_NAMES = {"segment_anything": "SAM", "mobile_sam": "MobileSAM", "segment_anything_hq": "SAM-HQ"}


def import_upstream(package: str) -> Any:
    """The upstream package, imported without its import-time noise: mobile_sam and segment_anything_hq each
    re-register timm's TinyViT names (a UserWarning per name) through timm's deprecated paths."""
    import importlib
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Overwriting tiny_vit", category=UserWarning)
        warnings.filterwarnings("ignore", message="Importing from timm", category=FutureWarning)
        return importlib.import_module(package)


def build_sam_model(settings: Dict[str, Any], checkpoint: Path, package: str = "segment_anything") -> Any:
    """A ``Sam`` of the upstream ``package`` in eval mode with the checkpoint's weights.

    ``package``: ``segment_anything``, or a package with its layout and builders (``mobile_sam``,
    ``segment_anything_hq``): ``sam_model_registry`` and ``build_sam._build_sam``. ``settings.encoder`` describes
    a non-standard encoder: for a ViT (``embed_dim``, ``depth``, ``num_heads``, ``global_attn_indexes``) the
    package's ``_build_sam`` with those sizes; for MobileSAM's TinyViT (``model_type: vit_t``) every keyword
    argument of the package's ``TinyViT`` (``embed_dims``, ``depths``, ...), built in place of the standard one.

    Raises:
        ModelError: unknown model_type, unreadable file, or weights of another architecture.
    """
    import importlib

    registry = import_upstream(package).sam_model_registry
    model_type = settings.get("model_type", "vit_h")
    if model_type not in registry:
        raise ModelError(f"unknown {package} model_type {model_type!r} (known: {', '.join(registry)})", checkpoint)
    state = safe_torch_load(checkpoint)
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        raise ModelError("this is a SAM2-style checkpoint ({'model': ...}), not a SAM state dict", checkpoint)
    if not isinstance(state, dict):
        raise ModelError(f"not a SAM state dict (got {type(state).__name__})", checkpoint)
    enc = settings.get("encoder")
    if enc and "embed_dims" in enc:  # a TinyViT (MobileSAM): the standard model with another encoder
        model = registry[model_type]()
        model.image_encoder = importlib.import_module(f"{package}.modeling").TinyViT(**enc)
    elif enc:
        model = importlib.import_module(f"{package}.build_sam")._build_sam(
            encoder_embed_dim=int(enc["embed_dim"]), encoder_depth=int(enc["depth"]),
            encoder_num_heads=int(enc["num_heads"]), encoder_global_attn_indexes=list(enc["global_attn_indexes"]))
    else:
        model = registry[model_type]()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).splitlines()[0]
        raise ModelError(f"weights do not fit {FAMILY_NAMES.get(package, package)} {model_type}: wrong architecture "
                         f"or corrupt file ({first})", checkpoint) from e
    return model.eval()


def logit_frame(input_hw: Tuple[int, int], img_size: int = 1024, low_res: int = 256) -> Tuple[float, float]:
    """The part of SAM's low-res logit grid that covers the image: SAM pads the resized image bottom/right."""
    scale = low_res / img_size
    return input_hw[0] * scale, input_hw[1] * scale


class SamSegmenter(TorchPromptableSegmenter):
    """segment-anything's SAM on torch, on any torch device (CPU by default).

    A family with segment-anything's design and package layout (MobileSAM, SAM-HQ) is a subclass that names
    its ``package``: the model, ``SamPredictor``, ``ResizeLongestSide`` and ``SamAutomaticMaskGenerator`` come
    from there; the cache, prefetch, devices, engines, fast decoder and mask-to-shape are this class's.
    """

    #: the upstream package (segment-anything's layout: sam_model_registry, SamPredictor, utils.transforms)
    package = "segment_anything"
    #: the family's key in anylabel.backends.precision.GPU_AUTO (what upstream runs on a GPU)
    gpu_family = "sam"
    #: the encoder may run in ONNX Runtime (exported from segment-anything's model; SAM only)
    onnx_export = True

    def __init__(self, spec: ModelSpec, checkpoint: Path, cache: Optional[EmbeddingCache] = None,
                 device: str = "cpu", precision: Optional[str] = None,
                 engines: Optional[EnginePlan] = None) -> None:
        super().__init__(spec.name, cache)
        # where, and the engines of the encoder and the clicks (anylabel.devices, anylabel.backends.engines):
        # float32 on CUDA, as segment-anything's SamPredictor; on a CPU what the probe measured fastest
        device = self._use_device(self.gpu_family, device, precision, engines, onnx=self.onnx_export)
        import importlib

        resize = importlib.import_module(f"{self.package}.utils.transforms").ResizeLongestSide
        model = build_sam_model(spec.settings, Path(checkpoint), self.package).to(device)
        self._onnx = attach_onnx(self, spec, Path(checkpoint), model) if self.engines.uses_onnx else None
        self._setup(spec, model, model.mask_decoder, model.prompt_encoder, device)
        self.transform = resize(self.model.image_encoder.img_size)

    def _new_predictor(self) -> Any:
        import importlib

        return importlib.import_module(self.package).SamPredictor(self.model)

    def _encode(self, image: np.ndarray) -> Embedding:
        if self.engines.encoder == ONNX_FP32:
            import torch

            features, hw = self._onnx.encode(image, self.transform)
            return Embedding(orig_hw=tuple(image.shape[:2]), features=torch.from_numpy(features), pre_scale=4,
                             logit_hw=logit_frame(hw, self._onnx.img_size))
        p = self._encoded_predictor(image)
        # float32 whatever the encoder's precision: the decoder's per-image constants are float32
        emb = Embedding(orig_hw=tuple(image.shape[:2]), features=p.features.float(), pre_scale=4,
                        logit_hw=logit_frame(p.input_size, p.model.image_encoder.img_size))
        p.reset_image()
        return emb

    def _decode(self, emb: Embedding, coords: np.ndarray, labels: np.ndarray, box: Optional[Box],
                mask_logits: Optional[np.ndarray], multimask: bool) -> Tuple[np.ndarray, np.ndarray]:
        if self.engines.decoder == ONNX_FP32:
            return self._onnx.decode(emb.features.numpy(), emb.orig_hw, self.transform, coords, labels, box,
                                     mask_logits, multimask)
        import torch

        points, box_t, mask_t = self._prompt_tensors(emb, coords, labels, box, mask_logits)
        with click_threads(), torch.inference_mode():  # idle cores only (see anylabel.backends.cpu)
            state = self.prepared(emb)
            sparse, _ = self.model.prompt_encoder(points=points, boxes=box_t, masks=None)
            # what self.model.mask_decoder(features, dense_pe, sparse, dense of mask_t, multimask) returns, faster
            low_res, iou = self._fast(state, sparse, mask_t, multimask)
        return low_res[0].float().cpu().numpy(), iou[0].float().cpu().numpy()

    def _prompt_tensors(self, emb: Embedding, coords: np.ndarray, labels: np.ndarray, box: Optional[Box],
                        mask_logits: Optional[np.ndarray]) -> Tuple[Any, Any, Any]:
        """The prompt as SamPredictor.predict hands it to the prompt encoder: (points (1xNx2 coords in the
        1024-px frame, 1xN labels) or None, 1x4 box or None, 1x1xhxw mask logits or None)."""
        import torch

        points = box_t = mask_t = None
        if len(coords):
            c = self.transform.apply_coords(np.asarray(coords, dtype=np.float64), emb.orig_hw)
            points = (torch.as_tensor(c, dtype=torch.float, device=self.device)[None],
                      torch.as_tensor(labels, dtype=torch.int, device=self.device)[None])
        if box is not None:
            b = self.transform.apply_boxes(np.asarray(box, dtype=np.float64)[None], emb.orig_hw)
            box_t = torch.as_tensor(b, dtype=torch.float, device=self.device)
        if mask_logits is not None:
            mask_t = torch.as_tensor(np.asarray(mask_logits, np.float32).reshape(1, 1, *mask_logits.shape[-2:]),
                                     device=self.device)
        return points, box_t, mask_t

    def _prepare(self, emb: Embedding) -> Any:
        """The decoder's per-image constants (the first layer's image side without a mask prompt)."""
        if self.engines.decoder == ONNX_FP32:
            return None
        with click_threads():
            return self._fast.prepare(emb.features.to(self.device))

    def everything(self, image: Optional[np.ndarray] = None, key: Optional[str] = None,
                   progress: Optional[Progress] = None) -> List[MaskCandidate]:
        """The package's SamAutomaticMaskGenerator (options: ``everything_options``), largest first.

        The image's embedding comes from the cache (the encoder runs only for an image not encoded yet).
        """
        image, emb = self.everything_input(image, key)
        return sam_everything(self.model, image, self.everything_options, emb.features, progress=progress,
                              package=self.package)
