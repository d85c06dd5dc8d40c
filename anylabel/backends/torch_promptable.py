"""What the torch SAM and SAM2 adapters share once their upstream model is built.

Both keep one upstream predictor per thread (its state, the current features, must not be shared between
the click thread and the prefetcher), tune the allocator on a CPU, evaluate the upstream mask decoder with
:class:`~anylabel.backends.fast_decoder.FastMaskDecoder` in the adapter's precision, and run the upstream
image encoder in that precision (:mod:`anylabel.backends.precision`). The adapters add only what differs:
how the model is built, what the predictor's ``set_image`` leaves behind, and how prompts are transformed.
"""
from __future__ import annotations

import threading
from abc import abstractmethod
from typing import Any, Dict, Optional

from anylabel.backends.cpu import tune_allocator
from anylabel.backends.engines import EnginePlan, plan_engines
from anylabel.backends.precision import GPU_AUTO, cuda_matmul_setup, encoder_autocast, torch_dtype
from anylabel.backends.promptable import PromptableSegmenter
from anylabel.models import ModelSpec

#: options of the upstream automatic mask generators for everything(); an entry's settings.everything
#: overrides them. 16 points per side instead of upstream's 32: 4x fewer decoder runs, for CPUs.
EVERYTHING_DEFAULTS: Dict[str, Any] = {"points_per_side": 16, "points_per_batch": 64}


class TorchPromptableSegmenter(PromptableSegmenter):
    """Base of :class:`~anylabel.backends.sam.SamSegmenter` and :class:`~anylabel.backends.sam2.Sam2Segmenter`."""

    def _setup(self, spec: ModelSpec, model: Any, mask_decoder: Any, prompt_encoder: Any, device: str) -> None:
        """Record the built upstream ``model`` and prepare its fast decoder (call after ``_use_device``)."""
        import torch

        from anylabel.backends.fast_decoder import FastMaskDecoder

        self.spec, self.model, self.device = spec, model, device
        self.everything_options: Dict[str, Any] = {**EVERYTHING_DEFAULTS, **spec.settings.get("everything", {})}
        self._local = threading.local()
        if device == "cpu":
            tune_allocator()  # a click's temporaries stay mapped: no page faults (anylabel.backends.cpu)
        elif self.precision == "bfloat16":
            cuda_matmul_setup(device)  # TF32 for the float32 rest, as sam2's GPU examples (no-op off CUDA)
        # the upstream mask decoder, evaluated in a CPU-friendly order (see anylabel.backends.fast_decoder)
        decoder_precision = self.engines.decoder_precision if self.engines is not None else self.precision
        with torch.inference_mode():
            self._fast = FastMaskDecoder(mask_decoder, prompt_encoder, torch_dtype(decoder_precision))

    def _use_device(self, family: str, device: str, precision: Optional[str],
                    engines: Optional[EnginePlan] = None, onnx: bool = False) -> str:
        """Resolve and record the device (any name of :mod:`anylabel.devices`) and the engines: ``engines``
        when given, else :func:`~anylabel.backends.engines.plan_engines` (on a GPU, ``auto`` is what
        ``family``'s upstream runs there, :data:`~anylabel.backends.precision.GPU_AUTO`; ``onnx``: the
        encoder may run in ONNX Runtime on a CPU)."""
        from anylabel.devices import resolve_device

        self.device = resolve_device(device)
        if engines is None:
            engines = plan_engines(precision, self.device, onnx=onnx and self.device == "cpu",
                                   gpu_auto=GPU_AUTO.get(family, "float32"))
        self._use_engines(engines)
        return self.device

    @abstractmethod
    def _new_predictor(self) -> Any:
        """A new upstream image predictor (SamPredictor / SAM2ImagePredictor) of ``self.model``."""

    def _predictor(self) -> Any:
        """This thread's upstream predictor."""
        p = getattr(self._local, "predictor", None)
        if p is None:
            p = self._local.predictor = self._new_predictor()
        return p

    def _encoded_predictor(self, image: Any) -> Any:
        """This thread's predictor after ``set_image(image)``: the upstream encoder, in the adapter's precision."""
        import torch

        p = self._predictor()
        with torch.inference_mode(), encoder_autocast(self.precision, self.device):
            p.set_image(image)
        return p
