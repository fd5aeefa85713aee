"""Small shared pieces of the slurper tests (a Run, a fake executable, a local server)."""

from __future__ import annotations

import http.server
import os
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rexmon.checkresult import CheckResult
from rexmon.sample import Sample
from slurpers.config import SlurperConfig, config_from_text
from slurpers.registry import standard_registry
from slurpers.source import Collected, Run

NOW = 1_700_000_000


def make_run(prefix: tuple[str, ...] = ("test", "node01"), now: int = NOW) -> Run:
    return Run(instance="t", now=now, hostname="node01", prefix=prefix)


def values(collected: Iterable[Collected]) -> dict[str, Any]:
    """metric -> value of the samples (Any, so tests can compare without None checks)."""
    return {s.metric: s.value for s in collected if isinstance(s, Sample)}


def check_results(collected: Iterable[Collected]) -> list[CheckResult]:
    """The check results among what a source yielded."""
    return [item for item in collected if isinstance(item, CheckResult)]


def fake_executable(directory: Path, name: str, script: str) -> Path:
    """A shell script on a PATH directory standing in for a tool we cannot install."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return path


Reply = tuple[int, dict[str, str], bytes]


@contextmanager
def local_server(
    handle: Callable[[str, bytes], Reply], tls: ssl.SSLContext | None = None
) -> Iterator[str]:
    """An HTTP(S) server on 127.0.0.1 port 0 answering every request with ``handle``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, payload = handle(self.path, body)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _answer
        do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def path_with(directory: Path) -> str:
    return f"{directory}{os.pathsep}{os.environ.get('PATH', '')}"


def make_config(tmp_path: Path, url: str, token: str, batch_size: int = 5000) -> SlurperConfig:
    """A slurpers config with one demo instance pushing to ``url``, spool in tmp_path."""
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    text = f"""
server:
  url: {url}
  token_file: {token_file}
  retries: 1
  timeout: 5s
  batch_size: {batch_size}
spool:
  dir: {tmp_path / "spool"}
hostname: node01.example.org
instances:
  demo:
    source: demo
    series: [temperature, queue]
"""
    return config_from_text(text, standard_registry(), tmp_path)
