"""`anylabel models list|fetch` through anylabel.cli.main, against a local HTTP server."""
from __future__ import annotations

import hashlib

from zoo_testutil import free_port, write_models_file

from anylabel.cli import main


def _models_file(tmp_path, server, **kw):
    entry = {"name": "local_model", "family": "sam", "url": server.url, "filename": "local_model.pth",
             "sha256": server.sha256, "size": len(server.state.payload), "settings": {"model_type": "vit_b"}}
    entry.update(kw)
    return write_models_file(tmp_path / "extra.yaml", [entry])


def _row(out: str, name: str) -> list:
    return next(line.split() for line in out.splitlines() if line.split()[:1] == [name])


def test_list_shows_every_model_with_download_state(tmp_path, capsys, model_server, isolated_cache):
    extra = _models_file(tmp_path, model_server)
    assert main(["models", "list", "--models", str(extra)]) == 0
    out = capsys.readouterr().out
    assert _row(out, "sam_vit_b")[:5] == ["sam_vit_b", "sam", "no", "375.0", "MB"]
    assert _row(out, "sam_vit_b")[5] == str(isolated_cache / "models" / "sam_vit_b_01ec64.pth")
    assert _row(out, "classical")[:3] == ["classical", "classical", "n/a"]
    assert _row(out, "local_model")[:3] == ["local_model", "sam", "no"]
    assert _row(out, "mobile_sam")[:5] == ["mobile_sam", "mobile_sam", "no", "40.7", "MB"]
    assert _row(out, "sam3")[:5] == ["sam3", "sam3", "no", "3.5", "GB"]
    assert "21 models" in out


def test_fetch_downloads_then_list_says_yes(tmp_path, capsys, model_server, isolated_cache):
    extra = _models_file(tmp_path, model_server)
    assert main(["models", "fetch", "local_model", "--models", str(extra)]) == 0
    captured = capsys.readouterr()
    dest = isolated_cache / "models" / "local_model.pth"
    assert dest.read_bytes() == model_server.state.payload
    assert f"local_model: {dest} (verified)" in captured.out
    assert "local_model (downloading)" in captured.err and "100%" in captured.err  # the tqdm bar
    assert main(["models", "list", "--models", str(extra)]) == 0
    assert _row(capsys.readouterr().out, "local_model")[:5] == ["local_model", "sam", "yes", "3.1", "MB"]


def test_fetch_offline_exits_2_with_url_and_destination(tmp_path, capsys, isolated_cache):
    url = f"http://127.0.0.1:{free_port()}/FastSAM-s.pt"
    extra = write_models_file(tmp_path / "m.yaml", [{"name": "fastsam_s", "url": url}])  # patch: keeps sha256
    assert main(["models", "fetch", "fastsam_s", "--quiet", "--models", str(extra)]) == 2
    err = capsys.readouterr().err
    assert url in err and str(isolated_cache / "models" / "FastSAM-s.pt") in err
    assert "c9f78716a81c7aff0d608ccc73e1b82ab3aaad86005049f6a92106a0be6d0844" in err


def test_fetch_errors_and_no_file_models(tmp_path, capsys, model_server):
    assert main(["models", "fetch", "sam_vit_bb"]) == 2
    assert "Did you mean: sam_vit_b" in capsys.readouterr().err
    assert main(["models", "fetch", "classical"]) == 0
    assert "needs no download" in capsys.readouterr().out
    # No published checksum: refused, then accepted with the user's own sha256.
    extra = _models_file(tmp_path, model_server, sha256=None, checksum_note="none published")
    assert main(["models", "fetch", "local_model", "-q", "--models", str(extra)]) == 2
    assert "no published checksum (none published)" in capsys.readouterr().err
    assert model_server.state.log == []  # refused before any request
    own = hashlib.sha256(model_server.state.payload).hexdigest()
    assert main(["models", "fetch", "local_model", "-q", "--sha256", own, "--models", str(extra)]) == 0
    assert main(["models", "fetch", "local_model", "-q", "--sha256", "0" * 64, "--models", str(extra)]) == 2
    assert "checksum mismatch" in capsys.readouterr().err
