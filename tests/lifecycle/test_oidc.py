"""OpenID Connect: discovery, ID tokens checked by Authlib, refresh, and UserInfo."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import InProcess, make_in_process
from tests.lifecycle.conftest import FAST_BASE
from tests.lifecycle.helpers import code_tokens, revoke
from tests.lifecycle.oidc_client import validate_id_token
from valetkey.core import jose
from valetkey.core.secrets import new_token


def test_openid_configuration_matches_the_oauth_metadata(live: str, browser: httpx.Client) -> None:
    oidc = browser.get(f"{live}/.well-known/openid-configuration")
    oauth = browser.get(f"{live}/.well-known/oauth-authorization-server")
    assert oidc.status_code == 200
    assert oidc.json() == oauth.json()
    doc = oidc.json()
    # OIDC Discovery §3 required fields.
    for field in ("issuer", "authorization_endpoint", "jwks_uri", "response_types_supported"):
        assert doc[field]
    assert doc["issuer"] == live
    assert doc["subject_types_supported"] == ["public"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["userinfo_endpoint"] == f"{live}/userinfo"
    assert doc["end_session_endpoint"] == f"{live}/logout"
    kinds = {k["kty"] for k in browser.get(doc["jwks_uri"]).json()["keys"]}
    assert kinds == {"RSA", "EC"}


def test_id_token_verified_by_authlib(live: str, browser: httpx.Client) -> None:
    nonce = new_token(16)
    tokens = code_tokens(browser, live, extra={"nonce": nonce})
    jwks = browser.get(f"{live}/jwks.json").json()
    claims = validate_id_token(
        tokens["id_token"],
        jwks,
        issuer=live,
        client_id="cli",
        nonce=nonce,
        access_token=tokens["access_token"],
    )
    header, _ = jose.unverified_parts(tokens["id_token"])
    assert header["alg"] == "RS256"
    assert claims["aud"] == "cli"
    assert claims["nonce"] == nonce
    assert claims["auth_time"] <= claims["iat"] < claims["exp"]
    # profile and email scopes release the user's claims
    assert claims["name"] == "Alice Liddell"
    assert claims["preferred_username"] == "alice"
    assert claims["email"] == "alice@example.test"
    assert claims["email_verified"] is True
    # The same library refuses a wrong nonce, audience or access token: the checks are real.
    from authlib.jose.errors import InvalidClaimError
    from joserfc.errors import InvalidClaimError as JoseInvalidClaim  # Authlib 1.7+ raises this one

    for wrong in (
        {"nonce": "other"},
        {"client_id": "web"},
        {"access_token": tokens["refresh_token"]},
    ):
        kwargs = {
            "client_id": "cli",
            "nonce": nonce,
            "access_token": tokens["access_token"],
            **wrong,
        }
        with pytest.raises((InvalidClaimError, JoseInvalidClaim)):
            validate_id_token(tokens["id_token"], jwks, issuer=live, **kwargs)  # type: ignore[arg-type]


def test_sub_is_stable_and_scopes_limit_claims(live: str, browser: httpx.Client) -> None:
    first = code_tokens(browser, live, scope="openid")
    second = code_tokens(browser, live, scope="openid email")
    _h, a = jose.unverified_parts(first["id_token"])
    _h, b = jose.unverified_parts(second["id_token"])
    assert a["sub"] == b["sub"]
    assert "name" not in a and "email" not in a and "nonce" not in a
    assert b["email"] == "alice@example.test" and "name" not in b
    with httpx.Client() as other_browser:
        bob = code_tokens(
            other_browser, live, scope="openid", username="bob", password="builder-bob"
        )
    assert jose.unverified_parts(bob["id_token"])[1]["sub"] != a["sub"]


def test_no_id_token_without_openid(live: str, browser: httpx.Client) -> None:
    tokens = code_tokens(browser, live, scope="read:profile")
    assert "id_token" not in tokens


def test_refresh_issues_a_fresh_id_token_keeping_sub_aud_auth_time(server: InProcess) -> None:
    nonce = new_token(8)
    tokens = code_tokens(server.http, server.base, extra={"nonce": nonce})
    server.clock.advance(120)
    r = server.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "cli",
        },
    )
    refreshed = r.json()
    jwks = server.http.get("/jwks.json").json()
    now = server.clock.now()
    old = validate_id_token(
        tokens["id_token"],
        jwks,
        issuer=server.base,
        client_id="cli",
        nonce=nonce,
        access_token=tokens["access_token"],
        now=now - 120,
    )
    new = validate_id_token(
        refreshed["id_token"],
        jwks,
        issuer=server.base,
        client_id="cli",
        nonce=None,
        access_token=refreshed["access_token"],
        now=now,
    )
    assert (new["sub"], new["aud"], new["auth_time"]) == (old["sub"], old["aud"], old["auth_time"])
    assert new["iat"] == old["iat"] + 120
    assert "nonce" not in new  # OIDC Core §12.2


def test_es256_id_tokens_when_configured() -> None:
    env = make_in_process(FAST_BASE, id_token_alg="ES256")
    with env.http:
        nonce = new_token(8)
        tokens = code_tokens(env.http, env.base, extra={"nonce": nonce})
        header, _ = jose.unverified_parts(tokens["id_token"])
        assert header["alg"] == "ES256"
        validate_id_token(
            tokens["id_token"],
            env.http.get("/jwks.json").json(),
            issuer=env.base,
            client_id="cli",
            nonce=nonce,
            access_token=tokens["access_token"],
            now=env.clock.now(),
        )
        meta = env.http.get("/.well-known/openid-configuration").json()
        assert meta["id_token_signing_alg_values_supported"] == ["ES256"]
    env.store.close()


# UserInfo


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_userinfo_get_and_post(live: str, browser: httpx.Client) -> None:
    tokens = code_tokens(browser, live)
    sub = jose.unverified_parts(tokens["id_token"])[1]["sub"]
    expected = {
        "sub": sub,
        "name": "Alice Liddell",
        "preferred_username": "alice",
        "email": "alice@example.test",
        "email_verified": True,
    }
    assert (
        browser.get(f"{live}/userinfo", headers=bearer(tokens["access_token"])).json() == expected
    )
    assert (
        browser.post(f"{live}/userinfo", headers=bearer(tokens["access_token"])).json() == expected
    )
    in_body = browser.post(f"{live}/userinfo", data={"access_token": tokens["access_token"]})
    assert in_body.json() == expected


def test_userinfo_claims_follow_the_granted_scopes(live: str, browser: httpx.Client) -> None:
    only_openid = code_tokens(browser, live, scope="openid")
    body = browser.get(f"{live}/userinfo", headers=bearer(only_openid["access_token"])).json()
    assert list(body) == ["sub"]
    with_email = code_tokens(browser, live, scope="openid email read:profile")
    # this token's audience is the API, not this server: userinfo still answers
    assert (
        jose.unverified_parts(with_email["access_token"])[1]["aud"] == "https://api.valetkey.test"
    )
    body = browser.get(f"{live}/userinfo", headers=bearer(with_email["access_token"])).json()
    assert set(body) == {"sub", "email", "email_verified"}


def test_userinfo_refusals(live: str, browser: httpx.Client) -> None:
    none = browser.get(f"{live}/userinfo")
    assert none.status_code == 401
    assert none.headers["www-authenticate"].startswith("Bearer")
    assert (
        "error=" not in none.headers["www-authenticate"]
    )  # RFC 6750 §3.1: no code without a token
    garbage = browser.get(f"{live}/userinfo", headers=bearer("garbage"))
    assert garbage.status_code == 401
    assert 'error="invalid_token"' in garbage.headers["www-authenticate"]
    no_openid = code_tokens(browser, live, scope="read:profile")
    r = browser.get(f"{live}/userinfo", headers=bearer(no_openid["access_token"]))
    assert r.status_code == 403
    assert r.json()["error"] == "insufficient_scope"
    assert 'scope="openid"' in r.headers["www-authenticate"]
    tokens = code_tokens(browser, live, scope="openid")
    id_as_bearer = browser.get(f"{live}/userinfo", headers=bearer(tokens["id_token"]))
    assert id_as_bearer.status_code == 401
    revoke(browser, live, tokens["access_token"])
    revoked = browser.get(f"{live}/userinfo", headers=bearer(tokens["access_token"]))
    assert revoked.status_code == 401


def test_userinfo_refuses_an_expired_token(server: InProcess) -> None:
    tokens = code_tokens(server.http, server.base, scope="openid")
    assert server.http.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 200
    server.clock.advance(server.state.settings.access_token_ttl)
    assert server.http.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 401
