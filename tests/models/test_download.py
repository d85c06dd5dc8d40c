"""The downloader against a real HTTP server on 127.0.0.1: progress, resume, checksums, cancel, offline."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from zoo_testutil import free_port

from anylabel.errors import CancelledError, DownloadError
from anylabel.models import ModelRegistry, ModelSpec, download, part_path
from anylabel.models import checksum as checksum_module

MiB = 1 << 20


def _spec(server, algorithm: str = "sha256", **kw) -> ModelSpec:
    sums = {"sha256": server.sha256} if algorithm == "sha256" else {"md5": server.md5}
    base = dict(name="test_model", family="sam", url=server.url, filename="test_model.pth",
                size=len(server.state.payload), **sums)
    base.update(kw)
    return ModelSpec(**base)


def _cache_files(cache: Path) -> list:
    folder = cache / "models"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_download_reports_progress_and_verifies(model_server, isolated_cache, algorithm):
    reg = ModelRegistry.load(include_shipped=False)
    spec = _spec(model_server, algorithm)
    calls = []
    path = reg.ensure(spec, progress=lambda done, total: calls.append((done, total)))
    total = len(model_server.state.payload)
    assert path == isolated_cache / "models" / "test_model.pth"
    assert path.read_bytes() == model_server.state.payload
    assert not part_path(path).exists()
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls) and len(calls) >= 4  # 1 MiB chunks
    assert all(t == total for _, t in calls)
    # The successful check is remembered, so the next start does not hash the file again.
    record = json.loads((isolated_cache / "models" / "verified.json").read_text())
    assert record[str(path.resolve())][algorithm] == getattr(model_server, algorithm)


def test_second_ensure_neither_downloads_nor_rehashes(model_server, monkeypatch):
    reg = ModelRegistry.load(include_shipped=False)
    spec = _spec(model_server)
    reg.ensure(spec)
    requests = len(model_server.state.log)
    monkeypatch.setattr(checksum_module, "file_checksum", lambda *a, **k: pytest.fail("re-hashed"))
    assert reg.ensure(spec).read_bytes() == model_server.state.payload
    assert len(model_server.state.log) == requests


def test_interrupted_download_resumes_with_a_range_request(model_server, isolated_cache):
    state = model_server.state
    state.drop_after, state.drops_left = MiB + 5000, 1  # first response dies mid-way
    dest = isolated_cache / "models" / "test_model.pth"
    with pytest.raises(DownloadError) as err:
        download(model_server.url, dest, ("sha256", model_server.sha256), size=len(state.payload), retries=0)
    assert model_server.url in str(err.value)
    kept = part_path(dest).stat().st_size
    assert 0 < kept <= MiB + 5000 and not dest.exists()
    assert part_path(dest).read_bytes() == state.payload[:kept]
    # The next call (e.g. the user runs `anylabel models fetch` again) asks only for the rest.
    download(model_server.url, dest, ("sha256", model_server.sha256), size=len(state.payload))
    assert dest.read_bytes() == state.payload and not part_path(dest).exists()
    assert model_server.range_requests() == [f"bytes={kept}-"]


def test_dropped_connection_is_resumed_automatically(model_server):
    state = model_server.state
    state.drop_after, state.drops_left = 700_000, 2  # two drops, then a clean response
    reg = ModelRegistry.load(include_shipped=False)
    progress = []
    path = reg.ensure(_spec(model_server), progress=lambda d, t: progress.append(d))
    assert path.read_bytes() == state.payload
    ranges = model_server.range_requests()
    assert len(state.log) == 3 and len(ranges) == 2
    offsets = [int(r[len("bytes="):-1]) for r in ranges]
    assert offsets[0] > 0 and offsets[1] > offsets[0]
    assert progress[-1] == len(state.payload)


def test_wrong_checksum_leaves_nothing_in_the_cache(model_server, isolated_cache):
    reg = ModelRegistry.load(include_shipped=False)
    spec = _spec(model_server, sha256="0" * 64)
    with pytest.raises(DownloadError) as err:
        reg.ensure(spec)
    assert "expected " + "0" * 64 in str(err.value) and model_server.sha256 in str(err.value)
    assert _cache_files(isolated_cache) == []
    assert not reg.is_available(spec)


def test_wrong_md5_after_a_resume_also_deletes_the_partial_file(model_server, isolated_cache):
    model_server.state.drop_after, model_server.state.drops_left = MiB, 1
    reg = ModelRegistry.load(include_shipped=False)
    with pytest.raises(DownloadError, match="its md5 is"):
        reg.ensure(_spec(model_server, "md5", md5="f" * 32))
    assert _cache_files(isolated_cache) == []


def test_cancel_keeps_the_partial_file_for_the_next_attempt(model_server, isolated_cache):
    reg = ModelRegistry.load(include_shipped=False)
    spec = _spec(model_server)
    stop = threading.Event()

    def progress(done: int, total: int) -> None:
        if done > 0:
            stop.set()  # the user presses Cancel after the first chunk

    with pytest.raises(CancelledError):
        reg.ensure(spec, progress=progress, cancel=stop)
    dest = reg.local_path(spec)
    assert not dest.exists() and part_path(dest).stat().st_size == MiB
    assert reg.ensure(spec, cancel=lambda: False) == dest  # a callable works as a cancel flag too
    assert dest.read_bytes() == model_server.state.payload
    assert model_server.range_requests() == [f"bytes={MiB}-"]


def test_complete_partial_file_needs_no_request(model_server, isolated_cache):
    reg = ModelRegistry.load(include_shipped=False)
    spec = _spec(model_server)
    dest = reg.local_path(spec)
    dest.parent.mkdir(parents=True)
    part_path(dest).write_bytes(model_server.state.payload)
    assert reg.ensure(spec) == dest
    assert model_server.state.log == []


def test_server_that_ignores_range_restarts_from_zero(model_server, isolated_cache):
    state = model_server.state
    reg = ModelRegistry.load(include_shipped=False)
    spec = _spec(model_server)
    dest = reg.local_path(spec)
    dest.parent.mkdir(parents=True)
    part_path(dest).write_bytes(state.payload[:1000])
    state.ignore_range = True
    assert reg.ensure(spec).read_bytes() == state.payload  # not 1000 bytes + the whole file appended


def test_offline_error_names_the_url_and_where_to_put_the_file(isolated_cache):
    url = f"http://127.0.0.1:{free_port()}/sam_vit_b_01ec64.pth"
    spec = ModelSpec(name="offline", family="sam", url=url, filename="sam_vit_b_01ec64.pth", md5="1" * 32)
    reg = ModelRegistry([spec])
    with pytest.raises(DownloadError) as err:
        reg.ensure(spec)
    text = str(err.value)
    dest = isolated_cache / "models" / "sam_vit_b_01ec64.pth"
    assert url in text and f"put it at {dest}" in text and "md5" in text
    assert _cache_files(isolated_cache) == []


def test_http_error_is_reported_with_its_status(model_server):
    model_server.state.status = 404
    with pytest.raises(DownloadError, match="HTTP 404"):
        ModelRegistry.load(include_shipped=False).ensure(_spec(model_server))
    assert len(model_server.state.log) == 1  # a 404 is not retried


def test_fresh_download_reads_the_file_once(model_server, monkeypatch):
    from anylabel.models import downloader as download_module

    # The checksum is computed while the bytes arrive: nothing re-reads the finished file.
    monkeypatch.setattr(download_module, "_hash_into", lambda *a: pytest.fail("file re-read for hashing"))
    assert ModelRegistry.load(include_shipped=False).ensure(_spec(model_server)).is_file()


def test_second_download_of_the_same_file_is_refused_while_one_runs(model_server, isolated_cache):
    from anylabel.models import downloader as download_module

    dest = isolated_cache / "models" / "test_model.pth"
    dest.parent.mkdir(parents=True)
    lock = part_path(dest).with_name(dest.name + ".part.lock")
    with download_module._exclusive(lock, dest):  # e.g. the GUI is downloading it right now
        with pytest.raises(DownloadError, match="another download of this file is in progress"):
            download(model_server.url, dest, ("sha256", model_server.sha256))
    assert model_server.state.log == []
    download(model_server.url, dest, ("sha256", model_server.sha256))
    assert dest.read_bytes() == model_server.state.payload
    assert _cache_files(isolated_cache) == ["test_model.pth"]  # no lock or part file left behind


def test_not_enough_disk_space_fails_before_writing(model_server, isolated_cache, monkeypatch):
    from anylabel.models import downloader as download_module

    monkeypatch.setattr(download_module.shutil, "disk_usage", lambda p: shutil_usage(free=1000))
    with pytest.raises(DownloadError, match="not enough disk space"):
        ModelRegistry.load(include_shipped=False).ensure(_spec(model_server))
    assert _cache_files(isolated_cache) == []


def shutil_usage(free: int):
    import collections

    return collections.namedtuple("usage", "total used free")(10**12, 10**12 - free, free)
