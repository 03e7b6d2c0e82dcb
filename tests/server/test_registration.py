"""Dynamic Client Registration (RFC 7591) and management (RFC 7592), on both HTTP paths: closed by
default, initial access tokens, open registration of public native clients only, the same metadata
rules as the configuration file, and a registration access token for read, update and delete."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import InProcess, make_in_process
from tests.support.flows import run_code_flow
from valetkey.client import io
from valetkey.client.registration import register

INITIAL = "initial-access-token-0123456789abcdefghij"
NATIVE = {"redirect_uris": ["http://127.0.0.1/callback"], "token_endpoint_auth_method": "none",
          "grant_types": ["authorization_code", "refresh_token"], "client_name": "My CLI",
          "scope": "openid read:profile offline_access"}  # fmt: skip


@pytest.fixture
def closed(http_path: str) -> Iterator[InProcess]:
    env = make_in_process(http_path=http_path, registration_tokens=[INITIAL])
    with env.http:
        yield env
    env.store.close()


@pytest.fixture
def open_native(http_path: str) -> Iterator[InProcess]:
    env = make_in_process(http_path=http_path, registration="open-native")
    with env.http:
        yield env
    env.store.close()


def post(server: InProcess, body: Any, token: str | None = None, **headers: str) -> httpx.Response:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    headers.setdefault("Content-Type", "application/json")
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return server.http.post("/register", content=content, headers=headers)


def test_registration_is_closed_by_default(server: InProcess) -> None:
    r = post(server, NATIVE)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
    assert "initial access token" in r.json()["error_description"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert (
        "registration_endpoint" not in server.http.get("/.well-known/openid-configuration").json()
    )


def test_an_initial_access_token_registers_a_confidential_client_that_works(
    closed: InProcess,
) -> None:
    meta = {"grant_types": ["client_credentials"], "scope": "read:files",
            "token_endpoint_auth_method": "client_secret_basic", "client_name": "Batch job"}  # fmt: skip
    r = post(closed, meta, INITIAL)
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["cache-control"] == "no-store"
    assert body["client_id"].startswith("dyn-") and len(body["client_secret"]) >= 43
    assert body["client_secret_expires_at"] == 0 and body["registration_access_token"]
    assert body["registration_client_uri"] == f"{closed.base}/register/{body['client_id']}"
    assert body["grant_types"] == ["client_credentials"] and body["scope"] == "read:files"
    token = closed.http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=(body["client_id"], body["client_secret"]),
    )
    assert token.status_code == 200, token.text
    [event] = closed.sink.named("client.registered")
    shown = repr(event)
    assert body["client_secret"] not in shown and body["registration_access_token"] not in shown
    assert INITIAL not in shown
    meta_doc = closed.http.get("/.well-known/oauth-authorization-server").json()
    assert meta_doc["registration_endpoint"] == f"{closed.base}/register"


@pytest.mark.parametrize("token", ["wrong-token-0123456789abcdefghijklmnopq", INITIAL + "x"])
def test_a_wrong_initial_access_token_is_refused(closed: InProcess, token: str) -> None:
    r = post(closed, NATIVE, token)
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    assert closed.sink.named("client.registration_refused")


def test_open_registration_of_a_native_client_then_a_full_sign_in(open_native: InProcess) -> None:
    r = post(open_native, NATIVE)
    assert r.status_code == 201, r.text
    body = r.json()
    assert "client_secret" not in body and body["token_endpoint_auth_method"] == "none"
    flow = run_code_flow(open_native.http, "", client_id=body["client_id"],
                         redirect_uri="http://127.0.0.1:7777/callback", scope="read:profile")  # fmt: skip
    assert "code" in flow.params, flow.response.text


@pytest.mark.parametrize(
    ("change", "status", "error", "says"),
    [
        ({"token_endpoint_auth_method": "client_secret_basic"}, 403, "invalid_client_metadata",
         "only public native clients"),
        ({"redirect_uris": ["https://app.example/cb"]}, 403, "invalid_client_metadata",
         "loopback IP"),
        ({"grant_types": ["client_credentials"]}, 400, "invalid_client_metadata", "confidential"),
        ({"redirect_uris": ["http://evil.example/cb"]}, 400, "invalid_redirect_uri",
         "loopback"),
        ({"redirect_uris": ["http://127.0.0.1/cb#frag"]}, 400, "invalid_redirect_uri", "fragment"),
        ({"redirect_uris": "http://127.0.0.1/cb"}, 400, "invalid_redirect_uri", "list"),
        ({"grant_types": ["implicit"], "response_types": ["token"]}, 403, "invalid_client_metadata", "native"),
    ],
)  # fmt: skip
def test_open_registration_refuses_and_says_why(
    open_native: InProcess, change: dict[str, Any], status: int, error: str, says: str
) -> None:
    r = post(open_native, {**NATIVE, **change})
    assert (r.status_code, r.json()["error"]) == (status, error), r.text
    assert says in r.json()["error_description"]
    [event] = open_native.sink.named("client.registration_refused")
    assert event.checks[0].outcome == "fail" and event.checks[0].spec


@pytest.mark.parametrize(
    ("body", "ctype"),
    [(b"not json", "application/json"), (b"[1, 2]", "application/json"),
     (json.dumps(NATIVE).encode(), "application/x-www-form-urlencoded"),
     (b"\xff\xfe", "application/json")],
)  # fmt: skip
def test_a_body_that_is_not_a_json_object_is_refused(
    open_native: InProcess, body: bytes, ctype: str
) -> None:
    r = post(open_native, body, **{"Content-Type": ctype})
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"


def test_a_huge_registration_is_refused_before_it_is_read(open_native: InProcess) -> None:
    r = post(open_native, {**NATIVE, "client_name": "x" * 2_000_000})
    assert r.status_code == 413


def manage(
    server: InProcess, method: str, uri: str, token: str, body: Any = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    content = json.dumps(body).encode() if body is not None else None
    return server.http.request(method, uri, headers=headers, content=content)


def test_read_update_and_delete_with_the_registration_access_token(open_native: InProcess) -> None:
    reg = post(open_native, NATIVE).json()
    uri, token = reg["registration_client_uri"], reg["registration_access_token"]
    read = manage(open_native, "GET", uri, token)
    assert read.status_code == 200 and read.json()["redirect_uris"] == NATIVE["redirect_uris"]
    assert "registration_access_token" not in read.json()
    update = {**NATIVE, "client_id": reg["client_id"], "redirect_uris": ["com.example.cli:/cb"]}
    changed = manage(open_native, "PUT", uri, token, update)
    assert changed.status_code == 200, changed.text
    open_native.clock.advance(60)  # past the client cache
    assert manage(open_native, "GET", uri, token).json()["redirect_uris"] == ["com.example.cli:/cb"]
    assert manage(open_native, "DELETE", uri, token).status_code == 204
    assert manage(open_native, "GET", uri, token).status_code == 401
    open_native.clock.advance(60)
    gone = open_native.http.post(
        "/token",
        data={"grant_type": "authorization_code", "code": "x", "client_id": reg["client_id"]},
    )
    assert gone.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"client_id": None}, "client_id"),
        ({"token_endpoint_auth_method": "client_secret_basic"}, "cannot change"),
        ({"redirect_uris": ["https://app.example/cb"]}, "native"),  # beyond open registration
    ],
)
def test_an_update_is_judged_like_a_registration(
    open_native: InProcess, change: dict[str, Any], says: str
) -> None:
    reg = post(open_native, NATIVE).json()
    body = {**NATIVE, "client_id": reg["client_id"], **change}
    r = manage(
        open_native, "PUT", reg["registration_client_uri"], reg["registration_access_token"], body
    )
    assert r.status_code in (400, 403) and says in r.json()["error_description"], r.text


def test_management_tells_nothing_without_the_right_token(open_native: InProcess) -> None:
    reg = post(open_native, NATIVE).json()
    other = post(open_native, NATIVE).json()
    for uri, token in [
        (reg["registration_client_uri"], other["registration_access_token"]),  # another's token
        (f"{open_native.base}/register/cli", reg["registration_access_token"]),  # a configured one
        (f"{open_native.base}/register/nobody", reg["registration_access_token"]),
        (reg["registration_client_uri"], "not-a-token"),
    ]:
        r = manage(open_native, "GET", uri, token)
        assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert open_native.http.get(reg["registration_client_uri"]).status_code == 401


def test_the_client_library_registers_against_the_server(open_native: InProcess) -> None:
    # (the library refuses plain http except on loopback: the in-process app answers any host)
    registration = io.run(register("http://127.0.0.1/register", NATIVE), open_native.http)
    assert registration.client_id.startswith("dyn-")


def test_a_registration_flood_from_one_address_is_slowed(open_native: InProcess) -> None:
    """Every registration counts for its address: past the free ones, each waits longer (429 with
    Retry-After, nothing registered), and the wait ends."""
    for _ in range(6):
        assert post(open_native, NATIVE).status_code == 201
    slowed = post(open_native, NATIVE)
    assert slowed.status_code == 429, slowed.text
    assert int(slowed.headers["retry-after"]) >= 1 and "try again" in slowed.text
    assert len(open_native.sink.named("client.registered")) == 6
    [refused] = open_native.sink.named("throttle.refused")
    assert refused.data["kind"] == "registration"
    open_native.clock.advance(int(slowed.headers["retry-after"]))
    assert post(open_native, NATIVE).status_code == 201
