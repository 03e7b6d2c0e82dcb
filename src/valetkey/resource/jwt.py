"""Validating RFC 9068 JWT access tokens locally, with the issuer's JWK Set."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from valetkey.core import jose, scopes
from valetkey.core.checks import Rejected, run_rules
from valetkey.core.clock import Clock, SystemClock
from valetkey.core.errors import InvalidToken
from valetkey.core.events import Check, EventSink, NullSink
from valetkey.resource.cache import DigestCache, token_digest
from valetkey.resource.claims import CLAIM_RULES, HEADER_RULES, JwtContext
from valetkey.resource.discovery import Discovery, new_http_client
from valetkey.resource.jwks import JwksCache
from valetkey.resource.token import AccessToken, audience_of

DEFAULT_ALGORITHMS = ("ES256", "RS256")


class JWTValidator:
    """Checks signature, ``typ``, ``iss``, ``aud``, ``exp`` and ``nbf``; caches good tokens until expiry."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
        leeway: float = 10.0,
        jwks_uri: str | None = None,
        refresh_cooldown: float = 1.0,
        jwks_max_age: float = 300.0,
        cache_size: int = 10_000,
        sink: EventSink | None = None,
        clock: Clock | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        bad = [a for a in algorithms if a not in jose.SIGNING_ALGS]
        if bad or not algorithms:  # RFC 8725 §3.1: a fixed allow-list, never none or HMAC
            raise ValueError(f"algorithms must be a non-empty subset of {jose.SIGNING_ALGS}")
        self.issuer = issuer
        self.audience = audience
        self.algorithms = tuple(algorithms)
        self.leeway = leeway
        self.sink: EventSink = sink or NullSink()
        self.clock: Clock = clock or SystemClock()
        self._own_http = http is None
        self.http = http or new_http_client()
        self.discovery = Discovery(issuer, self.http)
        self.keys = JwksCache(
            self.discovery,
            jwks_uri=jwks_uri,
            cooldown=refresh_cooldown,
            max_age=jwks_max_age,
            sink=self.sink,
            clock=self.clock,
        )
        self.cache: DigestCache[AccessToken] = DigestCache(cache_size)

    async def validate(self, token: str, flow_id: str) -> AccessToken:
        now = self.clock.now()
        digest = token_digest(token)
        hit = self.cache.get(digest, now)
        if hit is not None:
            return hit
        try:
            header, claims = jose.unverified_parts(token)
        except jose.TokenInvalid:
            raise Rejected(
                InvalidToken(
                    "the access token is not a JWT", rule="jwt_syntax", spec="RFC 7519 §7.2"
                ),
                (Check("jwt_syntax", "fail", "RFC 7519 §7.2"),),
            ) from None
        ctx = JwtContext(self, header, claims, now)
        checks = run_rules(HEADER_RULES, ctx)
        checks += await self._verify_signature(token, header, flow_id, checks)
        try:
            checks += run_rules(CLAIM_RULES, ctx)
        except Rejected as rejected:
            raise Rejected(rejected.error, checks + rejected.checks) from None
        result = self._access_token(claims, checks)
        self.cache.put(digest, result, float(claims["exp"]), now)
        return result

    async def _verify_signature(
        self, token: str, header: dict[str, Any], flow_id: str, done: tuple[Check, ...]
    ) -> tuple[Check, ...]:
        alg = str(header["alg"])
        try:
            candidates = await self.keys.keys_for(header.get("kid"), alg, flow_id)
        except Rejected as rejected:
            raise Rejected(rejected.error, done + rejected.checks) from None
        for jwk in candidates:
            try:
                jose.verify(token, {"keys": [jwk]}, algorithms=(alg,))
            except jose.TokenInvalid:
                continue
            return (
                Check("signing_key_known", "pass", "RFC 7517 §4.5"),
                Check("signature", "pass", "RFC 7515 §5.2", f"kid={jwk.get('kid')}"),
            )
        error = InvalidToken(
            "the access token's signature does not verify", rule="signature", spec="RFC 7515 §5.2"
        )
        fail = Check("signature", "fail", "RFC 7515 §5.2", f"kid={header.get('kid')!r}")
        raise Rejected(error, (*done, Check("signing_key_known", "pass", "RFC 7517 §4.5"), fail))

    def _access_token(self, claims: dict[str, Any], checks: tuple[Check, ...]) -> AccessToken:
        client_id = claims.get("client_id")
        return AccessToken(
            sub=str(claims["sub"]),
            client_id=client_id if isinstance(client_id, str) else None,
            scope=scopes.parse(claims.get("scope")),
            audience=audience_of(claims.get("aud")),
            issuer=str(claims["iss"]),
            expires_at=float(claims["exp"]),
            claims=claims,
            source="jwt",
            checks=checks,
        )

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()
