"""Test utilities of the model-zoo tests: a local HTTP server that serves a model file, and helpers.

The server runs on 127.0.0.1 in a thread and supports what the downloader relies on: ``Range`` requests
(206 with Content-Range), and knobs to misbehave: drop the connection after N bytes, ignore ``Range``,
or answer an error status. Every request's path and ``Range`` header is logged for assertions.
"""
from __future__ import annotations

import hashlib
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, List, Optional, Tuple


@dataclass
class ServerState:
    """What the server serves and how it misbehaves; ``log`` records (path, Range header or None)."""

    payload: bytes = b""
    drop_after: Optional[int] = None  # close the connection after this many body bytes ...
    drops_left: int = 0               # ... for this many requests
    ignore_range: bool = False        # answer 200 with the whole file even when Range is asked
    status: int = 200                 # e.g. 404 to simulate a missing file
    log: List[Tuple[str, Optional[str]]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep test output clean
        return

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        state: ServerState = self.server.state  # type: ignore[attr-defined]
        range_header = self.headers.get("Range")
        state.log.append((self.path, range_header))
        self.close_connection = True
        if self.path != "/model.bin" or state.status != 200:
            code = 404 if self.path != "/model.bin" else state.status
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = state.payload
        start = 0
        m = re.fullmatch(r"bytes=(\d+)-", range_header or "")
        if m and not state.ignore_range:
            start = int(m.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if state.drop_after is not None and state.drops_left > 0:
            state.drops_left -= 1
            self.wfile.write(body[: state.drop_after])
            self.wfile.flush()
            # An abrupt end mid-body: the client sees fewer bytes than Content-Length.
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)


@dataclass
class ModelServer:
    """A running server: ``url`` of the model file, ``state`` to configure, helpers for checksums."""

    base: str
    state: ServerState

    @property
    def url(self) -> str:
        return f"{self.base}/model.bin"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.state.payload).hexdigest()

    @property
    def md5(self) -> str:
        return hashlib.md5(self.state.payload).hexdigest()

    def range_requests(self) -> List[str]:
        return [r for _, r in self.state.log if r]


def make_payload(size: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random bytes (not compressible, not all-equal, so offsets matter)."""
    out = bytearray()
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_models_file(path: Path, entries: list) -> Path:
    """Write ``{"models": entries}`` as YAML and return the path."""
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"models": entries}, sort_keys=False), encoding="utf-8")
    return path




def serve(payload: bytes) -> Iterator[ModelServer]:
    """Run a server for ``payload`` until the generator is closed (used by the ``model_server`` fixture)."""
    state = ServerState(payload=payload)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.state = state  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield ModelServer(base=f"http://127.0.0.1:{server.server_address[1]}", state=state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
