"""Authlib (PyPI) run through `valetkey lab`, as a Starlette app uses it (its OAuth registry):
``python authlib_client.py ISSUER CLIENT_ID REDIRECT_URI``.

The lab's client script with the library's defaults: discovery, the code flow with PKCE (the lab's
/authorize redirects at once: the redirect is read, not followed), userinfo, then twice a refresh
and userinfo with the new token. One setting is the app's, not a security check: a 5 s timeout.
Authlib's own errors, those of joserfc (which Authlib validates ID tokens with and lets through) and
those of its HTTP stack (httpx) are refusals, printed on one line; anything else is left uncaught.
"""

from __future__ import annotations

import asyncio
import sys
import warnings
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.common.errors import AuthlibBaseError
    from authlib.integrations.starlette_client import OAuth
    from joserfc.errors import JoseError

TIMEOUT = 5.0
# Authlib's Starlette client uses httpx2 when it is installed (the MCP SDK, a dev dependency, brings
# it): an app catches the HTTP errors of whichever library Authlib uses.
HTTP_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError,)
try:
    import httpx2

    HTTP_ERRORS += (httpx2.HTTPError,)
except ImportError:
    pass


def _request(session: dict[str, Any], query: str = "") -> Request:
    """The app's incoming request: its session holds what Authlib saved before the redirect."""
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "session": session}
    return Request({**scope, "query_string": query.encode()})


async def drive(issuer: str, client_id: str, redirect_uri: str) -> None:
    oauth = OAuth()
    lab = oauth.register(
        "lab",
        client_id=client_id,
        server_metadata_url=issuer + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid profile",
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "none",
            "timeout": TIMEOUT,
        },
    )
    session: dict[str, Any] = {}
    start = await lab.authorize_redirect(_request(session), redirect_uri)
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        answer = await http.get(start.headers["location"])
    location = answer.headers.get("location")
    if not location:
        raise RuntimeError(f"/authorize answered {answer.status_code} without a redirect")
    token = await lab.authorize_access_token(_request(session, urlsplit(location).query))
    await lab.userinfo(token=token)
    refresh_token = token["refresh_token"]
    for _ in range(2):
        token = await lab.fetch_access_token(grant_type="refresh_token", refresh_token=refresh_token)
        refresh_token = token.get("refresh_token") or refresh_token  # RFC 6749 §6
        await lab.userinfo(token=token)


def main() -> int:
    try:
        asyncio.run(drive(*sys.argv[1:4]))
    except (AuthlibBaseError, JoseError, *HTTP_ERRORS) as exc:
        said = (str(exc).splitlines() or ["(no message)"])[0]
        print(f"refused: {type(exc).__name__}: {said}")
        return 1
    print("finished the flow")
    return 0


if __name__ == "__main__":
    sys.exit(main())
