"""RFC 7009 revocation and RFC 7662 introspection against a real server process."""

from __future__ import annotations

import httpx

from tests.conftest import SVC_SECRET, InProcess
from tests.lifecycle.helpers import code_tokens, introspect, revoke, web_auth
from valetkey.core import jose
from valetkey.server.state import CLIENT_CACHE_SECONDS

INACTIVE = {"active": False}


def test_metadata_lists_both_endpoints(live: str, browser: httpx.Client) -> None:
    meta = browser.get(f"{live}/.well-known/oauth-authorization-server").json()
    assert meta["revocation_endpoint"] == f"{live}/revoke"
    assert meta["introspection_endpoint"] == f"{live}/introspect"
    assert "none" not in meta["introspection_endpoint_auth_methods_supported"]


def test_active_access_token_yields_its_claims(live: str, browser: httpx.Client) -> None:
    tokens = code_tokens(browser, live)
    r = introspect(browser, live, tokens["access_token"])
    assert r.status_code == 200
    body = r.json()
    _h, claims = jose.unverified_parts(tokens["access_token"])
    assert body["active"] is True
    assert body["scope"] == "openid profile email read:profile offline_access"
    assert body["client_id"] == "cli"
    assert body["token_type"] == "Bearer"
    assert body["iss"] == live
    assert body["aud"] == "https://api.valetkey.test"
    for name in ("sub", "exp", "iat", "jti"):
        assert body[name] == claims[name]
    assert r.headers["cache-control"] == "no-store"


def test_active_refresh_token_yields_its_claims(live: str, browser: httpx.Client) -> None:
    tokens = code_tokens(browser, live)
    body = introspect(
        browser, live, tokens["refresh_token"], token_type_hint="refresh_token"
    ).json()
    assert body["active"] is True
    assert body["client_id"] == "cli"
    assert body["token_type"] == "refresh_token"
    assert body["exp"] > body["iat"]


def test_unknown_malformed_and_forged_tokens_are_exactly_inactive(
    live: str, browser: httpx.Client
) -> None:
    tokens = code_tokens(browser, live)
    _h, claims = jose.unverified_parts(tokens["access_token"])
    forged = jose.sign(claims, jose.generate_private_jwk("ES256"), typ="at+jwt")
    head, body, _sig = tokens["access_token"].split(".")
    for token in ("nonsense", "a.b.c", forged, f"{head}.{body}.", "x" * 9000):
        r = introspect(browser, live, token)
        assert r.status_code == 200
        assert r.json() == INACTIVE, token[:40]


def test_id_token_is_not_an_access_token(live: str, browser: httpx.Client) -> None:
    tokens = code_tokens(browser, live)
    assert introspect(browser, live, tokens["id_token"]).json() == INACTIVE


def test_introspection_requires_a_confidential_caller(live: str, browser: httpx.Client) -> None:
    tokens = code_tokens(browser, live)
    anonymous = browser.post(f"{live}/introspect", data={"token": tokens["access_token"]})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"
    public = browser.post(
        f"{live}/introspect", data={"token": tokens["access_token"], "client_id": "cli"}
    )
    assert public.status_code == 401
    wrong = browser.post(
        f"{live}/introspect", data={"token": tokens["access_token"]}, auth=("web", "wrong")
    )
    assert wrong.status_code == 401
    assert "basic" in wrong.headers["www-authenticate"].lower()
    # A resource server registered as a confidential client may introspect other clients' tokens.
    svc = browser.post(
        f"{live}/introspect", data={"token": tokens["access_token"]}, auth=("svc", SVC_SECRET)
    )
    assert svc.json()["active"] is True


def test_revoking_an_access_token_leaves_the_grant(live: str, browser: httpx.Client) -> None:
    tokens = code_tokens(browser, live)
    r = revoke(browser, live, tokens["access_token"], token_type_hint="access_token")
    assert r.status_code == 200
    assert introspect(browser, live, tokens["access_token"]).json() == INACTIVE
    assert introspect(browser, live, tokens["refresh_token"]).json()["active"] is True
    refreshed = browser.post(
        f"{live}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "cli",
        },
    )
    assert refreshed.status_code == 200


def test_revoking_a_refresh_token_ends_the_grant(live: str, browser: httpx.Client) -> None:
    tokens = code_tokens(browser, live)
    # The hint is wrong on purpose: it orders the search, it does not limit it (RFC 7009 §2.1).
    r = revoke(browser, live, tokens["refresh_token"], token_type_hint="access_token")
    assert r.status_code == 200
    assert introspect(browser, live, tokens["refresh_token"]).json() == INACTIVE
    assert introspect(browser, live, tokens["access_token"]).json() == INACTIVE
    refreshed = browser.post(
        f"{live}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "cli",
        },
    )
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"


def test_unknown_token_revocation_answers_200(live: str, browser: httpx.Client) -> None:
    for token in ("never-issued", "a.b.c"):
        r = revoke(browser, live, token)
        assert r.status_code == 200
        assert r.json() == {}


def test_a_client_cannot_revoke_another_clients_token(live: str, browser: httpx.Client) -> None:
    tokens = code_tokens(browser, live)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        r = revoke(browser, live, token, client_id="web")
        # RFC 7009 §2.1: refused, and the client is told; nothing changes.
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_grant"
        assert "not issued to the client" in r.json()["error_description"]
        assert introspect(browser, live, token).json()["active"] is True


def test_revocation_needs_client_authentication_and_a_token(
    live: str, browser: httpx.Client
) -> None:
    tokens = code_tokens(browser, live, client_id="web", scope="openid read:profile")
    r = browser.post(f"{live}/revoke", data={"token": tokens["access_token"]}, auth=("web", "bad"))
    assert r.status_code == 401
    assert introspect(browser, live, tokens["access_token"]).json()["active"] is True
    missing = browser.post(f"{live}/revoke", data={}, auth=web_auth())
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    ok = revoke(browser, live, tokens["access_token"], client_id="web")
    assert ok.status_code == 200
    assert introspect(browser, live, tokens["access_token"]).json() == INACTIVE


# In process, where the clock can move and the events can be read.


def test_expired_tokens_are_inactive(server: InProcess) -> None:
    tokens = code_tokens(server.http, server.base)
    assert introspect(server.http, server.base, tokens["access_token"]).json()["active"] is True
    server.clock.advance(server.state.settings.access_token_ttl)
    assert introspect(server.http, server.base, tokens["access_token"]).json() == INACTIVE
    assert introspect(server.http, server.base, tokens["refresh_token"]).json()["active"] is True
    server.clock.advance(server.state.settings.refresh_token_ttl)
    assert introspect(server.http, server.base, tokens["refresh_token"]).json() == INACTIVE


def test_a_rotated_refresh_token_is_inactive(server: InProcess) -> None:
    tokens = code_tokens(server.http, server.base)
    server.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "cli",
        },
    ).raise_for_status()
    assert introspect(server.http, server.base, tokens["refresh_token"]).json() == INACTIVE


def test_revocation_events_name_the_rule_and_hide_the_token(server: InProcess) -> None:
    tokens = code_tokens(server.http, server.base)
    revoke(server.http, server.base, tokens["refresh_token"])
    event = next(e for e in server.sink.events if e.name == "token.revoked")
    assert event.data["token_type"] == "refresh_token"
    assert event.data["spec"] == "RFC 7009 §2.1"
    assert tokens["refresh_token"] not in repr(event)
    revoke(server.http, server.base, tokens["access_token"], client_id="web")
    rejected = next(e for e in server.sink.events if e.name == "revocation.rejected")
    assert rejected.error == "invalid_grant"
    assert rejected.checks[0].spec == "RFC 7009 §2.1"
    introspect(server.http, server.base, tokens["access_token"])
    seen = next(e for e in server.sink.events if e.name == "token.introspected")
    assert seen.data == {"active": False, "caller": "web"}
    assert tokens["access_token"] not in repr(seen)


def test_tokens_of_a_removed_client_are_inactive(server: InProcess) -> None:
    tokens = code_tokens(server.http, server.base)
    server.store.delete_client("cli")
    server.clock.advance(CLIENT_CACHE_SECONDS)  # the servers' short client cache lets go
    assert introspect(server.http, server.base, tokens["access_token"]).json() == INACTIVE
    assert introspect(server.http, server.base, tokens["refresh_token"]).json() == INACTIVE


def test_odd_requests_get_clear_errors_never_a_500(live: str, browser: httpx.Client) -> None:
    tokens = code_tokens(browser, live, scope="openid")
    cases = [
        browser.post(
            f"{live}/revoke",
            content=b'{"token": "x"}',
            headers={"content-type": "application/json"},
        ),
        browser.post(f"{live}/introspect", data={"token": ["a", "b"]}, auth=web_auth()),
        browser.get(f"{live}/userinfo", headers={"Authorization": "Basic abc"}),
        browser.post(
            f"{live}/userinfo",
            data={"access_token": tokens["access_token"]},
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        ),
        browser.get(f"{live}/logout", params={"id_token_hint": "not-a-jwt"}),
        browser.post(f"{live}/logout", content=b"\xff", headers={"content-type": "text/plain"}),
    ]
    for r in cases:
        assert 400 <= r.status_code < 500, (r.request.url, r.status_code, r.text[:200])
        assert "Traceback" not in r.text
    undecodable = browser.post(
        f"{live}/introspect",
        content=b"token=%ff%fe",
        auth=web_auth(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert undecodable.json() == INACTIVE
