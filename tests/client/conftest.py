"""A real valetkey server process configured for every grant the client offers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import auth_server

WEB_SECRET = "conf-secret-0123456789abcdefghijklmnopqrstuvwxyz"
# RFC 6749 §2.3.1: these characters must be form-urlencoded before Basic's base64.
ODD_SECRET = "odd:secret+with/special%chars&=and space-0123456789"
SVC_SECRET = "svc-secret-0123456789abcdefghijklmnopqrstuvwxyz"
PW_SECRET = "pw-secret-0123456789abcdefghijklmnopqrstuvwxyz"

CLIENT_CONFIG = f"""
allow_deprecated_grants = true

[[resources]]
identifier = "https://api.valetkey.test"
name = "Demo API"
scopes = ["read:profile", "read:files", "write:files"]

[[clients]]
client_id = "cli"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1/callback"]
grant_types = ["authorization_code", "refresh_token"]
scope = "openid profile email read:profile read:files offline_access"

[[clients]]
client_id = "deny-cli"  # nobody ever approves this one: the consent page always shows
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1/callback"]
grant_types = ["authorization_code"]
scope = "read:profile"

[[clients]]
client_id = "plain-cli"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1/callback"]
grant_types = ["authorization_code", "refresh_token"]
pkce_methods = ["S256", "plain"]
scope = "read:profile"

[[clients]]
client_id = "conf-basic"
client_secret = "{ODD_SECRET}"
token_endpoint_auth_method = "client_secret_basic"
redirect_uris = ["http://127.0.0.1/callback"]
grant_types = ["authorization_code", "refresh_token"]
scope = "openid profile read:profile"

[[clients]]
client_id = "conf-post"
client_secret = "{WEB_SECRET}"
token_endpoint_auth_method = "client_secret_post"
redirect_uris = ["http://127.0.0.1/callback"]
grant_types = ["authorization_code", "refresh_token"]
scope = "openid read:profile"

[[clients]]
client_id = "spa-implicit"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1/callback"]
grant_types = ["implicit"]
scope = "openid profile read:profile"

[[clients]]
client_id = "legacy-pw"
client_secret = "{PW_SECRET}"
grant_types = ["password", "refresh_token"]
scope = "read:profile read:files"

[[clients]]
client_id = "svc"
client_secret = "{SVC_SECRET}"
grant_types = ["client_credentials"]
scope = "read:files"

[[clients]]
client_id = "svc-post"
client_secret = "{SVC_SECRET}"
token_endpoint_auth_method = "client_secret_post"
grant_types = ["client_credentials"]
scope = "read:files"

[[users]]
username = "alice"
password = "wonderland"
name = "Alice Liddell"
email = "alice@example.test"
email_verified = true
"""


@pytest.fixture(scope="session")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real server process for the client tests (a loopback port of its own)."""
    with auth_server(CLIENT_CONFIG, tmp_path_factory.mktemp("client-as")) as base:
        yield base


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Isolated XDG data and config directories (token store, profiles) for one test."""
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("VALETKEY_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("BROWSER", raising=False)
    return {**os.environ, **env}


@pytest.fixture
def browser_session() -> Iterator[httpx.Client]:
    """A cookie-keeping HTTP client playing the user's browser (no JavaScript)."""
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        yield http


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """The client library's own HTTP client."""
    with httpx.Client(timeout=10) as client:
        yield client
