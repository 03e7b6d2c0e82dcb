"""Getting real tokens through the real pages, for the lifecycle tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import WEB_SECRET
from tests.support.flows import run_code_flow

WEB_REDIRECT = "https://web.example/callback"
CLI_REDIRECT = "http://127.0.0.1:9999/callback"


def web_auth() -> tuple[str, str]:
    return ("web", WEB_SECRET)


def code_tokens(
    http: httpx.Client,
    base: str,
    *,
    client_id: str = "cli",
    scope: str = "openid profile email read:profile offline_access",
    extra: dict[str, str] | None = None,
    username: str = "alice",
    password: str = "wonderland",
) -> dict[str, Any]:
    """Authorization Code + PKCE through login and consent, then the token request."""
    redirect_uri = WEB_REDIRECT if client_id == "web" else CLI_REDIRECT
    result = run_code_flow(
        http,
        base,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        extra=extra,
        username=username,
        password=password,
    )
    assert "code" in result.params, result.params
    data = {
        "grant_type": "authorization_code",
        "code": result.params["code"],
        "redirect_uri": redirect_uri,
        "code_verifier": result.verifier or "",
    }
    if client_id == "web":
        response = http.post(f"{base}/token", data=data, auth=web_auth())
    else:
        response = http.post(f"{base}/token", data={**data, "client_id": client_id})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def introspect(http: httpx.Client, base: str, token: str, **extra: str) -> httpx.Response:
    return http.post(f"{base}/introspect", data={"token": token, **extra}, auth=web_auth())


def revoke(
    http: httpx.Client, base: str, token: str, client_id: str = "cli", **extra: str
) -> httpx.Response:
    if client_id == "web":
        return http.post(f"{base}/revoke", data={"token": token, **extra}, auth=web_auth())
    return http.post(f"{base}/revoke", data={"token": token, "client_id": client_id, **extra})
