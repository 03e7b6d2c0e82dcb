"""Real values from a running server for the fuzzer to start from: tokens, cookies, CSRF tokens.

The fuzzer mixes them with hostile bytes, so that requests get past the first checks (a valid
client, a valid CSRF token, a live session) and reach the code behind them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx

from tests.conftest import SVC_SECRET, WEB_SECRET
from tests.lifecycle.helpers import CLI_REDIRECT, code_tokens
from tests.support.forms import the_form
from valetkey.core import pkce

CLIENT_IDS = ("cli", "web", "legacy-web", "plain-client", "svc", "nobody")
REDIRECTS = (CLI_REDIRECT, "com.example.app:/callback", "https://web.example/callback")
SCOPES = ("openid", "profile", "email", "read:profile", "read:files", "offline_access", "x:y")


@dataclass(repr=False)
class World:
    """What a legitimate client and browser hold; every value as the bytes sent on the wire."""

    tokens: dict[str, bytes] = field(default_factory=dict)  # access, refresh, id_token, svc_access
    cookies: dict[str, bytes] = field(default_factory=dict)  # vk_browser, vk_session
    csrf: dict[str, bytes] = field(default_factory=dict)  # login, consent, logout
    authz_query: bytes = b""  # a valid authorization request, as the forms carry it
    verifier: bytes = b""

    def __repr__(self) -> str:
        return "World(...)"  # strategies print it: the values are in the examples themselves

    def good_values(self) -> list[bytes]:
        plain = [
            *CLIENT_IDS,
            *REDIRECTS,
            *SCOPES,
            "openid read:profile",
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "password",
            "implicit",
            "code",
            "token",
            "id_token",
            "S256",
            "plain",
            "approve",
            "deny",
            "access_token",
            "login",
            "none",
            "consent",
            "0",
            "alice",
            "wonderland",
            WEB_SECRET,
            SVC_SECRET,
            "short-secret",
        ]
        return [
            *(v.encode() for v in plain),
            *self.tokens.values(),
            *self.csrf.values(),
            self.authz_query,
            self.verifier,
            pkce.challenge_for(self.verifier.decode(), "S256").encode(),
        ]

    def basic(self, client_id: str, secret: str) -> bytes:
        return b"Basic " + base64.b64encode(f"{client_id}:{secret}".encode())


def build_world(http: httpx.Client, base: str) -> World:
    world = World()
    body = code_tokens(http, base)
    world.tokens["access"] = body["access_token"].encode()
    world.tokens["refresh"] = body["refresh_token"].encode()
    world.tokens["id_token"] = body["id_token"].encode()
    svc = http.post(
        f"{base}/token",
        data={"grant_type": "client_credentials", "scope": "read:files"},
        auth=("svc", SVC_SECRET),
    )
    world.tokens["svc_access"] = svc.json()["access_token"].encode()
    for name in ("vk_browser", "vk_session"):
        world.cookies[name] = (http.cookies.get(name) or "").encode()
    verifier = pkce.new_verifier()
    world.verifier = verifier.encode()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": "cli",
            "redirect_uri": CLI_REDIRECT,
            "scope": "read:files",  # not yet consented: the consent page shows
            "state": "s",
            "code_challenge": pkce.challenge_for(verifier, "S256"),
            "code_challenge_method": "S256",
        }
    )
    world.authz_query = query.encode()
    consent = http.get(f"{base}/authorize?{query}")
    assert consent.status_code == 200, consent.text
    world.csrf["consent"] = the_form(consent.text, str(consent.url)).fields["csrf_token"].encode()
    logout = http.get(f"{base}/logout?client_id=cli")
    assert logout.status_code == 200, logout.text
    world.csrf["logout"] = the_form(logout.text, str(logout.url)).fields["csrf_token"].encode()
    saved = httpx.Cookies(http.cookies)
    http.cookies.clear()  # the same browser, signed out: the sign-in form shows
    http.cookies.set("vk_browser", world.cookies["vk_browser"].decode())
    login = http.get(f"{base}/authorize?{query}")
    http.cookies = saved
    assert login.status_code == 200, login.text
    world.csrf["login"] = the_form(login.text, str(login.url)).fields["csrf_token"].encode()
    return world
