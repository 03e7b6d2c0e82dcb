"""Token endpoint: each grant's happy path and every error, with exact codes, statuses and headers."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote_plus

import pytest
import sqlalchemy as sa

from tests.conftest import SVC_SECRET, WEB_SECRET, InProcess
from tests.support.flows import run_code_flow
from valetkey.core import jose
from valetkey.store import schema

CB = "http://127.0.0.1:9999/callback"


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def code_for(server: InProcess, **kwargs: Any) -> tuple[str, str | None]:
    result = run_code_flow(server.http, server.base, **kwargs)
    assert "code" in result.params, result.params
    return result.params["code"], result.verifier


def redeem(server: InProcess, code: str, verifier: str | None, **extra: str) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CB,
        "client_id": "cli",
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    data.update(extra)
    return server.http.post("/token", data={k: v for k, v in data.items() if v != ""})


def assert_error(response: Any, status: int, error: str, words: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert words in body["error_description"]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"


def count(server: InProcess, table: sa.Table) -> int:
    with server.store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def test_code_exchange_issues_rfc9068_tokens(server: InProcess) -> None:
    code, verifier = code_for(server)
    r = redeem(server, code, verifier)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert (
        body["token_type"] == "Bearer"
        and body["expires_in"] == 600
        and body["scope"] == "read:profile"
    )
    header, claims = jose.verify(
        body["access_token"], server.state.keys.jwks(server.clock.now()), algorithms=["ES256"]
    )
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256" and header["kid"]
    assert claims["iss"] == server.base and claims["aud"] == "https://api.valetkey.test"
    assert claims["client_id"] == "cli" and claims["scope"] == "read:profile"
    assert claims["exp"] - claims["iat"] == 600 and claims["jti"] and claims["sub"]
    assert "refresh_token" in body


def test_code_is_single_use_and_replay_revokes_what_it_issued(server: InProcess) -> None:
    code, verifier = code_for(server)
    first = redeem(server, code, verifier).json()
    assert_error(redeem(server, code, verifier), 400, "invalid_grant", "already used")
    r = server.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": "cli",
        },
    )
    assert_error(r, 400, "invalid_grant", "revoked")
    assert server.sink.named("grant.revoked")


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"code_verifier": "w" * 43}, "invalid_grant", "does not match"),
        ({"code_verifier": ""}, "invalid_grant", "code_verifier is required"),
        ({"code_verifier": "short"}, "invalid_grant", "malformed"),
        ({"redirect_uri": "http://127.0.0.1:9999/other"}, "invalid_grant", "redirect_uri differs"),
        ({"redirect_uri": ""}, "invalid_grant", "redirect_uri is required"),
        ({"code": "not-a-code"}, "invalid_grant", "not valid"),
        ({"code": ""}, "invalid_request", "code is required"),
    ],
)
def test_code_exchange_errors_issue_nothing_and_keep_the_code(
    server: InProcess, change: dict[str, str], error: str, words: str
) -> None:
    code, verifier = code_for(server)
    data = {"code": code, "code_verifier": verifier or ""}
    data.update(change)
    assert_error(
        redeem(server, data.pop("code"), data.pop("code_verifier") or None, **data),
        400,
        error,
        words,
    )
    assert count(server, schema.access_tokens) == 0 and count(server, schema.refresh_tokens) == 0
    # A refused exchange does not burn the code: the real client can still redeem it.
    assert redeem(server, code, verifier).status_code == 200
    failed = [c for c in server.sink.named("token.rejected")[0].checks if c.outcome == "fail"]
    assert len(failed) == 1 and failed[0].spec


def test_code_expires(server: InProcess) -> None:
    code, verifier = code_for(server)
    server.clock.advance(61)
    assert_error(redeem(server, code, verifier), 400, "invalid_grant", "expired")


def test_code_is_bound_to_its_client(server: InProcess) -> None:
    code, verifier = code_for(server)
    r = server.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CB,
            "client_id": "plain-client",
            "code_verifier": verifier,
        },
    )
    assert_error(r, 400, "invalid_grant", "another client")


def test_verifier_without_challenge_is_a_downgrade_rfc9700_2_1_1(server: InProcess) -> None:
    result = run_code_flow(
        server.http,
        server.base,
        client_id="legacy-web",
        redirect_uri="https://legacy.example/cb",
        method="",
    )
    code = result.params["code"]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "https://legacy.example/cb",
        "client_id": "legacy-web",
        "client_secret": "short-secret",
    }
    assert_error(
        server.http.post("/token", data={**data, "code_verifier": "v" * 43}),
        400,
        "invalid_grant",
        "no code_challenge",
    )
    assert server.http.post("/token", data=data).status_code == 200


def test_plain_pkce_where_the_client_opted_in(server: InProcess) -> None:
    code, verifier = code_for(
        server, client_id="plain-client", redirect_uri="http://127.0.0.1:5555/cb", method="plain"
    )
    r = server.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1:5555/cb",
            "client_id": "plain-client",
            "code_verifier": verifier,
        },
    )
    assert r.status_code == 200
    assert "refresh_token" not in r.json()  # not registered for refresh_token


def test_confidential_client_basic_and_post(server: InProcess) -> None:
    redirect = "https://web.example/callback"
    code, verifier = code_for(server, client_id="web", redirect_uri=redirect)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect,
        "code_verifier": verifier,
    }
    assert (
        server.http.post("/token", data=data, headers=basic("web", WEB_SECRET)).status_code == 200
    )
    # The same client with the wrong method is refused: registered for client_secret_basic.
    code, verifier = code_for(server, client_id="web", redirect_uri=redirect)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect,
        "code_verifier": verifier,
        "client_id": "web",
        "client_secret": WEB_SECRET,
    }
    assert_error(
        server.http.post("/token", data=data), 401, "invalid_client", "client_secret_basic"
    )


@pytest.mark.parametrize(
    "headers",
    [
        basic("web", "wrong"),
        basic("ghost", "x"),
        {"Authorization": "Basic !!notbase64"},
        {"Authorization": "Basic " + base64.b64encode(b"web").decode()},
    ],
)
def test_failed_basic_authentication_is_401_with_a_challenge(
    server: InProcess, headers: dict[str, str]
) -> None:
    r = server.http.post("/token", data={"grant_type": "client_credentials"}, headers=headers)
    assert_error(r, 401, "invalid_client")
    assert r.headers["www-authenticate"].startswith("Basic")


def test_failed_post_authentication_is_401(server: InProcess) -> None:
    r = server.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": "x",
            "client_id": "legacy-web",
            "client_secret": "wrong",
        },
    )
    assert_error(r, 401, "invalid_client", "authentication failed")


def test_public_client_cannot_pretend_with_a_secret(server: InProcess) -> None:
    r = server.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": "x",
            "client_id": "cli",
            "client_secret": "anything",
        },
    )
    assert_error(r, 401, "invalid_client", "must authenticate with none")


def test_client_credentials(server: InProcess) -> None:
    r = server.http.post(
        "/token", data={"grant_type": "client_credentials"}, headers=basic("svc", SVC_SECRET)
    )
    assert r.status_code == 200
    body = r.json()
    assert "refresh_token" not in body and body["scope"] == "read:files"
    _, claims = jose.verify(body["access_token"], server.state.keys.jwks(server.clock.now()))
    assert (
        claims["sub"] == "svc"
        and claims["client_id"] == "svc"
        and claims["aud"] == "https://api.valetkey.test"
    )


@pytest.mark.parametrize(
    ("data", "headers", "status", "error", "words"),
    [
        (
            {"grant_type": "client_credentials", "scope": "read:profile"},
            basic("svc", SVC_SECRET),
            400,
            "invalid_scope",
            "may not request",
        ),
        (
            {"grant_type": "client_credentials", "scope": "openid"},
            basic("svc", SVC_SECRET),
            400,
            "invalid_scope",
            "needs a user",
        ),
        (
            {"grant_type": "client_credentials"},
            basic("web", WEB_SECRET),
            400,
            "unauthorized_client",
            "client_credentials",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "cli"},
            {},
            400,
            "unauthorized_client",
            "confidential",
        ),
        (
            {"grant_type": "teleport", "client_id": "cli"},
            {},
            400,
            "unsupported_grant_type",
            "teleport",
        ),
        (
            {"grant_type": "password", "client_id": "cli"},
            {},
            400,
            "unsupported_grant_type",
            "disabled",
        ),
        ({"client_id": "cli"}, {}, 400, "invalid_request", "grant_type is required"),
        (
            {"grant_type": "refresh_token", "client_id": "cli"},
            {},
            400,
            "invalid_request",
            "refresh_token is required",
        ),
        (
            {"grant_type": "refresh_token", "refresh_token": "nope", "client_id": "cli"},
            {},
            400,
            "invalid_grant",
            "not valid",
        ),
    ],
)
def test_grant_errors(
    server: InProcess,
    data: dict[str, str],
    headers: dict[str, str],
    status: int,
    error: str,
    words: str,
) -> None:
    assert_error(server.http.post("/token", data=data, headers=headers), status, error, words)
    assert count(server, schema.access_tokens) == 0


def test_repeated_parameter_and_wrong_content_type(server: InProcess) -> None:
    r = server.http.post(
        "/token",
        content="grant_type=client_credentials&grant_type=password",
        headers={"Content-Type": "application/x-www-form-urlencoded", **basic("svc", SVC_SECRET)},
    )
    assert_error(r, 400, "invalid_request", "repeated")
    r = server.http.post(
        "/token", json={"grant_type": "client_credentials"}, headers=basic("svc", SVC_SECRET)
    )
    assert_error(r, 400, "invalid_request", "x-www-form-urlencoded")
    assert server.http.get("/token").status_code == 405


def refresh(server: InProcess, token: str, **extra: str) -> Any:
    return server.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": token, "client_id": "cli", **extra},
    )


def test_refresh_rotates_and_narrows_only(server: InProcess) -> None:
    code, verifier = code_for(server, scope="read:profile read:files")
    first = redeem(server, code, verifier).json()
    r = refresh(server, first["refresh_token"], scope="read:files")
    assert r.status_code == 200
    second = r.json()
    assert second["scope"] == "read:files" and second["refresh_token"] != first["refresh_token"]
    assert server.sink.named("refresh_token.rotated")
    # The rotated token still carries the original grant's scope: a later refresh may ask for all of it.
    third = refresh(server, second["refresh_token"])
    assert third.status_code == 200 and third.json()["scope"] == "read:profile read:files"
    assert_error(
        refresh(server, third.json()["refresh_token"], scope="read:profile write:files"),
        400,
        "invalid_scope",
        "only narrow",
    )


def test_refresh_reuse_revokes_the_whole_grant(server: InProcess) -> None:
    code, verifier = code_for(server)
    first = redeem(server, code, verifier).json()
    second = refresh(server, first["refresh_token"]).json()
    assert_error(refresh(server, first["refresh_token"]), 400, "invalid_grant", "already used")
    assert_error(refresh(server, second["refresh_token"]), 400, "invalid_grant", "revoked")
    event = server.sink.named("grant.revoked")[-1]
    assert event.data["reason"] == "refresh token reused"


def test_refresh_token_bound_to_its_client_and_expires(server: InProcess) -> None:
    code, verifier = code_for(server)
    first = redeem(server, code, verifier).json()
    r = server.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": "plain-client",
        },
    )
    assert_error(r, 400, "unauthorized_client", "refresh_token")
    server.clock.advance(30 * 24 * 3600 + 1)
    assert_error(refresh(server, first["refresh_token"]), 400, "invalid_grant", "expired")


def test_events_never_carry_secrets(server: InProcess) -> None:
    code, verifier = code_for(server, client_id="web", redirect_uri="https://web.example/callback")
    r = server.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "https://web.example/callback",
            "code_verifier": verifier,
        },
        headers=basic("web", WEB_SECRET),
    )
    body = r.json()
    dump = repr([e.to_dict() for e in server.sink.events])
    for secret in (
        code,
        verifier,
        WEB_SECRET,
        "wonderland",
        body["access_token"],
        body["refresh_token"],
    ):
        assert secret and secret not in dump
    assert "[redacted]" in dump
