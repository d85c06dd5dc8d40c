"""The model registry: every models file merged, where each model's file lives, and getting it verified.

Models files are read in this order, each overriding the previous ones by name:

1. the ``models.yaml`` shipped inside the package (``anylabel/models.yaml``);
2. the files in the ``ANYLABEL_MODELS`` environment variable (``os.pathsep``-separated);
3. ``extra_files`` (the CLI's ``--models FILE``).

An entry whose name already exists and that gives ``family`` replaces the earlier entry entirely. An
entry that gives only a name and some keys (no ``family``) patches the earlier entry key by key, e.g.
``{name: sam_vit_h, path: /data/sam_vit_h_4b8939.pth}`` uses a local copy of the official checkpoint and
still checks it against the official MD5.

Files live in ``spec.path`` when set, otherwise in ``<cache root>/models/<filename>``; the cache root is
platformdirs' user cache folder for "anylabel", or ``ANYLABEL_CACHE_DIR`` when set.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

import yaml

from anylabel.errors import ConfigError, ModelError
from anylabel.models.checksum import VerifiedRecord, expected_checksum, verify_checksum
from anylabel.models.downloader import download
from anylabel.models.spec import ModelSpec, spec_from_dict

PathLike = Union[str, Path]
ProgressFn = Callable[[int, int], None]
SHIPPED_MODELS = Path(__file__).resolve().parent.parent / "models.yaml"
ENV_MODELS = "ANYLABEL_MODELS"
ENV_CACHE = "ANYLABEL_CACHE_DIR"


def cache_root() -> Path:
    """anylabel's cache folder: ``$ANYLABEL_CACHE_DIR`` or platformdirs' user cache dir for "anylabel"."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("anylabel", appauthor=False))


def models_cache_dir() -> Path:
    """Where downloaded model files go: ``<cache root>/models``."""
    return cache_root() / "models"


def _read_entries(path: Path, origin: str) -> List[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ConfigError(f"models file not found (named by {origin})", path) from e
    except OSError as e:
        raise ConfigError(f"cannot read models file: {e.strerror or e}", path) from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"invalid YAML: {_yaml_problem(e)}", path) from e
    if data is None:
        return []
    if not isinstance(data, dict) or set(data) != {"models"} or not isinstance(data["models"], list):
        raise ConfigError("a models file must be a mapping with a single key 'models' holding a list", path)
    return data["models"]


def _env_files() -> List[Path]:
    raw = os.environ.get(ENV_MODELS, "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


class ModelRegistry:
    """All known models, by name, in the order they were first declared."""

    def __init__(self, specs: Iterable[ModelSpec] = (), cache_dir: Optional[PathLike] = None) -> None:
        self._specs: Dict[str, ModelSpec] = {}
        for spec in specs:
            self._specs[spec.name] = spec
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None

    # ---------------------------------------------------------------- loading
    @classmethod
    def load(cls, extra_files: Optional[Iterable[PathLike]] = None, include_shipped: bool = True,
             include_env: bool = True) -> "ModelRegistry":
        """Merge the shipped models file, ``$ANYLABEL_MODELS`` and ``extra_files`` (later ones win).

        Raises:
            ConfigError: naming the file and entry for a missing file, invalid YAML, unknown or missing
                keys, bad values or a name declared twice in one file.
        """
        files: List[Tuple[Path, str]] = []
        if include_shipped:
            files.append((SHIPPED_MODELS, "the anylabel package"))
        if include_env:
            files.extend((f, f"the {ENV_MODELS} environment variable") for f in _env_files())
        files.extend((Path(f).expanduser(), "--models") for f in (extra_files or ()))
        raw: Dict[str, Dict[str, Any]] = {}
        registry = cls()
        for file, origin in files:
            file = file.resolve()
            seen: set = set()
            for index, entry in enumerate(_read_entries(file, origin)):
                spec = cls._merge_entry(entry, file, index, raw, seen)
                registry._specs[spec.name] = spec  # a re-declared name keeps its first position
                seen.add(spec.name)
        return registry

    @staticmethod
    def _merge_entry(entry: Any, file: Path, index: int, raw: Dict[str, Dict[str, Any]],
                     seen: set) -> ModelSpec:
        """Validate ``entry`` and merge it into ``raw`` (whole replacement or key-by-key patch)."""
        name = entry.get("name") if isinstance(entry, dict) else None
        if isinstance(name, str) and name in seen:
            raise ConfigError(f"models entry #{index + 1}: model {name!r} is declared twice in this file", file)
        entry = dict(entry) if isinstance(entry, dict) else entry
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            # Resolve a relative path against the file that wrote it, before merging moves the entry.
            p = Path(entry["path"]).expanduser()
            entry["path"] = str(p if p.is_absolute() else file.parent / p)
        patch = isinstance(entry, dict) and name in raw and entry.get("family") is None
        # A patch keeps the earlier checksum: a mirror URL or a local copy must still be the official file.
        merged = {**raw[name], **entry} if patch else entry
        spec = spec_from_dict(merged, file, index)  # validates (raises ConfigError naming file + entry)
        raw[spec.name] = merged
        return spec

    # ---------------------------------------------------------------- lookup
    def get(self, name: str) -> ModelSpec:
        """The spec called ``name``; ModelError listing close names when there is none."""
        try:
            return self._specs[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._specs), n=4, cutoff=0.5)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise ModelError(
                f"unknown model {name!r}.{hint} Known models: {', '.join(self._specs) or '(none)'}"
            ) from None

    def specs(self) -> List[ModelSpec]:
        """Every spec, in declaration order (an override keeps the original position)."""
        return list(self._specs.values())

    def names(self) -> List[str]:
        """Every model name, in declaration order."""
        return list(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __len__(self) -> int:
        return len(self._specs)

    # ---------------------------------------------------------------- files
    @property
    def cache_dir(self) -> Path:
        """The folder downloads go to (fixed at construction, or ``models_cache_dir()`` now)."""
        return self._cache_dir if self._cache_dir is not None else models_cache_dir()

    def _record(self) -> VerifiedRecord:
        return VerifiedRecord(self.cache_dir / "verified.json")

    def local_path(self, spec: ModelSpec) -> Optional[Path]:
        """Where the file of ``spec`` is (or will be): ``spec.path``, else the cache; None if it needs none."""
        if spec.path is not None:
            return spec.path
        if spec.filename is None:
            return None
        return self.cache_dir / spec.filename

    def is_available(self, spec: ModelSpec) -> bool:
        """True when the model can be used without a download (its file exists, or it needs no file).

        This only checks existence (cheap, for pickers and "best available model"); :meth:`ensure`
        verifies the checksum before the file is used.
        """
        path = self.local_path(spec)
        return path is None or path.is_file()

    def ensure(self, spec: ModelSpec, progress: Optional[ProgressFn] = None,
               cancel: object = None) -> Optional[Path]:
        """The verified file of ``spec``, downloading it first if needed.

        Args:
            spec: the model (from :meth:`get`; use ``spec.with_checksum(sha256=...)`` to supply a checksum
                for an entry that has none).
            progress: ``progress(done_bytes, total_bytes)`` during the download and during a first-time
                verification of a large local file.
            cancel: None, a ``threading.Event`` or a callable; a cancelled download keeps its ``.part``.

        Returns:
            The path of a file whose checksum matched (or a user's local file without a checksum, which is
            used as given), or None for models that need no file (``classical``).

        Raises:
            ModelError: the local file is missing or fails its checksum, or a download would be unverified.
            DownloadError: the download failed (names URL and destination) or its checksum did not match.
            CancelledError: ``cancel`` fired.
        """
        path = self.local_path(spec)
        if path is None:
            return None
        record = self._record()
        if spec.path is not None:
            if not path.is_file():
                raise ModelError(
                    f"model file of {spec.name!r} not found (declared as path: in "
                    f"{spec.source or 'the registry'})", path)
            # A user's own local file may carry no checksum (e.g. a fine-tuned model): used as given.
            verify_checksum(path, spec, record=record, progress=progress)
            return path
        expected = expected_checksum(spec)
        if expected is None:
            note = f" ({spec.checksum_note})" if spec.checksum_note else ""
            raise ModelError(
                f"model {spec.name!r} has no published checksum{note}, so a downloaded file cannot be "
                "verified and is not used. Check the file yourself and give its sha256: "
                f"`anylabel models fetch {spec.name} --sha256 HEX`, or a models file entry "
                f"`{{name: {spec.name}, sha256: HEX}}` (--models FILE or ANYLABEL_MODELS)",
                path,
            )
        if path.is_file():
            verify_checksum(path, spec, record=record, progress=progress)
            return path
        if spec.url is None:
            raise ModelError(f"model {spec.name!r} has no download URL and its file is missing", path)
        download(spec.url, path, expected, size=spec.size, progress=progress, cancel=cancel)
        record.remember(path, *expected)  # just hashed by the downloader: no second pass needed
        return path


def _yaml_problem(e: Exception) -> str:
    """PyYAML's multi-paragraph message as one line: the problem and where (1-based line and column)."""
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else problem
