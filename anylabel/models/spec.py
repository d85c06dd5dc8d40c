"""One entry of the model zoo (`models.yaml`): what a model is, where it comes from, how to verify it.

A models file is YAML of the form::

    models:
      - name: sam_vit_b          # registry name (CLI --model, GUI picker)
        family: sam              # adapter key: one of FAMILIES (sam, mobile_sam, sam_hq, sam2, ...)
        display_name: SAM ViT-B
        url: https://...         # official download URL; null for models that need no file
        filename: sam_vit_b_01ec64.pth
        md5: 01ec64d2...         # and/or sha256: ...; sha256 is preferred where one is published
        size: 375042383          # bytes
        path: null               # optional local file (absolute, or relative to the models file)
        settings: {model_type: vit_b}   # family-specific, passed to the adapter untouched
        checksum_note: ...       # optional: why there is no published checksum

Parsing is strict: an unknown key, a missing required key or a value of the wrong type is a
:class:`ConfigError` naming the file and the entry, so a typo never silently changes behaviour.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

from anylabel.errors import ConfigError

FAMILIES = ("sam", "mobile_sam", "sam_hq", "sam2", "sam3", "fastsam", "classical", "clip")

_REQUIRED = ("name", "family")
_OPTIONAL = ("display_name", "url", "filename", "md5", "sha256", "size", "path", "settings", "checksum_note")
_HEX = {"md5": 32, "sha256": 64}


@dataclass(frozen=True)
class ModelSpec:
    """A model of the zoo.

    Attributes:
        name: registry name, unique across all loaded models files.
        family: adapter key, one of :data:`FAMILIES`.
        display_name: human-readable name for the GUI (defaults to ``name``).
        url: official download URL, or None when the model needs no file (``classical``) or is local only.
        filename: file name in the cache folder (defaults to the URL's last path component).
        md5: expected MD5 (lower-case hex) or None.
        sha256: expected SHA-256 (lower-case hex) or None; checked instead of ``md5`` when both are set.
        size: expected size in bytes, or None when unknown.
        path: a local file to use instead of the cache (absolute; relative paths are resolved against
            the models file when it is loaded).
        settings: family-specific settings handed to the adapter as they are.
        checksum_note: why no checksum is published, when there is none.
        source: the models file this entry came from (None for specs built in code).
    """

    name: str
    family: str
    display_name: str = ""
    url: Optional[str] = None
    filename: Optional[str] = None
    md5: Optional[str] = None
    sha256: Optional[str] = None
    size: Optional[int] = None
    path: Optional[Path] = None
    settings: Dict[str, Any] = field(default_factory=dict)
    checksum_note: Optional[str] = None
    source: Optional[Path] = None

    @property
    def needs_file(self) -> bool:
        """True when the model needs a weights file (a URL or a local path); False for ``classical``."""
        return self.url is not None or self.path is not None

    @property
    def has_checksum(self) -> bool:
        """True when a file can be verified (a sha256 or an md5 is known)."""
        return bool(self.sha256 or self.md5)

    def with_checksum(self, sha256: Optional[str] = None, md5: Optional[str] = None) -> "ModelSpec":
        """A copy with a checksum supplied by the user (e.g. ``anylabel models fetch NAME --sha256 HEX``)."""
        where = f"checksum given for model {self.name!r}"
        return dataclasses.replace(
            self,
            sha256=_check_hex(sha256, "sha256", where) if sha256 else self.sha256,
            md5=_check_hex(md5, "md5", where) if md5 else self.md5,
        )


def _check_hex(value: Any, key: str, where: str, source: Optional[Path] = None) -> str:
    text = str(value).strip().lower()
    if len(text) != _HEX[key] or not re.fullmatch(r"[0-9a-f]+", text):
        raise ConfigError(f"{where}: {key} must be {_HEX[key]} hex digits, got {value!r}", source)
    return text


def spec_from_dict(entry: Any, source: Optional[Path], index: int) -> ModelSpec:
    """Validate one ``models:`` entry and build its :class:`ModelSpec`.

    Args:
        entry: the parsed YAML mapping.
        source: the models file (for error messages and for resolving a relative ``path``).
        index: the entry's position in the file (for error messages when it has no name).

    Raises:
        ConfigError: naming the file and the entry, for unknown keys, missing keys or bad values.
    """
    if not isinstance(entry, dict):
        raise ConfigError(f"models entry #{index + 1} must be a mapping, got {type(entry).__name__}", source)
    label = f"models entry #{index + 1}" + (f" ({entry['name']!r})" if "name" in entry else "")
    unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        allowed = ", ".join(_REQUIRED + _OPTIONAL)
        raise ConfigError(f"{label}: unknown key(s) {', '.join(map(str, unknown))} (allowed: {allowed})", source)
    missing = [k for k in _REQUIRED if entry.get(k) in (None, "")]
    if missing:
        raise ConfigError(f"{label}: missing required key(s) {', '.join(missing)}", source)

    def text(key: str) -> Optional[str]:
        value = entry.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{label}: {key} must be a non-empty string, got {value!r}", source)
        return value.strip()

    name, family = text("name"), text("family")
    if family not in FAMILIES:
        raise ConfigError(f"{label}: family {family!r} is not one of {', '.join(FAMILIES)}", source)
    url = text("url")
    if url is not None and not re.match(r"^(https?|file)://", url):
        raise ConfigError(f"{label}: url must start with http://, https:// or file://, got {url!r}", source)
    filename = text("filename")
    if filename is None and url is not None:
        filename = url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    if filename is not None and (Path(filename).name != filename or filename in (".", "..")):
        raise ConfigError(f"{label}: filename must be a bare file name, got {filename!r}", source)
    for key in ("md5", "sha256"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            # YAML reads an all-digit checksum as a number and would drop leading zeros: demand quotes.
            raise ConfigError(f"{label}: {key} must be a (quoted) string of hex digits, got {entry[key]!r}", source)
    md5 = _check_hex(entry["md5"], "md5", label, source) if entry.get("md5") is not None else None
    sha256 = _check_hex(entry["sha256"], "sha256", label, source) if entry.get("sha256") is not None else None
    size = entry.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise ConfigError(f"{label}: size must be a non-negative integer (bytes), got {size!r}", source)
    path: Optional[Path] = None
    raw_path = text("path")
    if raw_path is not None:
        path = Path(raw_path).expanduser()
        if not path.is_absolute() and source is not None:
            path = source.parent / path
        if filename is None:
            filename = path.name
    settings = entry.get("settings")
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise ConfigError(f"{label}: settings must be a mapping, got {settings!r}", source)
    return ModelSpec(
        name=name,
        family=family,
        display_name=text("display_name") or name,
        url=url,
        filename=filename,
        md5=md5,
        sha256=sha256,
        size=size,
        path=path,
        settings=dict(settings),
        checksum_note=text("checksum_note"),
        source=source,
    )
