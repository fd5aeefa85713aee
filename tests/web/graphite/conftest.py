"""A real rexmon server for the Graphite API: alarm rules, an API token for Grafana
(viewer) and a choice of anonymous role and rrdcached."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_server import RexmonServer
from tests.web.monitored import RULES
from web.auth.tokens import digest_token

GRAFANA_TOKEN = "grafana-" + "x" * 32


@pytest.fixture
def make_graphite_server(
    make_rexmon_server: Callable[..., RexmonServer],
) -> Callable[..., RexmonServer]:
    def grafana_and_rules(config: dict[str, Any], directory: Path) -> None:
        config["web"]["auth"]["api_tokens"] = [
            {"name": "grafana", "digest": digest_token(GRAFANA_TOKEN), "role": "viewer"}
        ]
        (directory / "alarms.yaml").write_text(RULES)
        config["alarmd"] = {"rules": "alarms.yaml"}

    def make(*, anonymous: str = "viewer", with_rrdcached: bool = False) -> RexmonServer:
        return make_rexmon_server(
            anonymous=anonymous, with_rrdcached=with_rrdcached, edit=grafana_and_rules
        )

    return make


@pytest.fixture
def graphite_server(make_graphite_server: Callable[..., RexmonServer]) -> RexmonServer:
    return make_graphite_server()
