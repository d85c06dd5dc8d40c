"""The models file of tools/random_checkpoints.py (the backends' random-weight zoo) through ANYLABEL_MODELS."""
from __future__ import annotations

import subprocess
import sys

from anylabel.cli import main
from anylabel.models import ModelRegistry, safe_torch_load


def _assert_refused_in_fresh_process(path) -> None:
    """A pickled ultralytics model is never unpickled blindly by safe_torch_load.

    Checked in a fresh interpreter: once ultralytics' own restricted loader has run in a process (the FastSAM
    adapter uses it), it registers its classes with torch's process-wide safe globals for good.
    """
    code = (
        "import sys\n"
        "from anylabel.errors import ModelError\n"
        "from anylabel.models import safe_torch_load\n"
        "try:\n"
        f"    safe_torch_load({str(path)!r})\n"
        "except ModelError as e:\n"
        "    print(e); sys.exit(0 if 'contains non-weight objects' in str(e) else 3)\n"
        "sys.exit(4)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]


def test_random_zoo_overrides_the_registry_names(random_models, monkeypatch, capsys):
    monkeypatch.setenv("ANYLABEL_MODELS", str(random_models))
    reg = ModelRegistry.load()
    overridden = [s for s in reg.specs() if s.source == random_models.resolve()]
    assert {s.family for s in overridden} >= {"sam", "sam2", "fastsam"}
    for spec in overridden:
        assert spec.path is not None and spec.sha256 and reg.is_available(spec)
        path = reg.ensure(spec)
        assert path == spec.path
        if spec.family == "sam":
            state = safe_torch_load(path)
            assert "image_encoder.patch_embed.proj.weight" in state  # segment-anything's Sam state dict
        elif spec.family == "sam2":
            assert "model" in safe_torch_load(path)  # sam2's {"model": state_dict}
        elif spec.family == "fastsam":
            _assert_refused_in_fresh_process(path)
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    row = next(line.split() for line in out.splitlines() if line.startswith("sam_vit_b "))
    assert row[2] == "yes" and row[-1] == str(reg.get("sam_vit_b").path)
