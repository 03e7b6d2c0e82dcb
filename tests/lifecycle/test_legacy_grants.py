"""Implicit and password grants: refused unless the server AND the client allow them; always marked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import InProcess, make_in_process
from tests.lifecycle.conftest import FAST_BASE, config_with_database
from tests.lifecycle.helpers import introspect
from tests.support.flows import run_code_flow
from tests.support.servers import auth_server
from valetkey.core.settings import SettingsError, build_settings, parse_toml

PW_SECRET = "pw-secret-0123456789abcdefghijklmnopqrstuvwxyz"
LEGACY_CLIENTS = f"""
[[clients]]
client_id = "spa-legacy"
token_endpoint_auth_method = "none"
redirect_uris = ["https://spa.example/cb"]
grant_types = ["implicit"]
scope = "openid profile read:profile"

[[clients]]
client_id = "pw-app"
client_secret = "{PW_SECRET}"
grant_types = ["password", "refresh_token"]
scope = "openid read:profile offline_access"
"""


def legacy_server(enabled: bool, http_path: str = "asgi") -> InProcess:
    return make_in_process(
        FAST_BASE + LEGACY_CLIENTS, allow_deprecated_grants=enabled, http_path=http_path
    )


@pytest.fixture
def on(http_path: str) -> Iterator[InProcess]:
    env = legacy_server(True, http_path)
    with env.http:
        yield env
    env.store.close()


@pytest.fixture
def off(http_path: str) -> Iterator[InProcess]:
    env = legacy_server(False, http_path)
    with env.http:
        yield env
    env.store.close()


def implicit(env: InProcess, client_id: str = "spa-legacy", **extra: str) -> dict[str, str]:
    redirect = (
        "https://spa.example/cb" if client_id == "spa-legacy" else "http://127.0.0.1:9/callback"
    )
    result = run_code_flow(
        env.http,
        env.base,
        client_id=client_id,
        redirect_uri=redirect,
        scope=extra.pop("scope", "openid read:profile"),
        method="",
        extra={"response_type": "token", "nonce": "n-1", **extra},
    )
    assert result.response.headers["location"].startswith(redirect)
    return result.params


def password(env: InProcess, client: tuple[str, str] = ("pw-app", PW_SECRET), **data: str):  # type: ignore[no-untyped-def]
    form = {"grant_type": "password", "username": "alice", "password": "wonderland", **data}
    return env.http.post("/token", data=form, auth=client)


def test_implicit_refused_when_the_server_disallows_it(off: InProcess) -> None:
    params = implicit(off)
    assert params["error"] == "unsupported_response_type"
    assert "access_token" not in params
    assert "RFC 9700 §2.1.2" in next(e for e in off.sink.events if e.error).data["spec"]


def test_implicit_refused_for_a_client_not_registered_for_it(on: InProcess) -> None:
    params = implicit(on, client_id="cli")
    assert params["error"] == "unauthorized_client"
    assert "access_token" not in params


def test_implicit_when_both_allow_it_gives_a_fragment_token_and_no_refresh(on: InProcess) -> None:
    result = run_code_flow(
        on.http,
        on.base,
        client_id="spa-legacy",
        redirect_uri="https://spa.example/cb",
        scope="openid read:profile",
        method="",
        extra={"response_type": "token", "nonce": "n-1"},
    )
    location = result.response.headers["location"]
    assert "?" not in location.split("#")[0]  # nothing in the query: all in the fragment
    params = result.params
    assert params["token_type"] == "Bearer"
    assert params["state"] == "xyz-state" and params["iss"] == on.base
    assert "id_token" in params
    assert "refresh_token" not in params and "code" not in params
    assert introspect(on.http, on.base, params["access_token"]).json()["active"] is True
    event = next(e for e in on.sink.events if e.name == "token.issued")
    assert event.deprecated and "RFC 9700 §2.1.2" in event.deprecated
    assert params["access_token"] not in repr(event)


def test_implicit_with_openid_needs_a_nonce(on: InProcess) -> None:
    params = implicit(on, nonce="")
    assert params["error"] == "invalid_request"
    assert "nonce" in params["error_description"]


def test_password_refused_when_the_server_disallows_it(off: InProcess) -> None:
    r = password(off)
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"
    assert "RFC 9700 section 2.4" in r.json()["error_description"]


def test_password_refused_for_a_client_not_registered_for_it(on: InProcess) -> None:
    from tests.conftest import WEB_SECRET

    r = password(on, client=("web", WEB_SECRET))
    assert r.status_code == 400
    assert r.json()["error"] == "unauthorized_client"


def test_password_when_both_allow_it(on: InProcess) -> None:
    r = password(on, scope="openid read:profile offline_access")
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"access_token", "refresh_token", "id_token"} <= set(body)
    event = next(e for e in on.sink.events if e.name == "token.issued")
    assert event.deprecated and "RFC 9700 §2.4" in event.deprecated
    assert "wonderland" not in repr(event)
    wrong = password(on, password="not-it")
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"


def test_password_grant_is_for_confidential_clients_only() -> None:
    bad = LEGACY_CLIENTS.replace(
        f'client_secret = "{PW_SECRET}"', 'token_endpoint_auth_method = "none"'
    )
    with pytest.raises(SettingsError, match="confidential"):
        build_settings(parse_toml(FAST_BASE + bad), {})


def test_metadata_lists_legacy_grants_only_when_enabled(on: InProcess, off: InProcess) -> None:
    enabled = on.http.get("/.well-known/oauth-authorization-server").json()
    disabled = off.http.get("/.well-known/oauth-authorization-server").json()
    assert {"implicit", "password"} <= set(enabled["grant_types_supported"])
    assert "token" in enabled["response_types_supported"]
    assert not {"implicit", "password"} & set(disabled["grant_types_supported"])
    assert disabled["response_types_supported"] == ["code"]
    assert off.http.get("/.well-known/openid-configuration").json() == disabled


@pytest.mark.e2e
@pytest.mark.parametrize("enabled", [False, True])
def test_real_server_needs_both_switches(enabled: bool, tmp_path: Path) -> None:
    top = f"allow_deprecated_grants = {'true' if enabled else 'false'}"
    config = config_with_database(f"sqlite:///{tmp_path / 'as.db'}", top=top, extra=LEGACY_CLIENTS)
    with auth_server(config, tmp_path) as base, httpx.Client(timeout=10) as http:
        registered = http.post(
            f"{base}/token",
            data={"grant_type": "password", "username": "alice", "password": "wonderland"},
            auth=("pw-app", PW_SECRET),
        )
        from tests.conftest import WEB_SECRET

        unregistered = http.post(
            f"{base}/token",
            data={"grant_type": "password", "username": "alice", "password": "wonderland"},
            auth=("web", WEB_SECRET),
        )
        meta = http.get(f"{base}/.well-known/oauth-authorization-server").json()
        implicit = run_code_flow(
            http,
            base,
            client_id="spa-legacy",
            redirect_uri="https://spa.example/cb",
            scope="read:profile",
            method="",
            extra={"response_type": "token"},
        ).params
    assert unregistered.status_code == 400
    if enabled:
        assert registered.status_code == 200 and "refresh_token" in registered.json()
        assert unregistered.json()["error"] == "unauthorized_client"
        assert "access_token" in implicit and "refresh_token" not in implicit
        assert "password" in meta["grant_types_supported"]
    else:
        assert registered.json()["error"] == "unsupported_grant_type"
        assert unregistered.json()["error"] == "unsupported_grant_type"
        assert implicit["error"] == "unsupported_response_type"
        assert "password" not in meta["grant_types_supported"]
