"""The explicit registry of sources: name -> :class:`~slurpers.source.Source`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from slurpers.errors import SlurperError
from slurpers.source import Source
from slurpers.sources import (
    batch,
    command,
    demo,
    host,
    http_probe,
    json_url,
    munin,
    prometheus,
)

STANDARD_SOURCES = (
    host.SOURCE,
    http_probe.SOURCE,
    command.SOURCE,
    munin.SOURCE,
    json_url.SOURCE,
    prometheus.SOURCE,
    batch.SOURCE,
    demo.SOURCE,
)


def build_registry(sources: Iterable[Source]) -> Mapping[str, Source]:
    """A read-only name -> source mapping; two sources with one name is an error."""
    registry: dict[str, Source] = {}
    for source in sources:
        if source.name in registry:
            raise SlurperError(f"two sources are registered as {source.name!r}")
        registry[source.name] = source
    return MappingProxyType(registry)


def standard_registry() -> Mapping[str, Source]:
    return build_registry(STANDARD_SOURCES)
