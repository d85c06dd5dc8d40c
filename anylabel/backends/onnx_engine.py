"""ONNX Runtime as the measured engine of the torch SAM adapter (:class:`~anylabel.backends.sam.SamSegmenter`).

When :mod:`anylabel.backends.engines` finds ONNX Runtime fastest for SAM's encoder (or its click decoder) on
this CPU, the torch adapter runs that part through the graphs of :mod:`anylabel.backends.sam_onnx`, exported
once per checkpoint. An export that already exists (written for this entry, or for the ``*_onnx`` entry of
the same file) is used at once. Otherwise:

* checkpoints up to :data:`IMPLICIT_EXPORT_MAX_BYTES` (SAM vit_b, 375 MB) are exported now, while the
  model loads (the GUI loads models on its worker thread, never the GUI thread); this costs ~40 s and ~4 GB
  of memory once (measured for vit_b on this project's 2-core machine) and ~370 MB of disk, and is
  announced through :func:`anylabel.backends.engines.notice` (status bar, CLI stderr, log);
* larger ones (vit_l 1.2 GB, vit_h 2.6 GB: minutes and tens of GB of memory to export, and vit_h is over
  the ONNX file format's 2 GB limit) are not exported implicitly: the fastest torch engine runs instead, and
  the notice names the ``*_onnx`` entry that exports on purpose.

An export that fails, or ONNX Runtime failing to load it, also falls back to torch with a notice.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Optional

from anylabel.backends.engines import ONNX_FP32, EnginePlan, choose, measured_times, notice, offered
from anylabel.errors import ModelError

log = logging.getLogger(__name__)

IMPLICIT_EXPORT_MAX_BYTES = 512 << 20


def _torch_fallback(plan: EnginePlan) -> EnginePlan:
    """``plan`` with its ONNX Runtime parts replaced by the fastest measured torch engine."""
    times = measured_times()
    torch_only = offered(onnx=False)

    def pick(role: str, engine: str) -> str:
        return choose(times[role], torch_only) if engine == ONNX_FP32 else engine

    return EnginePlan(pick("encoder", plan.encoder), pick("decoder", plan.decoder), "fallback")


def attach_onnx(seg: Any, spec: Any, checkpoint: Path, model: Any) -> Optional[Any]:
    """The :class:`~anylabel.backends.sam_onnx.OnnxSam` sessions for ``seg``'s ONNX Runtime parts (exporting
    if needed and allowed), or None after switching ``seg`` to torch engines (``seg._use_engines``)."""
    from anylabel.backends.sam_onnx import OnnxSam, export_sam_onnx, find_export, onnx_dir_for

    plan = seg.engines
    folder = find_export(spec, checkpoint)
    try:
        if folder is None:
            size = Path(checkpoint).stat().st_size
            if size > IMPLICIT_EXPORT_MAX_BYTES:
                onnx_name = f"{spec.name}_onnx"
                notice(f"{spec.name}: ONNX Runtime is the fastest encoder on this CPU, but exporting a "
                       f"{size / 2**30:.1f} GB checkpoint is not done implicitly; running "
                       f"{_torch_fallback(plan).encoder} (the model {onnx_name!r} exports and uses ONNX Runtime)")
                seg._use_engines(_torch_fallback(plan))
                return None
            folder = onnx_dir_for(spec, checkpoint)
            notice(f"{spec.name}: exporting the model to ONNX Runtime once (the engine chosen for this CPU; "
                   f"about a minute, into {folder})")
            t = time.perf_counter()
            export_sam_onnx(model, folder)
            notice(f"{spec.name}: ONNX export done in {time.perf_counter() - t:.0f} s")
        return OnnxSam(folder, encoder=plan.encoder == ONNX_FP32, decoder=plan.decoder == ONNX_FP32)
    except (ModelError, OSError, ImportError) as e:
        fallback = _torch_fallback(plan)
        log.warning("%s: ONNX Runtime engine unavailable (%s)", spec.name, e)
        notice(f"{spec.name}: ONNX Runtime unavailable ({e}); running {fallback.describe()}")
        seg._use_engines(fallback)
        return None
