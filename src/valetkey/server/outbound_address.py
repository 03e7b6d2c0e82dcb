"""Where the server may connect on a client's say-so: the URL's shape and every address.

Pure checks (no I/O): the URL is parsed once, with the same parser that sends the request, so the
host that is checked is the host that is resolved, sent as TLS SNI and verified.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import httpx

from valetkey.server.outbound_errors import (
    ForbiddenHostLiteral,
    ForbiddenResolvedAddress,
    FragmentInURL,
    MalformedURL,
    NotHttps,
    PortNotAllowed,
    UserinfoInURL,
)

Address = IPv4Address | IPv6Address

_V4: tuple[tuple[str, tuple[IPv4Network, ...]], ...] = tuple(
    (category, tuple(IPv4Network(n) for n in networks))
    for category, networks in (
        ("unspecified", ("0.0.0.0/8",)),
        ("loopback", ("127.0.0.0/8",)),
        ("private", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")),
        ("carrier-grade NAT", ("100.64.0.0/10",)),
        ("link-local", ("169.254.0.0/16",)),  # includes the cloud metadata 169.254.169.254
        ("documentation", ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")),
        ("benchmarking", ("198.18.0.0/15",)),
        ("multicast", ("224.0.0.0/4",)),
        ("reserved", ("192.0.0.0/24", "192.88.99.0/24", "240.0.0.0/4")),
    )
)
_V6: tuple[tuple[str, tuple[IPv6Network, ...]], ...] = tuple(
    (category, tuple(IPv6Network(n) for n in networks))
    for category, networks in (
        ("unspecified", ("::/128",)),
        ("loopback", ("::1/128",)),
        ("documentation", ("2001:db8::/32", "3fff::/20")),
        ("unique-local", ("fc00::/7",)),
        ("link-local", ("fe80::/10",)),
        ("site-local", ("fec0::/10",)),
        ("multicast", ("ff00::/8",)),
        # IPv4-compatible and other ::/8, local-use NAT64, discard-only, IETF protocol
        # assignments (Teredo among them), SRv6 segment identifiers
        ("reserved", ("::/8", "64:ff9b:1::/48", "100::/64", "2001::/23", "5f00::/16")),
    )
)
_NAT64 = IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address
_HOST = re.compile(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_.])?")  # IDNA-encoded already


def forbidden_category(address: Address) -> str | None:
    """Why the server never connects to ``address`` ("loopback", "private", ...), or None when it
    is a public internet address. IPv6 forms that carry an IPv4 address are judged by it."""
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return forbidden_category(embedded)
        table: Sequence[tuple[str, Sequence[IPv4Network | IPv6Network]]] = _V6
    else:
        table = _V4
    for category, networks in table:
        if any(address in network for network in networks):
            return category
    return None if address.is_global else "not globally routable"


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    return address.sixtofour  # 2002::/16, RFC 3056


def refusal(address: Address, allow_loopback: bool) -> str | None:
    """The category that forbids ``address`` under the policy (loopback only with the switch)."""
    category = forbidden_category(address)
    return None if category == "loopback" and allow_loopback else category


@dataclass(frozen=True)
class Target:
    """A URL that passed the shape checks: its ASCII host, port and whether it still needs the
    development switch's loopback exemption (plain http or a port outside the allowed ones)."""

    url: httpx.URL
    host: str
    port: int
    literal: Address | None
    needs_loopback: str | None  # "http" or "port"


def parse_target(
    text: str, purpose: str, *, allow_loopback: bool, allowed_ports: frozenset[int]
) -> Target:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise MalformedURL(_malformed(purpose), detail=str(exc)) from exc
    host = url.raw_host.decode("ascii")
    port = url.port or (443 if url.scheme == "https" else 80)
    if url.scheme not in ("https", "http"):
        raise NotHttps(f"the {purpose} URL must use https", detail=f"scheme {url.scheme!r}")
    if not host or not 0 < port < 65536:
        raise MalformedURL(_malformed(purpose), detail=text)
    # CIMD draft-01 §3: https, no user name or password, no fragment
    if url.userinfo:
        raise UserinfoInURL(f"the {purpose} URL must not contain a user name or password")
    if "#" in text:
        raise FragmentInURL(f"the {purpose} URL must not contain a fragment (#)")
    literal = _literal(host)
    zoned = isinstance(literal, IPv6Address) and literal.scope_id is not None
    if zoned or (literal is None and not _HOST.fullmatch(host)):
        raise MalformedURL(_malformed(purpose), detail=f"host {host!r}")
    needs = "http" if url.scheme == "http" else None
    if needs is None and port not in allowed_ports:
        needs = "port"
    if needs is not None and not allow_loopback:
        raise _needs_refusal(needs, purpose, allowed_ports, f"{url.scheme} port {port}")
    if literal is not None and (category := refusal(literal, allow_loopback)):
        raise ForbiddenHostLiteral(
            f"the {purpose} URL names an IP address that is not a public internet address; "
            "use a host name that resolves to public addresses only",
            detail=f"{literal} is {category}",
        )
    return Target(url, host, port, literal, needs)


def check_addresses(
    target: Target,
    addresses: Sequence[Address],
    purpose: str,
    *,
    allow_loopback: bool,
    allowed_ports: frozenset[int],
) -> None:
    """CIMD draft-01 §6.5: every address the host resolves to must be allowed, not just one."""
    for address in addresses:
        category = refusal(address, allow_loopback)
        if category is not None:
            raise ForbiddenResolvedAddress(
                f"the host of the {purpose} URL resolves to an address that is not a public "
                "internet address; every address it resolves to must be public",
                detail=f"{target.host} resolves to {address}, which is {category}",
            )
    if target.needs_loopback and not all(forbidden_category(a) == "loopback" for a in addresses):
        raise _needs_refusal(
            target.needs_loopback,
            purpose,
            allowed_ports,
            f"{target.host} resolves to {', '.join(map(str, addresses))}: not only loopback",
        )


def _needs_refusal(
    needs: str, purpose: str, allowed_ports: frozenset[int], detail: str
) -> NotHttps | PortNotAllowed:
    if needs == "http":
        return NotHttps(f"the {purpose} URL must use https", detail=detail)
    ports = " or ".join(str(p) for p in sorted(allowed_ports)) or "443"
    return PortNotAllowed(f"the {purpose} URL must use port {ports}", detail=detail)


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _malformed(purpose: str) -> str:
    return f"the {purpose} URL is not a valid absolute https URL with a host name"
