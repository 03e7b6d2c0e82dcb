"""The app under test: the same handler behind no guard and behind BearerAuth + requires_scopes.

VALETKEY_BENCH_MODE picks the validator: jwt (digest cache on), jwt-nocache, introspect.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from valetkey.resource import (
    BearerAuth,
    IntrospectionValidator,
    JWTValidator,
    TokenValidator,
    requires_scopes,
)

ISSUER = os.environ["VALETKEY_ISSUER"]
AUDIENCE = os.environ["VALETKEY_AUDIENCE"]
MODE = os.environ.get("VALETKEY_BENCH_MODE", "jwt")


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


@requires_scopes("read:files")
async def protected(request: Request) -> JSONResponse:
    return JSONResponse({"hello": request.state.access_token.sub})


def validator() -> TokenValidator:
    if MODE == "introspect":
        return IntrospectionValidator(
            ISSUER,
            AUDIENCE,
            client_id=os.environ["VALETKEY_BENCH_CLIENT_ID"],
            client_secret=os.environ["VALETKEY_BENCH_CLIENT_SECRET"],
        )
    return JWTValidator(ISSUER, AUDIENCE, cache_size=0 if MODE == "jwt-nocache" else 10_000)


app = Starlette(
    routes=[Route("/open", hello), Route("/protected", protected)],
    middleware=[Middleware(BearerAuth, validator=validator(), public_paths=("/open",))],
)
