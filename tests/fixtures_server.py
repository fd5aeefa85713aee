"""Fixtures: the real rexmon Flask app served over real HTTP on 127.0.0.1.

``rexmon_server`` is a running server with a fresh archive and one all-powerful token;
``make_rexmon_server(**options)`` builds others (extra tokens, rrdcached, body limit).
``.stop()`` closes the port and ``.start()`` serves again on the same URL, so slurper
tests can take the server away and bring it back.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import requests
import yaml
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from web.app import create_app
from web.auth.tokens import digest_token, new_token
from web.services import get_services

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "etc" / "archive.yaml"
# name -> (password, role); dana is an operator limited to dcache.* downtimes.
USERS = {
    "alice": ("alice-pw", "admin"),
    "olivia": ("olivia-pw", "operator"),
    "victor": ("victor-pw", "viewer"),
    "dana": ("dana-pw", "operator"),
}


@dataclass
class RexmonServer:
    """A real app on a real socket; ``url`` stays the same across stop/start."""

    app: Flask
    token: str
    archive_root: Path
    config_path: Path
    port: int = 0
    _server: BaseWSGIServer | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._server is not None:
            return
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        assert self._thread is not None
        self._thread.join(timeout=10)
        self._server = None


STEP = 60


def aligned_now() -> int:
    """Now, rounded down to the step of the example schemas."""
    now = int(time.time())
    return now - now % STEP


def push(
    server: RexmonServer,
    samples: list[object] | None = None,
    *,
    data: bytes | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    all_headers = {"Authorization": f"Bearer {token or server.token}"}
    if data is None:
        data = json.dumps({"samples": samples}).encode()
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    return requests.post(f"{server.url}/api/v1/samples", data=data, headers=all_headers, timeout=30)


def write_server_config(
    directory: Path,
    token: str,
    *,
    tokens: list[dict[str, Any]] | None = None,
    rrdcached: str | None = None,
    max_body: str | None = None,
    anonymous: str = "viewer",
) -> Path:
    """A server config in ``directory`` with its own archive, using the repo's schemas."""
    archive: dict[str, Any] = {"root": "rrd", "schemas": str(SCHEMAS)}
    if rrdcached:
        archive["rrdcached"] = rrdcached
        archive["wal"] = "wal"
    web: dict[str, Any] = {
        "secret_key_file": "secret-key",
        "tokens": [{"name": "test", "digest": digest_token(token), "metrics": ["*"]}]
        + (tokens or []),
    }
    if max_body:
        web["max_body"] = max_body
    (directory / "users.htpasswd").write_text(
        "".join(
            f"{name}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()}\n"
            for name, (password, _) in USERS.items()
        )
    )
    roles: dict[str, list[str]] = {}
    for name, (_, role) in USERS.items():
        roles.setdefault(role, []).append(name)
    web["auth"] = {
        "anonymous": anonymous,
        "htpasswd": "users.htpasswd",
        "roles": roles,
        "groups": {"dcache-ops": ["dana"]},
        "scopes": {"users": {"olivia": ["*"]}, "groups": {"dcache-ops": ["dcache.*"]}},
    }
    database = {"url": "sqlite:///rexmon.db"}
    path = directory / "rexmon.yaml"
    path.write_text(yaml.safe_dump({"archive": archive, "database": database, "web": web}))
    (directory / "rrd").mkdir(exist_ok=True)
    return path


@pytest.fixture
def make_rexmon_server(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., RexmonServer]]:
    """``make(with_rrdcached=True, ...)`` also starts a real rrdcached for its archive;
    ``make(clock=...)`` gives the app the time its views see; ``make(edit=f)`` lets
    ``f(config, directory)`` change the written config before the app reads it."""
    servers: list[RexmonServer] = []

    def make(
        *,
        with_rrdcached: bool = False,
        clock: Callable[[], float] = time.time,
        edit: Callable[[dict[str, Any], Path], None] | None = None,
        **options: Any,
    ) -> RexmonServer:
        directory = tmp_path / f"server{len(servers)}"
        directory.mkdir()
        if with_rrdcached:
            start_rrdcached = request.getfixturevalue("start_rrdcached")
            options["rrdcached"] = start_rrdcached(directory / "rrd").address
        token = new_token()
        config_path = write_server_config(directory, token, **options)
        if edit is not None:
            config = yaml.safe_load(config_path.read_text())
            edit(config, directory)
            config_path.write_text(yaml.safe_dump(config))
        app = create_app(config_path, clock=clock)
        server = RexmonServer(app, token, directory / "rrd", config_path)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
        get_services(server.app).close()


@pytest.fixture
def rexmon_server(make_rexmon_server: Callable[..., RexmonServer]) -> RexmonServer:
    return make_rexmon_server()
