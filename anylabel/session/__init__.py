"""The annotation session: the state of the image being annotated and every operation on it, Qt-free.

See :mod:`anylabel.session.session` (:class:`AnnotationSession`), :mod:`anylabel.session.prompts` (typed
prompts, their version, the rules for stale answers and logits reuse) and :mod:`anylabel.session.folder`
(the image list and safe saves).
"""
from anylabel.session.folder import ChangedOnDiskError, ImageFolder
from anylabel.session.prompts import BoxPrompt, PlainAnswer, PointPrompt, PromptSet, is_current, logits_to_reuse
from anylabel.session.session import AnnotationSession, NothingToFinish

__all__ = ["AnnotationSession", "BoxPrompt", "ChangedOnDiskError", "ImageFolder", "NothingToFinish",
           "PlainAnswer", "PointPrompt", "PromptSet", "is_current", "logits_to_reuse"]
