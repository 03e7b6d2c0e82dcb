"""DPoP for the client (RFC 9449): a key, a fresh proof for every request, and nonce challenges.

:class:`DPoPKey` holds the key (saved as a private JWK); :class:`DPoPSession` adds the latest nonce
of each origin and signs ``httpx`` requests. Two hooks put it on the wire without changing them:
:func:`with_dpop` wraps any sans-I/O flow of :mod:`valetkey.client.grants`, and :class:`DPoPAuth`
wraps an ``httpx.Auth`` such as :class:`~valetkey.client.auth.TokenAuth`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from valetkey.client.errors import ConfigError, SecurityCheckFailed
from valetkey.client.io import Flow
from valetkey.client.tokens import TokenSet
from valetkey.core import jose
from valetkey.core.challenge import parse_challenges
from valetkey.core.secrets import new_token

T = TypeVar("T")
Exchange = Generator[httpx.Request, httpx.Response, httpx.Response]
# RFC 9449 §8.1: nonce = 1*NQCHAR
_NONCE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,512}")


class DPoPKey:
    """A client's DPoP key pair; :meth:`to_jwk` / the constructor save and load it."""

    def __init__(self, private_jwk: Mapping[str, Any]) -> None:
        jwk = dict(private_jwk)
        if jwk.get("alg") not in jose.PROOF_ALGS or "d" not in jwk:
            raise ConfigError(f"a DPoP key is a private JWK whose alg is one of {jose.PROOF_ALGS}")
        try:
            self.public_jwk = jose.public_members(jwk)
        except ValueError as exc:
            raise ConfigError(f"the DPoP key is not a usable JWK: {exc}") from exc
        self.alg = str(jwk["alg"])
        self.jkt = jose.jwk_thumbprint(self.public_jwk)  # RFC 9449 §6.1 cnf.jkt, §10 dpop_jkt
        jwk.setdefault("kid", self.jkt)
        self._jwk = jwk
        self._header = {"typ": "dpop+jwt", "alg": self.alg, "jwk": self.public_jwk}

    @classmethod
    def generate(cls, alg: str = "ES256") -> DPoPKey:
        return cls(jose.generate_private_jwk(alg))

    def to_jwk(self) -> dict[str, Any]:
        """The private JWK: keep it like a password (the CLI saves it at mode 0600)."""
        return dict(self._jwk)

    def proof(
        self,
        method: str,
        url: str,
        *,
        now: float,
        nonce: str | None = None,
        access_token: str | None = None,
    ) -> str:
        """A new proof for one request (RFC 9449 §4.2): a fresh jti from ``secrets`` every time."""
        parts = urlsplit(url)
        claims: dict[str, Any] = {
            "jti": new_token(16),
            "htm": method,
            "htu": urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", "")),
            "iat": int(now),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["ath"] = jose.access_token_hash(access_token)
        return jose.sign_jws(self._header, claims, self._jwk)


def origin(url: httpx.URL | str) -> str:
    """Nonces are kept per origin: each server hands out its own (RFC 9449 §9)."""
    u = httpx.URL(url)
    return f"{u.scheme}://{u.host}:{u.port or {'http': 80, 'https': 443}.get(u.scheme, 0)}"


def offered_nonce(response: httpx.Response) -> str | None:
    """The one well-formed ``DPoP-Nonce`` of a response (RFC 9449 §8, §8.2), if any."""
    values = response.headers.get_list("dpop-nonce")
    return values[0] if len(values) == 1 and _NONCE.fullmatch(values[0]) else None


def dpop_challenge_error(response: httpx.Response) -> str | None:
    """The ``error`` of the response's ``WWW-Authenticate: DPoP`` challenge (RFC 9449 §7.1)."""
    for scheme, params in parse_challenges(response.headers.get_list("www-authenticate")):
        if scheme == "dpop" and "error" in params:
            return params["error"]
    return None


def _body_error(response: httpx.Response) -> str | None:
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def nonce_retry(response: httpx.Response) -> str | None:
    """The nonce to send the request again with, when the response asks for one: a 400
    ``use_dpop_nonce`` from the token endpoint (RFC 9449 §8) or a 401 with a DPoP challenge of
    ``error="use_dpop_nonce"`` from a resource (§9), each with a ``DPoP-Nonce``."""
    nonce = offered_nonce(response)
    if nonce is None:
        return None
    if response.status_code == 400 and _body_error(response) == "use_dpop_nonce":
        return nonce
    if response.status_code == 401 and dpop_challenge_error(response) == "use_dpop_nonce":
        return nonce
    return None


class DPoPSession:
    """A key and the newest nonce of each origin, used until that server sends another (§8.2)."""

    def __init__(self, key: DPoPKey, *, clock: Callable[[], float] = time.time) -> None:
        self.key = key
        self.clock = clock
        self._nonces: dict[str, str] = {}
        self._lock = threading.Lock()

    def nonce_for(self, url: httpx.URL | str) -> str | None:
        return self._nonces.get(origin(url))

    def sign(self, request: httpx.Request) -> None:
        """Set a new ``DPoP`` header; with ``Authorization: DPoP <token>`` it carries ``ath``."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        request.headers["DPoP"] = self.key.proof(
            request.method,
            str(request.url),
            now=self.clock(),
            nonce=self.nonce_for(request.url),
            access_token=token.strip() if scheme.lower() == "dpop" else None,
        )

    def observe(self, response: httpx.Response) -> str | None:
        """Remember the response's nonce; return it when the request must be sent again with it."""
        nonce = offered_nonce(response)
        if nonce is not None:
            with self._lock:
                self._nonces[origin(response.request.url)] = nonce
        return nonce_retry(response)

    def exchange(self, request: httpx.Request) -> Exchange:
        """Send ``request`` with a proof; once more with a new proof if a nonce is asked for."""
        self.sign(request)
        response = yield request
        if self.observe(response) is None:
            return response
        self.sign(request)  # RFC 9449 §8: retry with the nonce (and a new jti)
        response = yield request
        self.observe(response)
        return response


def with_dpop(flow: Flow[T], session: DPoPSession) -> Flow[T]:
    """``flow`` (any grant of :mod:`valetkey.client.grants`) with a DPoP proof on each request it
    sends to an endpoint that takes one (the token endpoint, PAR: its POSTs) and their nonce
    challenges answered; its GETs (discovery, the JWK Set) go without one: a proof there is signed
    work nobody checks. Responses must be read (``io.run`` and ``io.arun`` do)."""
    try:
        request = next(flow)
        while True:
            if request.method == "GET":
                response = yield request
            else:
                response = yield from session.exchange(request)
            request = flow.send(response)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def bound_tokens(flow: Flow[TokenSet], session: DPoPSession) -> Flow[TokenSet]:
    """:func:`with_dpop` for a token request that must come back DPoP-bound: RFC 9449 §5 says the
    client discards a response whose token_type is not DPoP when it relies on the binding."""
    tokens = yield from with_dpop(flow, session)
    if tokens.token_type.lower() != "dpop":  # RFC 6749 §5.1: token_type is case-insensitive
        raise SecurityCheckFailed(
            f"the server issued a {tokens.token_type[:20]} token, not a DPoP-bound one (RFC 9449 §5)"
        )
    return tokens


class DPoPAuth(httpx.Auth):
    """An ``httpx.Auth`` adding proofs to what ``inner`` sends (by default nothing else), e.g.
    ``DPoPAuth(session, TokenAuth(tokens, config, header_prefix="DPoP"))``; the refresh requests
    ``TokenAuth`` makes get proofs too, and its single-flight locking stays in place."""

    requires_response_body = True

    def __init__(self, session: DPoPSession, inner: httpx.Auth | None = None) -> None:
        self.session = session
        self.inner = inner or httpx.Auth()

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        yield from self.wrap_sync(self.inner.sync_auth_flow(request))

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        flow = self.wrap_async(self.inner.async_auth_flow(request))
        try:
            step = await flow.__anext__()
            while True:
                response = yield step
                step = await flow.asend(response)
        except StopAsyncIteration:
            return

    def wrap_sync(
        self, inner: Generator[httpx.Request, httpx.Response, None]
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Every request of ``inner`` (an auth flow) sent with a proof and nonce retries."""
        try:
            outgoing = next(inner)
            while True:
                exchange = self.session.exchange(outgoing)
                step = next(exchange)
                while True:
                    response = yield step
                    response.read()
                    try:
                        step = exchange.send(response)
                    except StopIteration:
                        break
                outgoing = inner.send(response)
        except StopIteration:
            return

    async def wrap_async(
        self, inner: AsyncGenerator[httpx.Request, httpx.Response]
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """:meth:`wrap_sync` for an async auth flow. The values sent in come through ``asend``."""
        try:
            outgoing = await inner.__anext__()
            while True:
                exchange = self.session.exchange(outgoing)
                step = next(exchange)
                while True:
                    response = yield step
                    await response.aread()
                    try:
                        step = exchange.send(response)
                    except StopIteration:
                        break
                outgoing = await inner.asend(response)
        except StopAsyncIteration:
            return
