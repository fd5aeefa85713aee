"""Which direct peers are reverse proxies we believe: ``web.trusted_proxies``.

Only a proxy may tell us who the client is (``X-Forwarded-For``) or who the user is
(the ``auth.trusted_header``, e.g. ``Remote-User``). Any client that reaches gunicorn
directly could send those headers too, so both are taken only from a request whose
direct peer (``REMOTE_ADDR`` as the socket gave it, before any rewriting) is in one of
the configured networks. ``web.proxies`` still says how many proxies append to
``X-Forwarded-For``; ``web.trusted_proxies`` says which peers are proxies at all.
"""

from __future__ import annotations

from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

from rexmon.networks import Network, in_networks, parse_networks
from rexmon.yamlconf import Node

__all__ = ["Network", "parse_networks"]
DEFAULT_TRUSTED = ("127.0.0.1/32", "::1/128")  # nginx or Apache on the same host
FROM_PROXY = "rexmon.from_proxy"  # environ key: the direct peer is a trusted proxy
DIRECT_PEER = "rexmon.direct_peer"


def networks_from_node(node: Node | None) -> tuple[Network, ...]:
    """Parse ``web.trusted_proxies`` (absent: the loopback addresses)."""
    if node is None:
        return parse_networks(DEFAULT_TRUSTED)
    try:
        return parse_networks(node.as_str_list())
    except ValueError as exc:
        raise node.error(str(exc)) from None


def is_trusted(address: str | None, networks: tuple[Network, ...]) -> bool:
    return in_networks(address, networks)


class TrustedProxies:
    """WSGI middleware: marks requests from trusted proxies; only those get ProxyFix."""

    def __init__(self, app: Any, networks: tuple[Network, ...], hops: int) -> None:
        self.app = app
        self.networks = networks
        self.fixed = ProxyFix(app, x_for=hops, x_proto=hops, x_host=hops) if hops else app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        peer = environ.get("REMOTE_ADDR")
        trusted = is_trusted(peer, self.networks)
        environ[DIRECT_PEER] = peer
        environ[FROM_PROXY] = trusted
        return (self.fixed if trusted else self.app)(environ, start_response)
