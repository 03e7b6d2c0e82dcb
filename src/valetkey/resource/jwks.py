"""The issuer's JWK Set: cached, refetched on an unknown ``kid`` at most once per cooldown."""

from __future__ import annotations

import asyncio
from typing import Any

from valetkey.core.checks import Rejected
from valetkey.core.clock import Clock
from valetkey.core.errors import InvalidToken
from valetkey.core.events import Check, EventSink
from valetkey.resource.discovery import Discovery, Unavailable, get_json
from valetkey.resource.events import emit

_KTY = {"ES256": "EC", "RS256": "RSA"}
KID_SPEC = "RFC 7517 §4.5"


class JwksCache:
    def __init__(
        self,
        discovery: Discovery,
        *,
        jwks_uri: str | None,
        cooldown: float,
        max_age: float,
        sink: EventSink,
        clock: Clock,
    ) -> None:
        self.discovery = discovery
        self.jwks_uri = jwks_uri
        self.cooldown = cooldown
        self.max_age = max_age
        self.sink = sink
        self.clock = clock
        self.fetches = 0
        self._keys: list[dict[str, Any]] | None = None
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def keys_for(self, kid: Any, alg: str, flow_id: str) -> list[dict[str, Any]]:
        """The published keys that may have signed a token with this header; [] never returned."""
        now = self.clock.now()
        if self._keys is None or now - self._fetched_at >= self.max_age:
            await self._refresh(flow_id, "no key set cached" if self._keys is None else "expired")
        found = _matching(self._keys or [], kid, alg)
        if not found and self.clock.now() - self._fetched_at >= self.cooldown:
            await self._refresh(flow_id, f"unknown kid {str(kid)[:40]!r}")
            found = _matching(self._keys or [], kid, alg)
        if not found:
            error = InvalidToken(
                "the access token was signed with a key the authorization server does not publish",
                rule="signing_key_known",
                spec=KID_SPEC,
                detail=f"kid={str(kid)[:64]!r} alg={alg}",
            )
            raise Rejected(error, (Check("signing_key_known", "fail", KID_SPEC, error.detail),))
        return found

    async def _refresh(self, flow_id: str, reason: str) -> None:
        started = self.clock.now()
        async with self._lock:
            if self._fetched_at >= started and self._keys is not None:
                return  # another request refreshed while this one waited
            if self._keys is None and self.clock.now() - self._fetched_at < self.cooldown:
                error = Unavailable(
                    "the authorization server's JWK Set could not be fetched; try again shortly"
                )
                raise Rejected(
                    error, (Check("jwks_available", "fail", "RFC 8414 §2", "cooling down"),)
                )
            try:
                keys = await self._fetch()
            except Unavailable as exc:
                self._fetch_failed(exc, flow_id)
                return
            self._keys, self._fetched_at = keys, self.clock.now()
            self.fetches += 1
            emit(
                self.sink,
                self.clock,
                "jwks.fetched",
                flow_id,
                f"fetched the authorization server's key set ({reason})",
                source="resource_server",
                target="authorization_server",
                data={"kids": [str(k.get("kid")) for k in keys], "reason": reason},
            )

    def _fetch_failed(self, exc: Unavailable, flow_id: str) -> None:
        self._fetched_at = self.clock.now()  # the cooldown applies to failures too
        if self._keys is None:
            check = Check("jwks_available", "fail", "RFC 8414 §2", exc.detail)
            raise Rejected(exc, (check,)) from None
        emit(
            self.sink,
            self.clock,
            "jwks.fetch_failed",
            flow_id,
            f"kept the cached key set: {exc.detail}",
            source="resource_server",
            target="authorization_server",
            error="temporarily_unavailable",
        )

    async def _fetch(self) -> list[dict[str, Any]]:
        uri = self.jwks_uri or await self.discovery.endpoint("jwks_uri")
        body = await get_json(self.discovery.http, uri, "JWK Set")
        keys = body.get("keys")
        if not isinstance(keys, list):
            raise Unavailable("the authorization server's JWK Set has no keys list", detail=uri)
        return [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"]


def _matching(keys: list[dict[str, Any]], kid: Any, alg: str) -> list[dict[str, Any]]:
    out = []
    for key in keys:
        if key.get("kty") != _KTY.get(alg) or key.get("alg", alg) != alg:
            continue  # RFC 7517 §4.4: a key marked for another algorithm is not used for this one
        if kid is None or key.get("kid") == kid:
            out.append(key)
    return out
