"""Receivers: named groups of apprise URLs, with the secrets their URLs hold kept out of
everything shown (``shown`` is the URL redacted; see :mod:`alarmd.credentials`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from alarmd.credentials import redact, scrub, substitute, url_secrets
from alarmd.providers import load_apprise
from rexmon.errors import ConfigError
from rexmon.yamlconf import Node


@dataclass(frozen=True)
class Receiver:
    """A named group of apprise URLs. ``urls`` hold secrets: show ``shown`` instead."""

    name: str
    urls: tuple[str, ...] = field(repr=False)
    shown: tuple[str, ...] = ()
    secrets: frozenset[str] = field(default=frozenset(), repr=False)


class UnsetSecret(Exception):
    """A receiver URL names a ``${VAR}`` that is not set: an error if a rule uses it."""

    def __init__(self, error: ConfigError) -> None:
        super().__init__(str(error))
        self.error = error


def parse_receiver(name: str, node: Node, lookup: Mapping[str, str]) -> Receiver:
    """A receiver from its URL or list of URLs; ``${VAR}`` are looked up in ``lookup``.
    Raises UnsetSecret for an unset variable, ConfigError (at the URL's line) otherwise."""
    urls: list[str] = []
    shown: list[str] = []
    used: set[str] = set()
    items = node.as_list() if isinstance(node.value, list) else [node]
    for item in items:
        try:
            url, values = substitute(item.as_str(), lookup)
        except KeyError as exc:
            raise UnsetSecret(
                item.error(
                    f"${{{exc.args[0]}}} is not set (neither in the secrets file nor in the"
                    " environment)"
                )
            ) from None
        secrets = values | url_secrets(url)
        display = scrub(redact(url), secrets)
        if not apprise_accepts(url):
            raise item.error(f"not a URL apprise can send to: {display}")
        urls.append(url)
        shown.append(display)
        used |= secrets
    if not urls:
        raise node.error("a receiver needs at least one URL")
    return Receiver(name, tuple(urls), tuple(shown), frozenset(used))


def apprise_accepts(url: str) -> bool:
    """Whether apprise knows how to send to ``url`` (checked at load, not at 3 a.m.)."""
    apprise = load_apprise()
    return apprise.Apprise.instantiate(url) is not None
