"""Fetch a JSON document from a URL a client named (client metadata documents, ``jwks_uri``).

Every such fetch is an SSRF risk (draft-ietf-oauth-client-id-metadata-document-01 §6.5), so
``fetch_json`` refuses, each with its own ``FetchRefused`` subclass (``outbound_errors``): a URL
that is not https, has a user name or password, a fragment or a port outside ``allowed_ports``;
a host that is, or resolves to, any address that is not public (checked after one lookup, and
the connection is made to a checked address only: no DNS rebinding); a redirect (never
followed); any status but 200; a compressed body; a body past ``max_bytes`` (reading stops at
the cap); a server slower than the connect/read timeouts or the total deadline; a content type
that is not JSON, invalid JSON or a value that is not an object. HTTP caching: ``outbound_cache``.
The rules and limits for operators: docs/outbound.md.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from valetkey.core.events import Check
from valetkey.server.outbound_cache import CachedResponse, FetchCache, Freshness, lifetime
from valetkey.server.outbound_errors import (
    FetchRefused,
    FetchTimedOut,
    ForbiddenResolvedAddress,
    NotHttps,
    NotJsonObject,
    ResponseTooLarge,
    UnexpectedStatus,
)

if TYPE_CHECKING:
    from valetkey.server.outbound_net import Resolver

# The HTTP side (outbound_address, outbound_http, outbound_net: httpx, which loads rich and pygments
# for its own command line) is imported by the first fetch, not at start-up: a server that never
# fetches a client's document or JWK Set starts about 0.15 s sooner.

__all__ = [
    "FetchCache",
    "FetchRefused",
    "FetchedDocument",
    "Freshness",
    "OutboundPolicy",
    "fetch_json",
]


@dataclass(frozen=True)
class OutboundPolicy:
    """How the server fetches a URL a client named. The defaults are the production rules.

    ``allow_loopback`` is the development switch (tests and local development only; the server
    setting ``development_allow_loopback_fetch``): it allows loopback addresses, and on
    loopback plain http and any port. Private (RFC 1918), link-local (169.254.169.254 among
    them), unique-local, CGNAT and every other special-use range stay forbidden even then.
    ``verify`` is the TLS trust (a test CA, say); it must verify certificates and host names:
    turning verification off is refused. ``resolver`` replaces DNS (tests).
    """

    allow_loopback: bool = False
    allowed_ports: frozenset[int] = frozenset({443})
    max_bytes: int = 32 * 1024
    connect_timeout: float = 2.0
    read_timeout: float = 2.0
    total_timeout: float = 5.0
    freshness: Freshness = field(default_factory=Freshness)
    verify: ssl.SSLContext | None = None
    resolver: Resolver | None = None

    def __post_init__(self) -> None:
        if self.verify is not None and (
            self.verify.verify_mode != ssl.CERT_REQUIRED or not self.verify.check_hostname
        ):
            raise ValueError("outbound fetches always verify certificates and host names")


Source = Literal["network", "cache", "revalidated"]


@dataclass(frozen=True)
class FetchedDocument:
    url: str
    data: dict[str, Any]  # a fresh copy for each caller: changing it changes nothing cached
    source: Source  # fetched now, served from the cache, or confirmed by a 304
    fresh_until: float  # until then ``fetch_json`` answers from the cache (``now``: not kept)
    etag: str | None
    address: str  # the IP address the document came from
    checks: tuple[Check, ...]  # the rules that passed, for the event stream


async def fetch_json(
    url: str, *, purpose: str, policy: OutboundPolicy, cache: FetchCache, now: float
) -> FetchedDocument:
    """The JSON object at ``url``, from ``cache`` while fresh, else fetched (one fetch at a time
    per URL: concurrent callers share it). ``purpose`` names the document in the refusals'
    descriptions ("client metadata document"). Raises a ``FetchRefused`` subclass."""
    from valetkey.server.outbound_http import parse_object

    fresh = cache.get(url)
    source: Source
    if fresh is not None and now < fresh.fresh_until:
        entry, source = fresh, "cache"
    else:
        entry, source = await cache.single_flight(
            url, partial(_fetch, url, purpose, policy, cache, now)
        )
    checks = _CACHE_CHECKS if source == "cache" else _NETWORK_CHECKS
    data = parse_object(entry.body, purpose)  # each caller its own copy
    return FetchedDocument(url, data, source, entry.fresh_until, entry.etag, entry.address, checks)


async def _fetch(
    url: str, purpose: str, policy: OutboundPolicy, cache: FetchCache, now: float
) -> tuple[CachedResponse, Source]:
    from valetkey.server.outbound_address import check_addresses, parse_target
    from valetkey.server.outbound_http import Limits, get, parse_object
    from valetkey.server.outbound_net import default_ssl_context, resolve

    loopback, ports = policy.allow_loopback, policy.allowed_ports
    target = parse_target(url, purpose, allow_loopback=loopback, allowed_ports=ports)
    stale = cache.get(url)
    limits = Limits(policy.max_bytes, policy.connect_timeout, policy.read_timeout)
    try:
        async with asyncio.timeout(policy.total_timeout):  # trickling bytes do not reset it
            addresses = await resolve(target, policy.resolver, purpose)
            check_addresses(
                target, addresses, purpose, allow_loopback=loopback, allowed_ports=ports
            )
            context = policy.verify or default_ssl_context()
            reply = await get(
                target, addresses, context, limits, purpose, stale.etag if stale else None
            )
    except TimeoutError as exc:
        raise FetchTimedOut(
            f"the {purpose} URL did not answer in full within {policy.total_timeout:g} seconds",
            detail="total deadline",
        ) from exc
    if reply.status == 304 and stale is not None:  # RFC 9111 §4.3.4: update the stored headers
        headers = {**stale.headers, **reply.headers}
        entry = CachedResponse(stale.body, reply.etag or stale.etag, headers, now, reply.address)
        return _keep(url, cache, now, policy, entry), "revalidated"
    parse_object(reply.body, purpose)  # CIMD draft-01 §4.4: never keep an invalid document
    entry = CachedResponse(reply.body, reply.etag, reply.headers, now, reply.address)
    return _keep(url, cache, now, policy, entry), "network"


def _keep(
    url: str, cache: FetchCache, now: float, policy: OutboundPolicy, entry: CachedResponse
) -> CachedResponse:
    """Store a document for as long as its headers allow, within the policy's bounds."""
    seconds = lifetime(entry.headers, now, policy.freshness)
    if seconds is None:  # no-store
        cache.drop(url)
        return entry
    entry = CachedResponse(entry.body, entry.etag, entry.headers, now + seconds, entry.address)
    cache.put(url, entry)
    return entry


_NETWORK_CHECKS = tuple(
    Check(rule.rule, "pass", rule.spec)
    for rule in (
        NotHttps,
        ForbiddenResolvedAddress,
        UnexpectedStatus,
        ResponseTooLarge,
        NotJsonObject,
    )
)
_CACHE_CHECKS = (Check("outbound_cache_fresh", "pass", "RFC 9111 §4.2"),)
