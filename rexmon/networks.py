"""IP networks written in a config (``10.0.0.0/8``, ``192.0.2.7``, ``::1``) and the test
whether a peer address is in one of them: who is a trusted proxy (web), who may send
Graphite lines (carbon). Pure stdlib, so every program may use it."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(texts: Iterable[str]) -> tuple[Network, ...]:
    """``10.0.0.0/8``, ``192.0.2.7`` or ``::1``; raises ValueError naming the bad one."""
    networks = []
    for text in texts:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise ValueError(f"expected an IP address or network, got {text!r}") from None
    return tuple(networks)


def in_networks(address: str | None, networks: Iterable[Network]) -> bool:
    """Whether ``address`` (an IP as a socket gives it, maybe with ``%scope``) is in one
    of ``networks``; an IPv4 address seen on an IPv6 socket (``::ffff:10.1.2.3``) is
    taken as the IPv4 address it is. Anything unreadable is in none."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        mapped = ip.ipv4_mapped
        return any(ip in network or mapped in network for network in networks)
    return any(ip in network for network in networks)
