"""Where a webhook may go: each kind of address, with private addresses allowed and not."""

from __future__ import annotations

import pytest

from chalicelib.adapters.netguard import Refused, WebhookPolicy, check_address, parse
from chalicelib.domain.inputs import numeric_host_form

STRICT = WebhookPolicy(https_only=True, allow_private=False)
LOCAL = WebhookPolicy(https_only=False, allow_private=True)


@pytest.mark.parametrize(
    ("address", "strict", "local"),
    [
        pytest.param("93.184.216.34", True, True, id="a global IPv4 address is allowed everywhere"),
        pytest.param("2606:2800:220:1::1", True, True, id="a global IPv6 address is allowed everywhere"),
        pytest.param("127.0.0.1", False, True, id="loopback only where private is allowed"),
        pytest.param("127.255.0.9", False, True, id="all of 127/8 is loopback"),
        pytest.param("::1", False, True, id="IPv6 loopback likewise"),
        pytest.param("10.1.2.3", False, True, id="10/8 is private"),
        pytest.param("172.31.255.255", False, True, id="172.16/12 ends at 172.31"),
        pytest.param("172.32.0.1", True, True, id="172.32 is outside it"),
        pytest.param("192.168.0.10", False, True, id="192.168/16 is private"),
        pytest.param("fd12::1", False, True, id="fc00::/7 is private"),
        pytest.param("169.254.169.254", False, False, id="the metadata service: never"),
        pytest.param("169.254.0.1", False, False, id="all of link-local: never"),
        pytest.param("fe80::1", False, False, id="IPv6 link-local: never"),
        pytest.param(
            "fd00:ec2::254", False, False, id="EC2's IPv6 metadata address: never, though in fc00::/7"
        ),
        pytest.param("100.64.0.1", False, False, id="CGNAT: never"),
        pytest.param("100.127.255.254", False, False, id="CGNAT's last address"),
        pytest.param("224.0.0.251", False, False, id="multicast: never"),
        pytest.param("ff05::2", False, False, id="IPv6 multicast: never"),
        pytest.param("0.0.0.0", False, False, id="unspecified: never"),
        pytest.param("::", False, False, id="IPv6 unspecified: never"),
        pytest.param("240.1.2.3", False, False, id="reserved: never"),
        pytest.param("198.18.0.1", False, False, id="benchmarking range (not global): never"),
        pytest.param("::ffff:10.0.0.1", False, False, id="IPv4-mapped, even of a private address: never"),
        pytest.param("::ffff:8.8.8.8", False, False, id="IPv4-mapped of a global address: never"),
        pytest.param("2002:a9fe:a9fe::1", False, False, id="6to4 wrapping the metadata service: never"),
    ],
)
def test_addresses(address: str, strict: bool, local: bool) -> None:
    for policy, allowed in ((STRICT, strict), (LOCAL, local)):
        if allowed:
            check_address(address, policy)
        else:
            with pytest.raises(Refused):
                check_address(address, policy)


@pytest.mark.parametrize(
    ("host", "numeric"),
    [
        pytest.param("127.0.0.1", False, id="dotted decimal is the one numeric form accepted"),
        pytest.param("8.8.8.8", False, id="any dotted quad"),
        pytest.param("hooks.example.com", False, id="a name"),
        pytest.param("::1", False, id="an IPv6 literal is judged as an address"),
        pytest.param("2130706433", True, id="decimal"),
        pytest.param("0177.0.0.1", True, id="octal"),
        pytest.param("0x7f.0.0.1", True, id="hex"),
        pytest.param("0x7f000001", True, id="one hex number"),
        pytest.param("127.1", True, id="short"),
        pytest.param("010.0.0.1", True, id="a leading zero is octal to some parsers"),
        pytest.param("127.0.0.1.", True, id="a trailing dot"),
        pytest.param("256.0.0.1", True, id="out of range"),
        pytest.param("example.123", True, id="a name ending in a number parses as IPv4 in browsers"),
    ],
)
def test_numeric_host_forms(host: str, numeric: bool) -> None:
    assert numeric_host_form(host) is numeric


@pytest.mark.parametrize(
    ("url", "policy", "why"),
    [
        pytest.param("http://hooks.example.com/", STRICT, "https", id="http in the cloud"),
        pytest.param("ftp://hooks.example.com/", LOCAL, "http or https", id="ftp anywhere"),
        pytest.param("https://hooks.example.com:99999/", STRICT, "port", id="a port out of range"),
        pytest.param("https:///nohost", STRICT, "host", id="no host"),
    ],
)
def test_url_forms(url: str, policy: WebhookPolicy, why: str) -> None:
    with pytest.raises(Refused, match=why):
        parse(url, policy)


def test_a_url_keeps_its_path_and_query_and_defaults_its_port() -> None:
    target = parse("https://hooks.example.com/in?x=1", STRICT)
    assert (target.host, target.port, target.path, target.shown) == (
        "hooks.example.com",
        443,
        "/in?x=1",
        "hooks.example.com:443",
    )
