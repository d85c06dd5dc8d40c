"""Vocabularies (the names a user cares about) and the cache of their CLIP text embeddings.

A class name's embedding is CLIP's *prompt ensemble*: the name is put in each template ("a photo of a
{}."), each sentence is encoded and L2-normalised, the mean is normalised again (CLIP paper, section 3.1.4;
open_clip's ``build_zero_shot_classifier``). Embeddings are cached per (model, templates, name), so a
vocabulary, or any later vocabulary sharing its names (the SSA filter's per-mask candidate sets), runs the
text tower only for names it has not seen.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, Iterable, List, Sequence, Tuple, Union

from anylabel.errors import ConfigError, FormatError

#: Prompt templates: CLIP's default sentence plus two phrasings that fit masked crops.
DEFAULT_TEMPLATES: Tuple[str, ...] = ("a photo of a {}.", "a cropped photo of a {}.", "a close-up photo of a {}.")


def parse_vocabulary(spec: Union[str, Path, Sequence[str]]) -> List[str]:
    """The names of a vocabulary, in order, stripped, without duplicates or blanks.

    Args:
        spec: a list of names; or a path to a text file (one name per line, ``#`` comments; a labelme
            ``labels.txt`` works: ``__ignore__`` / ``_background_`` lines are skipped); or a string of
            comma-separated words (``"car, red car, person"``).

    Raises:
        FormatError: the file cannot be read. ConfigError: the vocabulary is empty.
    """
    if isinstance(spec, (list, tuple)):
        raw: Iterable[str] = spec
        where = "vocabulary"
    else:
        text = str(spec)
        path = Path(text).expanduser()
        looks_like_file = isinstance(spec, Path) or text.endswith((".txt", ".names", ".csv")) or "/" in text
        if looks_like_file and not path.is_file():
            raise FormatError("vocabulary file not found", path)
        if looks_like_file:
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as e:
                raise FormatError(f"cannot read vocabulary file: {e}", path) from e
            raw = [ln.split("#", 1)[0] for ln in lines]
            raw = [n for n in raw if n.strip() not in ("__ignore__", "_background_")]
            where = str(path)
        else:
            raw = text.split(",")
            where = f"vocabulary {text!r}"
    names: List[str] = []
    for name in raw:
        name = " ".join(str(name).split())
        if name and name not in names:
            names.append(name)
    if not names:
        raise ConfigError(f"{where}: no class names (give a file with one name per line, or 'a, b, c')")
    return names


class TextEmbeddingCache:
    """Normalised text embeddings of names, per (model name, templates, name); thread-safe, LRU-bounded.

    Attributes:
        encoder_calls: how many times the text tower ran (one call encodes every missing name at once).
        encoded_names: how many names were encoded in total (misses).
    """

    def __init__(self, max_entries: int = 20000) -> None:
        self.max_entries = max_entries
        self._store: "OrderedDict[Tuple[str, Tuple[str, ...], str], Any]" = OrderedDict()
        self._lock = threading.Lock()
        self.encoder_calls = 0
        self.encoded_names = 0

    def __len__(self) -> int:
        return len(self._store)

    def get(self, model: Any, names: Sequence[str], templates: Sequence[str] = DEFAULT_TEMPLATES,
            chunk: int = 256) -> Any:
        """The VxD float32 tensor of the names' embeddings (rows in the order of ``names``).

        Args:
            model: a :class:`~anylabel.classify.model.ClipModel` (its ``name`` is the cache key).
            names: class names or free text ("red car").
            templates: format strings with one ``{}``.
            chunk: at most this many sentences per text-tower batch.
        """
        import torch

        templates = tuple(templates)
        if not templates or any("{}" not in t for t in templates):
            raise ValueError(f"every template needs a '{{}}' placeholder, got {templates}")
        keys = [(model.name, templates, n) for n in names]
        with self._lock:
            missing = list(dict.fromkeys(k[2] for k in keys if k not in self._store))
        if missing:
            sentences = [t.format(n) for n in missing for t in templates]
            feats = torch.cat([model.encode_texts(sentences[i:i + chunk]) for i in range(0, len(sentences), chunk)])
            feats = feats.reshape(len(missing), len(templates), -1).mean(dim=1)
            feats = torch.nn.functional.normalize(feats, dim=-1)
            with self._lock:
                self.encoder_calls += 1
                self.encoded_names += len(missing)
                for name, f in zip(missing, feats):
                    self._store[(model.name, templates, name)] = f
        with self._lock:
            rows = []
            for k in keys:
                self._store.move_to_end(k)
                rows.append(self._store[k])
            while len(self._store) > self.max_entries:
                self._store.popitem(last=False)
        return torch.stack(rows) if rows else torch.zeros((0, 0))

    def clear(self) -> None:
        with self._lock:
            self._store.clear()

    def stats(self) -> Dict[str, int]:
        return {"entries": len(self._store), "encoder_calls": self.encoder_calls,
                "encoded_names": self.encoded_names}
