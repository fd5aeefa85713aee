"""Shared fixtures. Each area's real servers live in a fixtures module of its own."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures_rrdcached",
    "tests.fixtures_postgres",
    "tests.fixtures_server",
    "tests.fixtures_carbon",
    "tests.web.monitored",
]
