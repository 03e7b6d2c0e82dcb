"""A complete Authorization Code + PKCE flow through the real pages, for sync httpx clients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.support.forms import the_form
from valetkey.core import pkce


@dataclass
class AuthResult:
    response: httpx.Response  # the redirect to the client
    params: dict[str, str]  # query (or fragment) parameters of that redirect
    verifier: str | None


def authorize_url(base: str, **params: str) -> str:
    return f"{base}/authorize?{urlencode(params)}"


def redirect_params(location: str) -> dict[str, str]:
    parts = urlsplit(location)
    raw = parts.query or parts.fragment
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def login_and_consent(
    http: httpx.Client,
    url: str,
    *,
    username: str = "alice",
    password: str = "wonderland",
    decision: str = "approve",
) -> httpx.Response:
    """Follow the pages from an authorization URL until the server redirects off-site."""
    response = http.get(url)
    for _ in range(6):
        if response.status_code in (302, 303):
            location = response.headers["location"]
            if location.startswith("/"):
                response = http.get(str(response.url.join(location)))
                continue
            return response
        if response.status_code != 200 and response.status_code != 401:
            return response
        form = the_form(response.text, str(response.url))
        data: dict[str, Any] = dict(form.fields)
        if "password" in form.fields:
            data.update(username=username, password=password)
        else:
            data["decision"] = decision
        response = http.post(form.action, data=data)
    raise AssertionError("the flow did not finish")


def run_code_flow(
    http: httpx.Client,
    base: str,
    *,
    client_id: str = "cli",
    redirect_uri: str = "http://127.0.0.1:9999/callback",
    scope: str = "read:profile",
    method: str = "S256",
    verifier: str | None = None,
    state: str = "xyz-state",
    extra: dict[str, str] | None = None,
    **kwargs: Any,
) -> AuthResult:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
    }
    if method:
        verifier = verifier or pkce.new_verifier()
        params["code_challenge"] = pkce.challenge_for(verifier, method)
        params["code_challenge_method"] = method
    params.update(extra or {})
    response = login_and_consent(http, authorize_url(base, **params), **kwargs)
    return AuthResult(response, redirect_params(response.headers.get("location", "")), verifier)
