"""Validating tokens by asking the authorization server (RFC 7662): revocation is seen at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from valetkey.core import scopes
from valetkey.core.checks import Rejected, Rule, run_rules
from valetkey.core.client_auth import basic_credentials
from valetkey.core.clock import Clock, SystemClock
from valetkey.core.errors import InvalidToken
from valetkey.core.events import Check, EventSink, NullSink
from valetkey.core.records import fast_init
from valetkey.resource.cache import DigestCache, token_digest
from valetkey.resource.discovery import Discovery, Unavailable, new_http_client
from valetkey.resource.events import emit
from valetkey.resource.token import AccessToken, audience_of


@fast_init
@dataclass(frozen=True)
class _Answer:
    validator: IntrospectionValidator
    body: dict[str, Any]
    now: float


def check_active(a: _Answer) -> None:
    if a.body.get("active") is not True:
        raise InvalidToken("the access token is not active (expired, revoked or unknown)")


def check_token_type(a: _Answer) -> None:
    kind = a.body.get("token_type")
    # RFC 9449 §6.2: a DPoP-bound access token is introspected as token_type DPoP.
    if kind is not None and str(kind).lower() not in ("bearer", "dpop", "access_token"):
        raise InvalidToken("the token is not an access token", detail=f"token_type={kind!r}")


def check_issuer(a: _Answer) -> None:
    iss = a.body.get("iss")
    if iss is not None and iss != a.validator.issuer:
        raise InvalidToken("the access token was issued by another authorization server")


def check_audience(a: _Answer) -> None:
    if a.validator.audience not in audience_of(a.body.get("aud")):
        raise InvalidToken(
            "the access token is meant for another resource (its aud does not name this API)",
            detail=f"aud={a.body.get('aud')!r}",
        )


def check_expiry(a: _Answer) -> None:
    exp = a.body.get("exp")
    if exp is not None and (not isinstance(exp, int | float) or a.now >= float(exp)):
        raise InvalidToken("the access token has expired", detail=f"exp={exp!r}")


def check_scope(a: _Answer) -> None:
    value = a.body.get("scope")
    try:
        scopes.parse(value if isinstance(value, str) or value is None else "\x00")
    except ValueError:
        raise InvalidToken("the introspection response's scope is malformed") from None
    if not isinstance(a.body.get("sub", a.body.get("client_id")), str):
        raise InvalidToken("the introspection response names neither sub nor client_id")


RULES: tuple[Rule[_Answer], ...] = (
    Rule("active", "RFC 7662 §2.2", check_active),
    Rule("token_type", "RFC 7662 §2.2", check_token_type),
    Rule("issuer", "RFC 7662 §2.2", check_issuer),
    Rule("audience", "RFC 7662 §2.2", check_audience),
    Rule("not_expired", "RFC 7662 §2.2", check_expiry),
    Rule("scope_syntax", "RFC 7662 §2.2", check_scope),
)


class IntrospectionValidator:
    """Asks the issuer's introspection endpoint, authenticating with client_secret_basic.

    ``cache_seconds`` (default 0: ask every time) bounds how long an answer is reused; it is never
    reused past the token's own ``exp``.
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        client_id: str,
        client_secret: str,
        endpoint: str | None = None,
        cache_seconds: float = 0.0,
        cache_size: int = 10_000,
        sink: EventSink | None = None,
        clock: Clock | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.client_id = client_id
        self._authorization = basic_credentials(client_id, client_secret)
        self.endpoint = endpoint
        self.cache_seconds = cache_seconds
        self.sink: EventSink = sink or NullSink()
        self.clock: Clock = clock or SystemClock()
        self._own_http = http is None
        self.http = http or new_http_client()
        self.discovery = Discovery(issuer, self.http)
        self.cache: DigestCache[AccessToken] = DigestCache(cache_size)
        self.calls = 0

    async def validate(self, token: str, flow_id: str) -> AccessToken:
        now = self.clock.now()
        digest = token_digest(token)
        hit = self.cache.get(digest, now)
        if hit is not None:
            return hit
        body = await self._introspect(token, flow_id)
        checks = run_rules(RULES, _Answer(self, body, now))
        result = _access_token(body, self.issuer, checks)
        if self.cache_seconds > 0:
            until = now + self.cache_seconds
            if result.expires_at is not None:
                until = min(until, result.expires_at)
            self.cache.put(digest, result, until, now)
        return result

    async def _introspect(self, token: str, flow_id: str) -> dict[str, Any]:
        try:
            url = self.endpoint or await self.discovery.endpoint("introspection_endpoint")
            body = await self._post(url, token)
        except Unavailable as exc:
            raise Rejected(
                exc, (Check("introspection", "fail", "RFC 7662 §2.1", exc.detail),)
            ) from None
        self.calls += 1
        emit(
            self.sink,
            self.clock,
            "token.introspected",
            flow_id,
            f"asked the authorization server: active={body.get('active') is True}",
            source="resource_server",
            target="authorization_server",
            data={"active": body.get("active") is True, "client_id": body.get("client_id")},
        )
        return body

    async def _post(self, url: str, token: str) -> dict[str, Any]:
        try:
            response = await self.http.post(
                url,
                data={"token": token, "token_type_hint": "access_token"},
                headers={"Authorization": self._authorization, "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise Unavailable(
                "the authorization server could not be asked about the token",
                detail=f"{url}: {type(exc).__name__}",
            ) from exc
        if response.status_code != 200:
            raise Unavailable(
                "the authorization server did not answer the introspection request",
                detail=f"{url}: HTTP {response.status_code} (is the resource server's client "
                f"{self.client_id!r} registered and allowed to introspect?)",
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise Unavailable("the introspection response is not a JSON object", detail=url)
        return body

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()


def _access_token(body: dict[str, Any], issuer: str, checks: tuple[Check, ...]) -> AccessToken:
    client_id = body.get("client_id")
    client_id = client_id if isinstance(client_id, str) else None
    exp = body.get("exp")
    return AccessToken(
        sub=str(body.get("sub") or client_id),
        client_id=client_id,
        scope=scopes.parse(body.get("scope")),
        audience=audience_of(body.get("aud")),
        issuer=str(body.get("iss") or issuer),
        expires_at=float(exp) if isinstance(exp, int | float) else None,
        claims=body,
        source="introspection",
        checks=checks,
    )
