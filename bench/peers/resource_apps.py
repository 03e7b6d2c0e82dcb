"""W4: a protected resource validating RFC 9068 JWT access tokens locally, two ways.

``plain_app``: the baseline, a Starlette route verifying with joserfc directly (signature with the
AS's ES256 key fetched once, ``typ``, ``iss``, ``aud``, ``exp``, ``scope``).
``valetkey_app``: the same route protected by ``valetkey.resource`` (built on issue-4).
``dpop_app``: ``valetkey_app`` accepting DPoP-bound tokens with their proofs too (W6).
Both read BENCH_ISSUER (JWKS at ``$BENCH_ISSUER/jwks.json``) and BENCH_RESOURCE from the environment.
"""

from __future__ import annotations

import os
import time
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


def _settings() -> tuple[str, str]:
    return os.environ["BENCH_ISSUER"], os.environ["BENCH_RESOURCE"]


async def ready(_request: Request) -> Response:
    return PlainTextResponse("ok")


def plain_app() -> Starlette:
    issuer, resource = _settings()
    keys = KeySet.import_key_set(httpx.get(issuer + "/jwks.json", timeout=10).json())
    unauthorized = {"WWW-Authenticate": 'Bearer error="invalid_token"'}

    async def profile(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return JSONResponse({"error": "invalid_token"}, 401, headers=unauthorized)
        try:
            token = jwt.decode(header[7:], keys, algorithms=["ES256"])
        except (JoseError, ValueError):
            return JSONResponse({"error": "invalid_token"}, 401, headers=unauthorized)
        claims: dict[str, Any] = token.claims
        aud = claims.get("aud")
        ok = (
            token.header.get("typ", "").lower() in ("at+jwt", "application/at+jwt")
            and claims.get("iss") == issuer
            and (aud == resource or (isinstance(aud, list) and resource in aud))
            and isinstance(claims.get("exp"), int)
            and claims["exp"] > time.time()
            and "read" in str(claims.get("scope", "")).split()
        )
        if not ok:
            return JSONResponse({"error": "invalid_token"}, 401, headers=unauthorized)
        return JSONResponse({"sub": claims["sub"], "scope": claims["scope"]})

    return Starlette(routes=[Route("/ready", ready), Route("/profile", profile)])


def valetkey_app() -> Starlette:
    return _valetkey_app(dpop=False)


def dpop_app() -> Starlette:
    """W6: ``valetkey_app`` accepting DPoP too (RFC 9449 §7), its proofs' ``htu`` checked against
    BENCH_PUBLIC_URL; the same app answers the Bearer requests W6 compares with."""
    return _valetkey_app(dpop=True)


def _valetkey_app(*, dpop: bool) -> Starlette:
    from valetkey.core.dpop import DPoPPolicy
    from valetkey.resource import BearerAuth, JWTValidator, requires_scopes

    issuer, resource = _settings()
    # BENCH_TOKEN_CACHE=0: the token's signature is checked on every request (W6's third row)
    cache_size = int(os.environ.get("BENCH_TOKEN_CACHE", "10000"))

    @requires_scopes("read")
    async def profile(request: Request) -> Response:
        token = request.state.access_token
        return JSONResponse({"sub": token.sub, "scope": " ".join(token.scope)})

    app = Starlette(routes=[Route("/ready", ready), Route("/profile", profile)])
    app.add_middleware(
        BearerAuth,
        validator=JWTValidator(issuer, resource, algorithms=["ES256"], cache_size=cache_size),
        public_paths=["/ready"],
        dpop=DPoPPolicy() if dpop else None,
        public_url=os.environ["BENCH_PUBLIC_URL"] if dpop else None,
    )
    return app
