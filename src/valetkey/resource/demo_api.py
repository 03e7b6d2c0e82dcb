"""The demo API: a profile and a file space, each route guarded by its own scope."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from valetkey.core.clock import Clock, SystemClock
from valetkey.core.discovery import openid_configuration_url, same_issuer
from valetkey.core.dpop import DPoPPolicy, bound_jkt
from valetkey.resource.discovery import Discovery, get_json
from valetkey.resource.files import FileStore
from valetkey.resource.metadata import ResourceMetadata, metadata_url
from valetkey.resource.middleware import BearerAuth
from valetkey.resource.scopes import requires_scopes
from valetkey.resource.token import AccessToken, TokenValidator

MAX_NAME = 200
MAX_CONTENT = 64 * 1024
MAX_BODY = MAX_CONTENT * 6 + 1024  # JSON escapes may grow the content up to 6x


@dataclass
class DemoState:
    files: FileStore
    issuer: str
    audience: str
    http: httpx.AsyncClient
    clock: Clock
    _userinfo_url: str | None = None

    async def userinfo_url(self) -> str | None:
        if self._userinfo_url is None:
            meta = await Discovery(self.issuer, self.http).metadata()
            url = meta.get("userinfo_endpoint")
            if not isinstance(url, str):  # OIDC Discovery §4 lists it in the OpenID document
                oidc = await get_json(
                    self.http, openid_configuration_url(self.issuer), "OpenID configuration"
                )
                # OIDC Discovery §4.3: a document naming another issuer is not used.
                url = oidc.get("userinfo_endpoint") if same_issuer(oidc, self.issuer) else None
            self._userinfo_url = url if isinstance(url, str) else None
        return self._userinfo_url


def owner_of(token: AccessToken) -> str:
    """A user's space, or for a client-credentials token the client's own space."""
    return f"user:{token.sub}" if token.has_user else f"client:{token.client_id}"


def _state(request: Request) -> DemoState:
    return request.app.state.demo  # type: ignore[no-any-return]


def _token(request: Request) -> AccessToken:
    return request.state.access_token  # type: ignore[no-any-return]


def _bad(description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": "invalid_request", "error_description": description}, status)


# Each route and the scope it needs; the same list is published as scopes_supported (RFC 9728 §2).
ENDPOINTS = {
    "GET /api/profile": "read:profile",
    "GET /api/files": "read:files",
    "POST /api/files": "write:files",
}


async def index(request: Request) -> Response:
    s = _state(request)
    return JSONResponse(
        {
            "resource": s.audience,
            "authorization_servers": [s.issuer],
            "resource_metadata": metadata_url(s.audience),
            "endpoints": ENDPOINTS,
        }
    )


@requires_scopes("read:profile")
async def profile(request: Request) -> Response:
    token, s = _token(request), _state(request)
    body: dict[str, Any] = {
        "sub": token.sub,
        "client_id": token.client_id,
        "user": token.has_user,
        "scope": list(token.scope),
        "claims": dict(token.claims),
        "userinfo": None,
    }
    if "openid" in token.scope and token.has_user and bound_jkt(token.claims):
        # RFC 9449 §7: only the client's key can present this token; the API holds no such key.
        body["userinfo_error"] = (
            "not asked: the token is bound to the client's DPoP key (RFC 9449), which this API "
            "does not hold; the client calls /userinfo itself with a DPoP proof"
        )
    elif "openid" in token.scope and token.has_user:
        body["userinfo"], error = await _userinfo(s, request.headers["authorization"])
        if error:
            body["userinfo_error"] = error
    return JSONResponse(body)


async def _userinfo(s: DemoState, authorization: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        url = await s.userinfo_url()
        if url is None:
            return None, "the authorization server publishes no userinfo endpoint"
        response = await s.http.get(url, headers={"Authorization": authorization})
    except Exception as exc:  # the profile still answers with the token's own claims
        return None, f"userinfo unavailable: {type(exc).__name__}"
    if response.status_code != 200:
        return None, f"userinfo answered HTTP {response.status_code}"
    try:
        data = response.json()
    except ValueError:
        return None, "userinfo answered with something that is not JSON"
    return (data, None) if isinstance(data, dict) else (None, "userinfo is not a JSON object")


@requires_scopes("read:files")
async def list_files(request: Request) -> Response:
    token, s = _token(request), _state(request)
    owner = owner_of(token)
    files = await run_in_threadpool(s.files.list, owner)
    return JSONResponse({"owner": owner, "files": [f.to_dict() for f in files]})


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    """Read at most ``limit`` bytes; None when the body is larger (without buffering all of it)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@requires_scopes("write:files")
async def add_file(request: Request) -> Response:
    token, s = _token(request), _state(request)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return _bad('send the file as JSON: {"name": "...", "content": "..."}', 415)
    raw = await _bounded_body(request, MAX_BODY)
    if raw is None:
        return _bad(f"the body is larger than {MAX_BODY} bytes", 413)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _bad("the body is not valid JSON")
    if not isinstance(data, dict):
        return _bad('the body must be a JSON object: {"name": "...", "content": "..."}')
    name, content = data.get("name"), data.get("content", "")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        return _bad(f"name must be a non-empty string of at most {MAX_NAME} characters")
    if not isinstance(content, str) or len(content) > MAX_CONTENT:
        return _bad(f"content must be a string of at most {MAX_CONTENT} characters")
    added = await run_in_threadpool(
        s.files.add, owner_of(token), name.strip(), content, token.client_id, s.clock.now()
    )
    return JSONResponse({"owner": owner_of(token), "file": added.to_dict()}, 201)


def _middleware(
    validator: TokenValidator, audience: str, cors_origins: Sequence[str]
) -> list[Middleware]:
    middleware = []
    if cors_origins:  # outermost, so that preflight requests (no token) are answered first
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "X-Valetkey-Flow", "DPoP"],
                # Browsers may read the RFC 6750 / RFC 9449 §7.1 challenge and the nonce (§9).
                expose_headers=["WWW-Authenticate", "DPoP-Nonce"],
                max_age=600,
            )
        )
    metadata = ResourceMetadata(
        audience,
        scopes_supported=tuple(dict.fromkeys(ENDPOINTS.values())),
        resource_name="valetkey demo API",
    )  # the authorization server is the validator's issuer
    guard = Middleware(
        BearerAuth,
        validator=validator,
        required=False,
        realm=audience,
        public_paths=("/",),
        resource_metadata=metadata,
        dpop=DPoPPolicy(),  # RFC 9449 §7: DPoP tokens too (htu from the request: no proxy)
    )
    return [*middleware, guard]


def create_demo_api(
    validator: TokenValidator,
    files: FileStore,
    *,
    issuer: str,
    audience: str,
    cors_origins: Sequence[str] = (),
    clock: Clock | None = None,
) -> Starlette:
    routes = [
        Route("/", index),
        Route("/api/profile", profile),
        Route("/api/files", list_files, methods=["GET"]),
        Route("/api/files", add_file, methods=["POST"]),
    ]
    http = getattr(validator, "http", None) or httpx.AsyncClient(timeout=5.0, trust_env=False)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await validator.aclose()
        files.close()

    middleware = _middleware(validator, audience, cors_origins)
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.demo = DemoState(files, issuer, audience, http, clock or SystemClock())
    return app
