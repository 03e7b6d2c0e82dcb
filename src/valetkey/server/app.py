"""The authorization server's ASGI app. Built from a state object, so tests and the CLI share it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from valetkey.server import pages
from valetkey.server.authorize import authorize_endpoint
from valetkey.server.fastpath import FastPath
from valetkey.server.http import json_response
from valetkey.server.interaction import consent_endpoint, login_endpoint
from valetkey.server.introspect import introspection_endpoint
from valetkey.server.logout import end_session_endpoint
from valetkey.server.metadata import (
    jwks_endpoint,
    oauth_metadata_endpoint,
    openid_configuration_endpoint,
    server_metadata,
)
from valetkey.server.revoke import revocation_endpoint
from valetkey.server.state import ServerState
from valetkey.server.token import token_endpoint
from valetkey.server.userinfo import userinfo_endpoint

log = logging.getLogger("valetkey.server")


class NeverLeak:
    """Unexpected exceptions become a plain ``server_error``: never a stack trace to a client."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            response = unexpected_error(scope)
            if started:
                raise
            await response(scope, receive, send)


def unexpected_error(scope: Scope) -> Response:
    """Log the exception being handled; the client sees a plain ``server_error``: no stack trace,
    no detail."""
    log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
    body = {
        "error": "server_error",
        "error_description": "the server hit an unexpected condition; nothing was issued",
    }
    return json_response(body, status=500)


async def home(request: Request) -> Response:
    state: ServerState = request.app.state.vk
    meta = server_metadata(state)
    return pages.render(
        state,
        request,
        "message.html",
        title="valetkey authorization server",
        message=f"Discovery: {meta['issuer']}/.well-known/oauth-authorization-server",
    )


def create_app(state: ServerState) -> ASGIApp:
    routes = [
        Route("/", home),
        Route("/authorize", authorize_endpoint, methods=["GET", "POST"]),
        Route("/login", login_endpoint, methods=["POST"]),
        Route("/consent", consent_endpoint, methods=["POST"]),
        Route("/token", token_endpoint, methods=["POST"]),
        Route("/.well-known/oauth-authorization-server", oauth_metadata_endpoint),
        Route("/jwks.json", jwks_endpoint),
        Route("/revoke", revocation_endpoint, methods=["POST"]),
        Route("/introspect", introspection_endpoint, methods=["POST"]),
        Route("/userinfo", userinfo_endpoint, methods=["GET", "POST"]),
        Route("/logout", end_session_endpoint, methods=["GET", "POST"]),
        Route("/.well-known/openid-configuration", openid_configuration_endpoint),
        Mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.vk = state
    hot = {
        ("POST", "/token"): token_endpoint,
        ("POST", "/introspect"): introspection_endpoint,
        ("GET", "/authorize"): authorize_endpoint,
        ("POST", "/login"): login_endpoint,
        ("POST", "/consent"): consent_endpoint,
    }
    return NeverLeak(FastPath(app, hot))
