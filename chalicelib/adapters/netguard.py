"""Where a webhook may go: the URL's scheme, its host's addresses, and the rule for each kind of address.

onair runs in the customer's account, next to their private network and the instance metadata service; a
tenant's webhook URL must never reach them. The rules, checked when a channel is written and again before
every call (DNS can change in between):

- https only in the cloud stage (`WebhookPolicy.https_only`); http is allowed locally and in tests.
- The host is resolved once; every address it resolves to must be allowed, and the call then connects to
  one of exactly those addresses (no second lookup that a rebinding DNS could answer differently).
- Numeric host forms other than dotted-quad decimal (`2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1`) are
  refused: parsers disagree about them (`chalicelib.domain.inputs.numeric_host_form`).
- Always refused: unspecified, link-local (169.254.0.0/16 with the instance metadata service, fe80::/10,
  and EC2's IPv6 metadata address fd00:ec2::254), shared address space (CGNAT, 100.64.0.0/10), multicast,
  reserved and every other non-global range, and IPv6 forms that carry an IPv4 address (mapped,
  compatible, NAT64, 6to4, Teredo).
- Loopback and private ranges (10/8, 172.16/12, 192.168/16, fc00::/7) only when the deployment sets
  `ONAIR_WEBHOOK_ALLOW_PRIVATE=true`, which the local stage does for development.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from chalicelib.domain.inputs import numeric_host_form

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int, float], list[str]]

RESOLVE_TIMEOUT_SECONDS = 2.0

# (network, what it is, allowed when the deployment allows private addresses), first match wins: the
# metadata address sits inside fc00::/7 and ::1 inside ::/96, so the exact entries come first.
_RANGES: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str, bool], ...] = tuple(
    (ipaddress.ip_network(network), kind, private)
    for network, kind, private in (
        ("0.0.0.0/8", "unspecified", False),
        ("::/128", "unspecified", False),
        ("127.0.0.0/8", "loopback", True),
        ("::1/128", "loopback", True),
        ("169.254.0.0/16", "link-local", False),
        ("fe80::/10", "link-local", False),
        ("fd00:ec2::254/128", "link-local", False),  # EC2's instance metadata service over IPv6
        ("100.64.0.0/10", "shared (CGNAT)", False),
        ("224.0.0.0/4", "multicast", False),
        ("ff00::/8", "multicast", False),
        ("240.0.0.0/4", "reserved", False),
        ("::ffff:0:0/96", "IPv4-mapped", False),
        ("::/96", "IPv4-mapped", False),  # IPv4-compatible
        ("64:ff9b::/96", "IPv4-mapped", False),  # NAT64
        ("64:ff9b:1::/48", "IPv4-mapped", False),
        ("2002::/16", "IPv4-mapped", False),  # 6to4
        ("2001::/32", "IPv4-mapped", False),  # Teredo
        ("10.0.0.0/8", "private", True),
        ("172.16.0.0/12", "private", True),
        ("192.168.0.0/16", "private", True),
        ("fc00::/7", "private", True),
    )
)


@dataclass(frozen=True)
class WebhookPolicy:
    """What a deployment lets webhooks reach; the default is the strictest (the cloud's)."""

    https_only: bool = True
    allow_private: bool = False


class Refused(Exception):
    """The URL may not be called; `why` is a short phrase safe to show (it names no resolved address)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class Unresolved(Exception):
    """The host name did not resolve (in time)."""


@dataclass(frozen=True)
class Target:
    """A vetted URL: where to connect (addresses already checked) and what to send there."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]

    @property
    def shown(self) -> str:
        """Host and port for reasons and logs (never the path or query, which may carry tokens)."""
        return f"{self.host}:{self.port}"


def kind_of(address: IPAddress) -> tuple[str, bool] | None:
    """What an address is (`"loopback"`, `"link-local"`, ...) and whether private use allows it; None if
    it is an ordinary global address."""
    for network, kind, private in _RANGES:
        if address.version == network.version and address in network:
            return kind, private
    if not address.is_global:
        return "reserved", False
    return None


def check_address(address: str, policy: WebhookPolicy) -> None:
    """Raise `Refused` unless a webhook may connect to `address` (an IP literal) under `policy`."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        raise Refused("is not an IP address") from None
    found = kind_of(ip)
    if found is None:
        return
    kind, private = found
    if private and policy.allow_private:
        return
    raise Refused(f"is a {kind} address, which webhooks may not call")


def parse(url: str, policy: WebhookPolicy) -> Target:
    """Check the URL's form (scheme, host, port) and any literal address; no DNS. Addresses left empty
    for a name."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused("must be an http or https URL")
    if policy.https_only and scheme != "https":
        raise Refused("must be an https URL in this deployment")
    host = (parts.hostname or "").lower()
    if not host:
        raise Refused("has no host")
    if numeric_host_form(host):
        raise Refused("writes its address in a numeric form other than dotted decimal")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise Refused("has an invalid port") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    literal = _literal(host)
    if literal is not None:
        check_address(literal, policy)
        return Target(scheme, host, port, path, (literal,))
    return Target(scheme, host, port, path, ())


def vet(url: str, policy: WebhookPolicy, resolve: Resolver | None = None) -> Target:
    """The URL with its host resolved once and every address checked: what a call connects to.

    Raises `Refused` (never worth retrying) or `Unresolved` (DNS failed; it may work later).
    """
    target = parse(url, policy)
    if target.addresses:
        return target
    addresses = (resolve or resolve_host)(target.host, target.port, RESOLVE_TIMEOUT_SECONDS)
    if not addresses:
        raise Unresolved(target.host)
    for address in addresses:
        try:
            check_address(address, policy)
        except Refused as refused:
            # Said of the name, not the address: which internal address a name has is not for the tenant.
            raise Refused(refused.why.replace("is a", "resolves to a", 1)) from None
    return Target(target.scheme, target.host, target.port, target.path, tuple(addresses))


def vet_for_write(url: str, policy: WebhookPolicy, resolve: Resolver | None = None) -> None:
    """The check when a channel is written: as `vet`, but a name that does not resolve (yet) is accepted;
    each call checks again."""
    with contextlib.suppress(Unresolved):
        vet(url, policy, resolve)


def resolve_host(host: str, port: int, timeout: float) -> list[str]:
    """The host's addresses (getaddrinfo), in order and without repeats; raises `Unresolved` when DNS
    fails or takes longer than `timeout` seconds (getaddrinfo has no timeout of its own)."""
    found: list[list[str]] = []

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return
        found.append(list(dict.fromkeys(str(info[4][0]) for info in infos)))

    worker = threading.Thread(target=lookup, name="onair-webhook-dns", daemon=True)
    worker.start()
    worker.join(timeout)
    if not found or not found[0]:
        raise Unresolved(host)
    return found[0]


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return None
