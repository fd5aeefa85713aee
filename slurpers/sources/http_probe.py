"""``http``: probe URLs for up (0/1), status code, response time, content match, TLS expiry.

Metrics per target ``NAME`` under the prefix (default ``http.{instance}``):
``NAME.up``, ``NAME.status_code``, ``NAME.response_seconds``, ``NAME.content_match`` (when
``match`` is set) and ``NAME.cert_expiry_days`` (https, only when the chain verifies).
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from rexmon.sample import Sample
from rexmon.yamlconf import Node
from slurpers.source import COMMON_KEYS, Run, Source, timeout_option

TARGET_KEYS = frozenset({"url", "timeout", "match", "status", "verify_tls", "ca_file"})


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    timeout: float = 10.0
    match: re.Pattern[str] | None = None
    status: tuple[int, ...] = ()
    verify_tls: bool = True
    ca_file: str | None = None

    def status_ok(self, code: int) -> bool:
        return code in self.status if self.status else 200 <= code < 400


@dataclass(frozen=True)
class HttpOptions:
    targets: tuple[Target, ...]


def _parse_target(name: str, node: Node) -> Target:
    if isinstance(node.value, str):
        node = Node({"url": node.value}, node.source, node.path, node.line)
    node.mapping(TARGET_KEYS, required=("url",))
    url = node["url"].as_str()
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise node["url"].error(f"expected an http:// or https:// URL, got {url!r}")
    match_node = node.get("match")
    pattern = None
    if match_node is not None:
        try:
            pattern = re.compile(match_node.as_str())
        except re.error as exc:
            raise match_node.error(f"invalid regular expression: {exc}") from None
    status_node = node.get("status")
    status: tuple[int, ...] = ()
    if status_node is not None:
        items = status_node.as_list() if isinstance(status_node.value, list) else [status_node]
        status = tuple(item.as_int(low=100, high=599) for item in items)
    ca_file = node.get("ca_file")
    verify = node.get("verify_tls")
    return Target(
        name=name,
        url=url,
        timeout=timeout_option(node, 10.0),
        match=pattern,
        status=status,
        verify_tls=True if verify is None else verify.as_bool(),
        ca_file=None if ca_file is None else ca_file.as_str(),
    )


def parse_options(node: Node, instance: str) -> HttpOptions:
    node.mapping(COMMON_KEYS | {"targets"}, required=("targets",))
    targets = tuple(_parse_target(name, child) for name, child in node["targets"].items())
    if not targets:
        raise node["targets"].error("at least one target is needed")
    return HttpOptions(targets)


def cert_expiry_seconds(target: Target) -> float:
    """Seconds from the epoch at which the server's certificate stops being valid."""
    parts = urlsplit(target.url)
    host = parts.hostname or ""
    context = ssl.create_default_context(cafile=target.ca_file)
    with socket.create_connection((host, parts.port or 443), timeout=target.timeout) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            cert = tls.getpeercert()
    if not cert or "notAfter" not in cert:
        raise ssl.SSLError("the server sent no certificate")
    return float(ssl.cert_time_to_seconds(str(cert["notAfter"])))


def probe(target: Target, run: Run) -> Iterator[Sample]:
    verify: bool | str = target.verify_tls
    if target.verify_tls and target.ca_file:
        verify = target.ca_file
    try:
        response = requests.get(target.url, timeout=target.timeout, verify=verify)
    except requests.RequestException as exc:
        run.problem(f"url {target.url}", f"{type(exc).__name__}: {exc}")
        yield run.sample((target.name, "up"), 0)
        return
    with response:
        up = target.status_ok(response.status_code)
        yield run.sample((target.name, "status_code"), response.status_code)
        yield run.sample((target.name, "response_seconds"), response.elapsed.total_seconds())
        if target.match is not None:
            found = target.match.search(response.text) is not None
            yield run.sample((target.name, "content_match"), int(found))
            up = up and found
        yield run.sample((target.name, "up"), int(up))
    if urlsplit(target.url).scheme == "https" and target.verify_tls:
        try:
            expiry = cert_expiry_seconds(target)
        except (OSError, ValueError) as exc:
            run.problem(f"certificate {target.url}", exc)
        else:
            yield run.sample((target.name, "cert_expiry_days"), (expiry - run.now) / 86400)


def collect(options: HttpOptions, run: Run) -> Iterator[Sample]:
    for target in options.targets:
        yield from probe(target, run)


SOURCE = Source(
    name="http",
    description="probe URLs: up, status code, response time, content match, TLS expiry",
    parse_options=parse_options,
    collect=collect,
    default_prefix="http.{instance}",
)
