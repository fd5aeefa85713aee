"""``json``: GET a URL and pick numbers by dotted paths with ``*`` wildcards.

Each item of ``paths`` is a path string or ``{path, type}``; the metric is the prefix
(default ``json.{instance}``) followed by the path, a wildcard replaced by the key or
index it matched (sanitised).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import requests

from rexmon.errors import InvalidMetricName, InvalidSample
from rexmon.sample import DsType, Sample
from rexmon.yamlconf import Node
from slurpers.jsonpath import pick, validate_path
from slurpers.source import COMMON_KEYS, Run, Source, timeout_option

KEYS = frozenset({"url", "timeout", "paths", "headers", "verify_tls"})


@dataclass(frozen=True)
class JsonPath:
    parts: tuple[str, ...]
    type: DsType = DsType.GAUGE


@dataclass(frozen=True)
class JsonOptions:
    url: str
    paths: tuple[JsonPath, ...]
    timeout: float = 10.0
    headers: tuple[tuple[str, str], ...] = ()
    verify_tls: bool = True


def _parse_path(node: Node) -> JsonPath:
    if isinstance(node.value, dict):
        node.mapping(frozenset({"path", "type"}), required=("path",))
        kind = node.get("type")
        return JsonPath(
            parts=node["path"].parse(validate_path),
            type=DsType.GAUGE if kind is None else node["type"].parse(DsType.parse),
        )
    return JsonPath(parts=node.parse(validate_path))


def parse_options(node: Node, instance: str) -> JsonOptions:
    node.mapping(COMMON_KEYS | KEYS, required=("url", "paths"))
    url = node["url"].as_str()
    if not url.startswith(("http://", "https://")):
        raise node["url"].error(f"expected an http:// or https:// URL, got {url!r}")
    paths = tuple(_parse_path(item) for item in node["paths"].as_list())
    if not paths:
        raise node["paths"].error("at least one path is needed")
    headers = node.get("headers")
    verify = node.get("verify_tls")
    return JsonOptions(
        url=url,
        paths=paths,
        timeout=timeout_option(node, 10.0),
        headers=()
        if headers is None
        else tuple((key, value.as_str()) for key, value in headers.items()),
        verify_tls=True if verify is None else verify.as_bool(),
    )


def document_samples(run: Run, document: object, paths: tuple[JsonPath, ...]) -> Iterator[Sample]:
    """Samples for every path in an already-decoded document."""
    for path in paths:
        for name, value, error in pick(document, path.parts):
            if error is not None:
                run.problem(".".join(name), error)
                continue
            try:
                yield run.sample(name, value, path.type)
            except (InvalidMetricName, InvalidSample) as exc:
                run.problem(".".join(name), exc)


def collect(options: JsonOptions, run: Run) -> Iterator[Sample]:
    try:
        response = requests.get(
            options.url,
            timeout=options.timeout,
            headers=dict(options.headers),
            verify=options.verify_tls,
        )
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        run.problem(f"url {options.url}", f"{type(exc).__name__}: {exc}")
        return
    yield from document_samples(run, document, options.paths)


SOURCE = Source(
    name="json",
    description="GET a JSON document and pick numbers by dotted paths with wildcards",
    parse_options=parse_options,
    collect=collect,
    default_prefix="json.{instance}",
)
