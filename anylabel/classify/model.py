"""The two towers the classifier needs, behind one small interface.

:class:`ClipModel` is what :class:`~anylabel.classify.classifier.MaskClassifier` talks to: CLIP's own
image preprocessing, an image tower, a text tower (both L2-normalised) and the logit scale. The real
implementation wraps an open_clip ``CLIP``; tests plug in stand-in towers whose right answer is known.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, List, Sequence, Tuple

import numpy as np

#: CLIP's (OpenAI's) dataset mean and std, RGB in [0, 1]: the normalisation of every OpenAI/open_clip ViT.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ClipModel(ABC):
    """A contrastive image-text model.

    Attributes:
        name: identifies the weights; the text-embedding cache is keyed by it.
        image_size: the square input side of the image tower (224 for ViT-B/32 and ViT-L/14).
        mean: the RGB normalisation mean in [0, 1]; masked-out pixels are filled with it (see crops).
    """

    name: str = "clip"
    image_size: int = 224
    mean: Tuple[float, float, float] = CLIP_MEAN

    @property
    def fill_rgb(self) -> Tuple[int, int, int]:
        """The uint8 RGB colour that this model's normalisation maps to (about) zero."""
        return tuple(int(round(255 * c)) for c in self.mean)  # type: ignore[return-value]

    @abstractmethod
    def preprocess(self, crops: Sequence[np.ndarray]) -> Any:
        """A float tensor Bx3xSxS (S = ``image_size``) from HxWx3 uint8 RGB crops, normalised as CLIP's."""

    @abstractmethod
    def encode_images(self, batch: Any) -> Any:
        """BxD float32 L2-normalised image embeddings of a preprocessed batch."""

    @abstractmethod
    def encode_texts(self, texts: List[str]) -> Any:
        """TxD float32 L2-normalised text embeddings of ``texts`` (already templated)."""

    @property
    @abstractmethod
    def logit_scale(self) -> float:
        """CLIP's learned temperature (``exp(logit_scale)``, at most 100): softmax(scale * cos)."""


def _resize_centre_crop(image: Any, size: int) -> Any:
    """torchvision's Resize(size) (shortest side, PIL bicubic with antialias) then CenterCrop(size)."""
    from PIL import Image

    w, h = image.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(size * long / short)
    ow, oh = (size, new_long) if w <= h else (new_long, size)
    if (ow, oh) != (w, h):
        image = image.resize((ow, oh), Image.BICUBIC)
    top, left = int(round((oh - size) / 2.0)), int(round((ow - size) / 2.0))
    if (ow, oh) != (size, size):
        image = image.crop((left, top, left + size, top + size))
    return image


class OpenClipModel(ClipModel):
    """An open_clip ``CLIP`` with its tokenizer and CLIP's inference preprocessing.

    Args:
        model: an ``open_clip.model.CLIP`` in eval mode, float32.
        name: cache identity of the weights (registry name and file).
        device: a torch device string (``cpu``, ``cuda:0``, ``mps``; resolved, see :mod:`anylabel.devices`).
            The model runs there in float32 (as open_clip's ``create_model`` default); the normalised
            embeddings come back to the CPU once per batch, where the (small) similarity products happen.
    """

    def __init__(self, model: Any, name: str, device: str = "cpu") -> None:
        import open_clip
        import torch

        self.device = device
        self.precision = "float32"
        self.model = model.eval().to(device)
        self.name = name
        size = model.visual.image_size
        self.image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        cfg = getattr(model.visual, "preprocess_cfg", {}) or {}
        self.mean = tuple(cfg.get("mean", CLIP_MEAN))  # type: ignore[assignment]
        self.std = tuple(cfg.get("std", CLIP_STD))
        # CLIP's own eval transform (open_clip.image_transform): bicubic resize of the shortest side, centre
        # crop, normalise. Our crops are square, so the centre crop keeps everything.
        self._transform = open_clip.image_transform(
            self.image_size, is_train=False, mean=self.mean, std=self.std,
            resize_mode=cfg.get("resize_mode", "shortest"), interpolation=cfg.get("interpolation", "bicubic"),
        )
        self._numpy_path = cfg.get("resize_mode", "shortest") == "shortest" and \
            cfg.get("interpolation", "bicubic") == "bicubic"
        self._tokenizer = open_clip.tokenizer.SimpleTokenizer(context_length=int(model.context_length))
        with torch.no_grad():
            self._scale = float(model.logit_scale.exp().clamp(max=100.0))

    def preprocess(self, crops: Sequence[np.ndarray]) -> Any:
        import torch
        from PIL import Image

        if not self._numpy_path:
            return torch.stack([self._transform(Image.fromarray(np.ascontiguousarray(c))) for c in crops])
        # The same arithmetic as the transform, in numpy: torch's per-op threading made ToTensor/Normalize of
        # one 224x224 image cost milliseconds on a busy 2-core CPU (checked equal in tests/classify).
        out = np.empty((len(crops), 3, self.image_size, self.image_size), dtype=np.float32)
        mean = np.asarray(self.mean, np.float32) * 255.0
        scale = 1.0 / (np.asarray(self.std, np.float32) * 255.0)
        for i, crop in enumerate(crops):
            pixels = np.asarray(_resize_centre_crop(Image.fromarray(np.ascontiguousarray(crop)), self.image_size))
            out[i] = ((pixels.astype(np.float32) - mean) * scale).transpose(2, 0, 1)
        return torch.from_numpy(out)

    def encode_images(self, batch: Any) -> Any:
        import torch

        with torch.inference_mode():
            feats = self.model.encode_image(batch.to(self.device)).float()
            return torch.nn.functional.normalize(feats, dim=-1).cpu()  # the edge: once per batch

    def encode_texts(self, texts: List[str]) -> Any:
        import torch

        tokens = self._tokenizer(list(texts)).to(self.device)
        with torch.inference_mode():
            feats = self._encode_tokens(tokens).float()
            return torch.nn.functional.normalize(feats, dim=-1).cpu()

    def _encode_tokens(self, tokens: Any) -> Any:
        """``model.encode_text`` on the tokens up to the longest sentence instead of all 77 positions.

        CLIP's text tower is causal (each position attends only to earlier ones) and pools the EOT
        position, so the padding after the last EOT cannot change the result: dropping it gives the same
        embeddings at ~77/L the cost (L ~ 10 tokens for "a photo of a {}."). Checked against
        ``encode_text`` in tests/classify; models of another structure use ``encode_text`` as is.
        """
        m = self.model
        mask = getattr(m, "attn_mask", None)
        plain = all(hasattr(m, a) for a in ("token_embedding", "positional_embedding", "transformer", "ln_final"))
        if not plain or mask is None or getattr(m, "text_pool_type", "argmax") != "argmax":
            return m.encode_text(tokens)
        length = int((tokens != 0).any(dim=0).nonzero().max()) + 1 if tokens.any() else tokens.shape[1]
        tokens = tokens[:, :length]
        cast = m.transformer.get_cast_dtype()
        x = m.token_embedding(tokens).to(cast) + m.positional_embedding[:length].to(cast)
        x = m.ln_final(m.transformer(x, attn_mask=mask[:length, :length]))
        x = x[range(x.shape[0]), tokens.argmax(dim=-1)]  # the EOT token has the highest id
        proj = m.text_projection
        if proj is None:
            return x
        return proj(x) if callable(proj) and not hasattr(proj, "shape") else x @ proj

    @property
    def logit_scale(self) -> float:
        return self._scale
