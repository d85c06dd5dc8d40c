"""SAM 3 through Meta's official ``sam3`` package (github.com/facebookresearch/sam3; optional: ``pip install
"anylabel[sam3]"``): point and box prompts as for SAM, and text prompts that give one mask per instance.

The model is ``sam3.model_builder.build_sam3_image_model`` with its SAM-1-task interactive predictor
(``enable_inst_interactivity=True``) and the checkpoint given by the registry (``sam3.pt``, gated on Hugging
Face: nothing is downloaded by sam3 itself, ``load_from_HF=False``). One encoder run per image
(``Sam3Processor.set_image``: the shared vision backbone) serves both prompt kinds, cached as any embedding:

* clicks and boxes: ``model.predict_inst(state, ...)`` (upstream's SAM2-style predictor on SAM 3's features);
  its low-resolution logits (288x288) cover the whole image (stretched to the 1008-px square), and the shared
  base upsamples them on the mask's box only, as for SAM2;
* text: :meth:`segment_text` runs ``Sam3Processor.set_text_prompt`` and returns every instance above the
  confidence threshold (``settings.confidence_threshold``, upstream's 0.5), best first.

sam3 0.1.4 names ``"cuda"`` outright in a few places (facebookresearch/sam3 issue #587): every call into it runs
under :func:`anylabel.backends.sam3_device.on_device`, so the model runs on the CPU, ``cuda:N`` or ``mps`` too.

``everything`` is the text prompt ``settings.everything_text`` (default "object"): SAM 3 has no point-grid
generator of its own. The package ships no BPE vocabulary file in its wheel; the tokenizer's file is
``settings.bpe_path``, else the identical ``bpe_simple_vocab_16e6.txt.gz`` that open_clip ships.
"""
from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any, List, Optional, Tuple

import numpy as np

from anylabel.backends.base import Progress, report
from anylabel.backends.cache import EmbeddingCache
from anylabel.backends.engines import EnginePlan, torch_engine
from anylabel.backends.masks import tight_box
from anylabel.backends.precision import encoder_autocast, requested_precision
from anylabel.backends.prompt import Box, MaskCandidate
from anylabel.backends.promptable import Embedding, PromptableSegmenter
from anylabel.backends.sam3_device import on_device
from anylabel.errors import ModelError
from anylabel.models import ModelSpec


def bpe_path(settings: dict) -> str:
    """The tokenizer's BPE vocabulary: ``settings.bpe_path``, else open_clip's copy of the same file."""
    if settings.get("bpe_path"):
        return str(settings["bpe_path"])
    import open_clip

    path = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    if not path.is_file():
        raise ModelError("SAM 3 needs its BPE vocabulary (bpe_simple_vocab_16e6.txt.gz, from the sam3 repository's "
                         "assets/): give its path as settings.bpe_path", path)
    return str(path)


def build_sam3_model(settings: dict, checkpoint: Optional[Path], device: str) -> Any:
    """sam3's image model with the interactive (point / box) predictor, weights from ``checkpoint`` (None: random
    initialisation, for tests of the architecture), on ``device`` (any torch device: see ``sam3_device``)."""
    try:
        from sam3.model_builder import build_sam3_image_model
    except ImportError as e:
        raise ModelError(f"SAM 3 needs Meta's sam3 package (pip install \"anylabel[sam3]\"): {e}") from e
    printed = io.StringIO()
    try:
        # built on the CPU and then moved: sam3 moves a model only to "cuda" by itself
        with on_device("cpu"), contextlib.redirect_stdout(printed):
            model = build_sam3_image_model(bpe_path=bpe_path(settings), device="cpu", eval_mode=True,
                                           checkpoint_path=str(checkpoint) if checkpoint else None,
                                           load_from_HF=False, enable_segmentation=True,
                                           enable_inst_interactivity=True)
    except (RuntimeError, AssertionError, KeyError, ValueError, OSError, EOFError) as e:
        raise ModelError(f"cannot build SAM 3 from this checkpoint: {str(e).splitlines()[0][:200]}",
                         checkpoint) from e
    if "missing" in printed.getvalue():
        # sam3 loads with strict=False and only prints the names it did not find: a file that is not sam3.pt
        # would silently leave the model with random weights
        missing = printed.getvalue().count("'") // 2
        raise ModelError(f"this file is not a SAM 3 checkpoint (sam3.pt): {missing} of the model's weights are "
                         "not in it", checkpoint)
    with on_device(device):
        return model.to(device).eval()


class Sam3Segmenter(PromptableSegmenter):
    """SAM 3 on torch: clicks / boxes (SAM-1 task) and text prompts, on any torch device."""

    def __init__(self, spec: ModelSpec, checkpoint: Optional[Path], cache: Optional[EmbeddingCache] = None,
                 device: str = "cpu", precision: Optional[str] = None, model: Any = None) -> None:
        super().__init__(spec.name, cache)
        from anylabel.devices import resolve_device

        self.spec, self.device = spec, resolve_device(device)
        # float32 unless bfloat16 is asked for: sam3 has no CPU measurement in the engine probe
        chosen = requested_precision(precision)
        engine = torch_engine("bfloat16" if chosen == "bfloat16" else "float32")
        self._use_engines(EnginePlan(engine, engine, "requested"))
        self.model = model if model is not None else build_sam3_model(spec.settings, checkpoint, self.device)
        from sam3.model.sam3_image_processor import Sam3Processor

        with on_device(self.device):  # its constructor makes tensors on its device
            self.processor = Sam3Processor(self.model, device=self.device,
                                           confidence_threshold=float(spec.settings.get("confidence_threshold", 0.5)))

    def _encode(self, image: np.ndarray) -> Embedding:
        import torch
        from PIL import Image

        with torch.inference_mode(), encoder_autocast(self.precision, self.device), on_device(self.device):
            state = self.processor.set_image(Image.fromarray(image))  # a PIL image: its size is read as (w, h)
        # the low-resolution logits are 4x the smallest feature map (72 -> 288 at 1008 px) and cover the image
        low_res = 4 * float(self.model.inst_interactive_predictor._bb_feat_sizes[-1][0])
        return Embedding(orig_hw=tuple(image.shape[:2]), features=state, logit_hw=(low_res, low_res))

    def _decode(self, emb: Embedding, coords: np.ndarray, labels: np.ndarray, box: Optional[Box],
                mask_logits: Optional[np.ndarray], multimask: bool) -> Tuple[np.ndarray, np.ndarray]:
        import torch

        with torch.inference_mode(), on_device(self.device):
            _, scores, low_res = self.model.predict_inst(
                emb.features, point_coords=np.asarray(coords, np.float32) if len(coords) else None,
                point_labels=np.asarray(labels) if len(coords) else None,
                box=np.asarray(box, np.float32) if box is not None else None,
                mask_input=np.asarray(mask_logits, np.float32) if mask_logits is not None else None,
                multimask_output=multimask)
        return np.asarray(low_res, np.float32).reshape(-1, *low_res.shape[-2:]), np.asarray(scores).reshape(-1)

    def segment_text(self, text: str, image: Optional[np.ndarray] = None,
                     key: Optional[str] = None) -> List[MaskCandidate]:
        """One mask per instance of ``text`` ("every red car") in ``image`` (or the current image), best first."""
        import torch

        _, emb = self.everything_input(image, key)
        state = dict(emb.features)  # the cached features stay as they are; the prompt's results go here
        state["backbone_out"] = dict(state["backbone_out"])
        with torch.inference_mode(), on_device(self.device):
            out = self.processor.set_text_prompt(text, state)
        masks = out["masks"][:, 0].cpu().numpy().astype(bool)
        scores = out["scores"].float().cpu().numpy()
        order = np.argsort(-scores, kind="stable")
        return [MaskCandidate(mask=masks[i], score=float(scores[i]), logits=None, box=tight_box(masks[i]))
                for i in order if masks[i].any()]

    def everything(self, image: Optional[np.ndarray] = None, key: Optional[str] = None,
                   progress: Optional[Progress] = None) -> List[MaskCandidate]:
        """Every instance of ``settings.everything_text`` ("object"), largest first."""
        report(progress, 0, 1)
        found = self.segment_text(str(self.spec.settings.get("everything_text", "object")), image, key)
        report(progress, 1, 1)
        return sorted(found, key=lambda c: -int(c.mask.sum()))
