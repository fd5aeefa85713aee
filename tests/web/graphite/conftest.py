"""A real rexmon server for the Graphite API: alarm rules, an API token for Grafana
(viewer) and a choice of anonymous role and rrdcached."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.fixtures_server import RexmonServer, write_server_config
from tests.web.monitored import RULES
from web.app import create_app
from web.auth.tokens import digest_token, new_token
from web.services import get_services

GRAFANA_TOKEN = "grafana-" + "x" * 32


@pytest.fixture
def make_graphite_server(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., RexmonServer]]:
    servers: list[RexmonServer] = []

    def make(*, anonymous: str = "viewer", with_rrdcached: bool = False) -> RexmonServer:
        directory = tmp_path / f"graphite{len(servers)}"
        directory.mkdir()
        rrdcached = None
        if with_rrdcached:
            rrdcached = request.getfixturevalue("start_rrdcached")(directory / "rrd").address
        token = new_token()
        path = write_server_config(directory, token, anonymous=anonymous, rrdcached=rrdcached)
        config = yaml.safe_load(path.read_text())
        config["web"]["auth"]["api_tokens"] = [
            {"name": "grafana", "digest": digest_token(GRAFANA_TOKEN), "role": "viewer"}
        ]
        (directory / "alarms.yaml").write_text(RULES)
        config["alarmd"] = {"rules": "alarms.yaml"}
        path.write_text(yaml.safe_dump(config))
        server = RexmonServer(create_app(path), token, directory / "rrd", path)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
        get_services(server.app).close()


@pytest.fixture
def graphite_server(make_graphite_server: Callable[..., RexmonServer]) -> RexmonServer:
    return make_graphite_server()
