"""Run Meta's ``sam3`` package on the device asked for, although parts of it name ``"cuda"`` outright.

sam3 0.1.4 (the newest release on PyPI) creates some tensors on ``"cuda"`` whatever device the model was built
for: ``PositionEmbeddingSine`` precomputes its cache with ``torch.zeros(..., device="cuda")`` and
``TransformerDecoder`` its box coordinates with ``device="cuda"`` while the model is *built*
(facebookresearch/sam3 issues #587 and #550; pull requests #588 / #592, not released), ``pin_memory()`` is called
on the prompt path (geometry encoder) and ``.cuda()`` in the tracker. On a machine without a CUDA GPU that stops
the build, and on ``cuda:1`` it puts those tensors on the wrong GPU.

:func:`on_device` is the runtime workaround, without a copy of sam3's code: inside it, a torch function mode
rewrites every ``"cuda"`` device that a torch call names to the device asked for, turns ``Tensor.cuda()`` into
``Tensor.to(device)`` and makes ``pin_memory()`` a no-op off CUDA. The adapter enters it around each call into
sam3 (build, encoder, prompts). On the first CUDA GPU, sam3's own target, it is not entered at all.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch
from torch.overrides import TorchFunctionMode


def needs_redirect(device: str) -> bool:
    """True unless ``device`` is the GPU sam3 names by itself (``cuda`` / ``cuda:0``)."""
    target = torch.device(device)
    return not (target.type == "cuda" and (target.index or 0) == 0)


class CudaRedirect(TorchFunctionMode):
    """A torch function mode that sends to ``device`` what the code under it sends to ``"cuda"``."""

    def __init__(self, device: str) -> None:
        super().__init__()
        self.device = torch.device(device)

    def _fix(self, value: Any) -> Any:
        if isinstance(value, str) and value.split(":")[0] == "cuda":
            return self.device
        if isinstance(value, torch.device) and value.type == "cuda":
            return self.device
        return value

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func is torch.Tensor.cuda:  # .cuda(device=None, non_blocking=False)
            return args[0].to(self.device, non_blocking=bool(kwargs.get("non_blocking", False)))
        if func is torch.Tensor.pin_memory and self.device.type != "cuda":
            return args[0]  # pinned host memory needs a CUDA driver and only speeds up copies to one
        if "device" in kwargs:
            kwargs["device"] = self._fix(kwargs["device"])
        if func is torch.Tensor.to and len(args) > 1:  # .to("cuda") / .to(torch.device("cuda"), ...)
            args = (args[0], self._fix(args[1]), *args[2:])
        return func(*args, **kwargs)


@contextlib.contextmanager
def on_device(device: str) -> Iterator[None]:
    """Run the body's torch calls with every ``"cuda"`` they name replaced by ``device`` (see the module)."""
    if not needs_redirect(device):
        yield
        return
    with CudaRedirect(device):
        yield
