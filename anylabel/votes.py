"""The label types the SSA vote (:mod:`anylabel.semantic`) and CLIP (:mod:`anylabel.classify`) share.

They live here, below both packages, so that neither imports the other for its types: ``classify`` used to
import :class:`Vote` from ``semantic.voting`` while ``semantic`` imports ``classify`` for its CLIP branch,
a package cycle. Qt-free and dependency-free.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Optional, Tuple


@dataclass(frozen=True)
class Proposal:
    """One candidate class for a mask: its name, id and score (share of the voting pixels, 0..1)."""

    label: str
    class_id: int
    score: float


@dataclass(frozen=True)
class Vote:
    """The outcome of voting (or of a classifier) for one mask.

    Attributes:
        label: the winning class name, ``None`` when nothing voted.
        class_id: the winning id in the branch's names list, -1 when nothing voted.
        confidence: the winner's share of the voting pixels (or the classifier's probability), 0..1.
        proposals: the top-k candidates, best first (the winner is ``proposals[0]``).
        pixels: how many pixels voted (0 for an empty or fully ignored mask).
        source: what produced the vote, e.g. ``"semantic"`` or ``"clip"``.
    """

    label: Optional[str]
    class_id: int = -1
    confidence: float = 0.0
    proposals: Tuple[Proposal, ...] = field(default_factory=tuple)
    pixels: int = 0
    source: str = "semantic"

    @property
    def voted(self) -> bool:
        return self.label is not None

    def to_dict(self) -> dict:
        """JSON-ready form, as written into LabelMe shapes (see :mod:`anylabel.semantic.autolabel`)."""
        return {
            "label": self.label,
            "confidence": round(float(self.confidence), 6),
            "proposals": [{"label": p.label, "score": round(float(p.score), 6)} for p in self.proposals],
            "pixels": int(self.pixels),
            "source": self.source,
        }

    def suggestions(self) -> "list[LabelSuggestion]":
        """The proposals as label suggestions, best first (what the label dialog shows)."""
        return [LabelSuggestion(p.label, float(p.score)) for p in self.proposals]


NO_VOTE = Vote(label=None)


class LabelSuggestion(NamedTuple):
    """One proposed label for a mask and its confidence 0..1, as a label-suggestion provider returns it.

    A named tuple on purpose: the label dialog and the window's merging code read suggestions as
    ``(label, confidence)`` pairs, and keep working unchanged.
    """

    label: str
    confidence: float
