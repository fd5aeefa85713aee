"""Networks from a config, and whether a peer is in them."""

from __future__ import annotations

import pytest

from rexmon.networks import in_networks, parse_networks


def test_addresses_and_networks_of_both_families_are_read() -> None:
    networks = parse_networks(["10.0.0.0/8", "192.0.2.7", "::1", "2001:db8::/32"])
    assert in_networks("10.2.3.4", networks)
    assert in_networks("192.0.2.7", networks) and not in_networks("192.0.2.8", networks)
    assert in_networks("2001:db8::5", networks) and in_networks("::1", networks)


def test_an_ipv4_peer_seen_on_an_ipv6_socket_is_its_ipv4_address() -> None:
    assert in_networks("::ffff:10.1.2.3", parse_networks(["10.0.0.0/8"]))


def test_what_is_not_an_address_is_in_no_network() -> None:
    networks = parse_networks(["0.0.0.0/0", "::/0"])
    for peer in (None, "", "node01", "10.0.0.1:80"):
        assert not in_networks(peer, networks)
    assert in_networks("fe80::1%eth0", networks)


def test_a_bad_network_is_named() -> None:
    with pytest.raises(ValueError, match="got '10.0.0.0/33'"):
        parse_networks(["10.0.0.0/33"])
