"""How long each model's image encoder takes on *this* machine (measured, never guessed), and the order in
which a model picker offers the models.

Every encoder run of a segmenter (:meth:`anylabel.backends.promptable.CachedSegmenter.embedding`) records its
wall seconds here, under the machine's hardware (CPU model and core count, or the GPU's name) and the model
name, in ``<cache root>/encode_times.json``; the last :data:`KEEP` runs are kept and their median is what
the picker shows ("3.2 s / image here"). A measurement taken on other hardware (another CPU, the GPU) is
never shown for this one.

Order (:func:`offer_order`): on a machine with a GPU the registry's order (every model is fast enough there).
On a CPU-only machine the fast ones come first: models that need no file (the classical backend, the
fallback) keep their place at the top; the others are sorted by their measured median, and a model not
measured yet by an estimate from its file size (encoder cost grows with the parameter count), scaled by the
seconds per byte of the models already measured here, so a measurement always counts for more than the guess.
"""
from __future__ import annotations

import json
import logging
import statistics
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

from anylabel.models.spec import ModelSpec

log = logging.getLogger(__name__)

STORE_FILE = "encode_times.json"
#: runs kept per (machine, model): the median of the last few follows an upgrade without one odd run counting
KEEP = 5


def machine_of(device: str) -> str:
    """The hardware a measurement on torch ``device`` belongs to: ``cpu: <model> x<cores>`` or
    ``cuda: <GPU name>`` / ``mps``."""
    if str(device).startswith("cuda"):
        from anylabel.devices import describe_device

        return "cuda: " + describe_device(device).split(" (", 1)[-1].rstrip(")")
    if str(device) == "mps":
        return "mps"
    from anylabel.devices import cores, cpu_model

    return f"cpu: {cpu_model()} x{cores()}"


def format_seconds(seconds: float) -> str:
    """``0.42 s``, ``3.2 s``, ``18 s``: two significant digits, for the picker."""
    if seconds < 1:
        return f"{seconds:.2f} s"
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


class EncodeTimes:
    """The measured encoder seconds of every model, per machine, in one JSON file (atomic writes).

    ``{"<machine>": {"<model>": [seconds, ...]}}``; an unreadable file is measured afresh (and rewritten)."""

    def __init__(self, path: Optional[Path] = None) -> None:
        if path is None:
            from anylabel.models.registry import cache_root

            path = cache_root() / STORE_FILE
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> Dict[str, Dict[str, List[float]]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            log.warning("encode times %s unreadable (%s): starting afresh", self.path, e)
            return {}
        return data if isinstance(data, dict) else {}

    def record(self, model: str, device: str, seconds: float) -> None:
        """Add one encoder run of ``model`` on ``device`` (a torch device string)."""
        if not seconds > 0:
            return
        from anylabel.errors import AnylabelError
        from anylabel.fileio import atomic_write_json

        machine = machine_of(device)
        with self._lock:
            data = self._read()  # another process may have written meanwhile
            runs = [float(s) for s in data.setdefault(machine, {}).get(model, []) if isinstance(s, (int, float))]
            data[machine][model] = (runs + [float(f"{seconds:.4g}")])[-KEEP:]
            try:
                atomic_write_json(self.path, data)
            except AnylabelError as e:  # a read-only cache folder: the run is simply not remembered
                log.warning("cannot save the encode time of %s: %s", model, e)

    def medians(self, device: str = "cpu") -> Dict[str, float]:
        """Model name -> median encoder seconds measured on ``device``'s hardware."""
        runs = self._read().get(machine_of(device), {})
        out = {}
        for model, values in runs.items() if isinstance(runs, dict) else ():
            values = [float(v) for v in values if isinstance(v, (int, float)) and v > 0] \
                if isinstance(values, list) else []
            if values:
                out[model] = statistics.median(values)
        return out


@dataclass(frozen=True)
class Offer:
    """One model as a picker offers it: ``seconds`` measured here (None: not yet)."""

    spec: ModelSpec
    seconds: Optional[float]

    @property
    def label_suffix(self) -> str:
        """`` · 3.2 s / image here`` for a measured model, else ``""``."""
        return f" · {format_seconds(self.seconds)} / image here" if self.seconds is not None else ""


def offer_order(specs: Sequence[ModelSpec], measured: Dict[str, float], cpu_only: bool) -> List[Offer]:
    """``specs`` in the order to offer them, each with its measured seconds (see the module docstring)."""
    offers = [Offer(s, measured.get(s.name)) for s in specs]
    if not cpu_only:
        return offers
    per_byte = [measured[s.name] / s.size for s in specs if s.name in measured and s.size]
    scale = statistics.median(per_byte) if per_byte else 1.0

    def cost(offer: Offer) -> float:
        if offer.seconds is not None:
            return offer.seconds
        if offer.spec.size:
            return offer.spec.size * scale
        return float("inf")  # no size, no measurement: last

    fixed = [o for o in offers if not o.spec.needs_file]
    rest = sorted((o for o in offers if o.spec.needs_file), key=cost)  # stable: registry order on ties
    return fixed + rest


def cpu_only_machine() -> bool:
    """True when this machine has no CUDA GPU and no Apple ``mps`` (:func:`anylabel.devices.available_devices`)."""
    from anylabel.devices import available_devices

    return available_devices() == ["cpu"]


def picker_offers(specs: Iterable[ModelSpec], store: Optional[EncodeTimes] = None,
                  device: Optional[str] = None) -> List[Offer]:
    """What a model picker lists: ``specs`` ordered for this machine, with the encode times measured on the
    hardware ``device`` resolves to (None: the device setting, ``auto``)."""
    from anylabel.devices import DeviceError, resolve_device

    try:
        where = resolve_device(device)
    except DeviceError:
        where = "cpu"
    store = store if store is not None else EncodeTimes()
    return offer_order(list(specs), store.medians(where), cpu_only=cpu_only_machine())
