"""A private_key_jwt client's public keys (RFC 7591 §2, OIDC Core §10.1): its registered ``jwks``
as is, or the JWK Set at its ``jwks_uri`` fetched through ``server.outbound`` (https only, public
addresses only unless ``development_allow_loopback_fetch``, no redirects, a size cap, short
timeouts, HTTP caching: docs/outbound.md). When no key has an assertion's ``kid``, the set is
fetched once more past the cache (the client may have rotated its keys), at most once per client
per ``refetch_every`` seconds, so that unknown kids cannot make the server fetch at will."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from valetkey.core.errors import InvalidClient
from valetkey.core.models import Client
from valetkey.server.outbound import FetchCache, FetchRefused, OutboundPolicy, fetch_json

PURPOSE = "client JWK Set"
REMEMBERED = 10_000  # clients whose last forced fetch is remembered


@dataclass(frozen=True)
class Keys:
    jwks: Mapping[str, Any] | None
    from_network: bool = False  # fetched just now: fetching again would find the same set


@dataclass
class ClientKeys:
    policy: OutboundPolicy = field(default_factory=OutboundPolicy)
    cache: FetchCache = field(default_factory=FetchCache)
    refetch_every: float = 60.0
    _refetched: dict[str, float] = field(default_factory=dict)

    async def keys(self, client: Client, now: float, *, again: bool = False) -> Keys:
        """The client's JWK Set; ``again`` skips the cache. InvalidClient naming the outbound
        rule when the jwks_uri is refused (its description says why)."""
        uri = client.jwks_uri
        if uri is None:
            return Keys(client.jwks)
        if again:
            self.cache.drop(uri)
        try:
            document = await fetch_json(
                uri, purpose=PURPOSE, policy=self.policy, cache=self.cache, now=now
            )
        except FetchRefused as refused:
            raise InvalidClient(
                f"the client's jwks_uri could not be fetched: {refused.description}",
                rule=refused.rule,
                spec=refused.spec,
                detail=f"{uri[:200]}: {refused.detail or refused.description}",
            ) from refused
        return Keys(document.data, from_network=document.source != "cache")

    def may_refetch(self, client: Client, keys: Keys, now: float) -> bool:
        """Whether an unknown kid may fetch the client's jwks_uri once more, now (and if so, the
        time is recorded: the next one waits ``refetch_every``)."""
        if client.jwks_uri is None or keys.from_network:
            return False
        last = self._refetched.get(client.client_id)
        if last is not None and 0 <= now - last < self.refetch_every:
            return False
        if len(self._refetched) >= REMEMBERED:
            self._refetched.clear()
        self._refetched[client.client_id] = now
        return True
