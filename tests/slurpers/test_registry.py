from __future__ import annotations

import pytest

from slurpers.errors import SlurperError
from slurpers.registry import STANDARD_SOURCES, build_registry, standard_registry
from slurpers.sources import demo


def test_the_standard_registry_knows_every_standard_source() -> None:
    assert set(standard_registry()) == {
        "host",
        "http",
        "command",
        "munin",
        "json",
        "prometheus",
        "batch",
        "demo",
    }


def test_two_sources_with_one_name_are_refused() -> None:
    with pytest.raises(SlurperError, match="'demo'"):
        build_registry([*STANDARD_SOURCES, demo.SOURCE])


def test_the_registry_cannot_be_changed_afterwards() -> None:
    registry = standard_registry()
    with pytest.raises(TypeError):
        registry["x"] = demo.SOURCE  # type: ignore[index]
