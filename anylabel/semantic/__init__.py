"""Semantic labels (SSA): a semantic branch gives every pixel a class, SAM-style masks vote for one.

Map:
    branch      ``SemanticBranch`` (class map + names) and names files
    labelmap, yolo_branch, hf_branch   the providers: ``labelmap:DIR``, ``yolo:MODEL``, ``hf:MODEL_DIR``
    spec        parses those ``--semantic`` strings
    voting      the vectorised vote: top-1 by pixel count, confidence, top-k, groups, ignore ids
    proposers   ``LabelProposer`` seam: the semantic vote, CLIP (``anylabel.classify``), their combination
    suggest     ``LabelSuggester`` for the GUI's label dialog (Qt-free, class map cached per image)
    autolabel   the batch pipeline: masks -> votes -> LabelMe JSON per image, resumable
    engines     where the pipeline runs: local or Ray Data

Heavy dependencies (torch, ultralytics, transformers, ray) are imported only by the modules that need them.
"""
from anylabel.semantic.branch import SemanticBranch, read_names
from anylabel.semantic.spec import parse_semantic_spec
from anylabel.semantic.voting import NO_VOTE, Proposal, Vote, vote_masks

__all__ = ["NO_VOTE", "Proposal", "SemanticBranch", "Vote", "parse_semantic_spec", "read_names", "vote_masks"]
