"""What the client refuses: forged callbacks and ID tokens, never reaching the token endpoint."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.client.proxy import recording_proxy
from tests.support.flows import login_and_consent, redirect_params
from valetkey.client import (
    ClientConfig,
    DiscoveryError,
    IdTokenInvalid,
    IssuerMismatch,
    StateMismatch,
    discover,
    grants,
    run,
    start,
)
from valetkey.client.config import Endpoints
from valetkey.client.idtoken import check_claims
from valetkey.core import jose

REDIRECT = "http://127.0.0.1:53124/callback"


def proxied(
    issuer: str, proxy_base: str, client_id: str = "cli", scope: str = "read:profile", **kw: Any
) -> ClientConfig:
    """Endpoints through the recording proxy; the issuer (and its iss) stays the real one."""
    endpoints = Endpoints(
        authorization_endpoint=f"{proxy_base}/authorize",
        token_endpoint=f"{proxy_base}/token",
        jwks_uri=f"{issuer}/jwks.json",
        issuer=issuer,
        iss_parameter_supported=True,
    )
    return ClientConfig(client_id=client_id, endpoints=endpoints, scope=scope, **kw)


def callback_for(browser: httpx.Client, url: str) -> dict[str, str]:
    return redirect_params(login_and_consent(browser, url).headers["location"])


def test_state_mismatch_aborts_before_any_token_request(
    issuer: str, browser_session: httpx.Client, http: httpx.Client
) -> None:
    with recording_proxy(issuer) as proxy:
        cfg = proxied(issuer, proxy.base)
        pending = start(cfg, REDIRECT)
        callback = callback_for(browser_session, pending.url)
        assert proxy.to("/authorize")  # the flow really went through the proxy
        for forged in (
            {**callback, "state": "attacker-state"},
            {k: v for k, v in callback.items() if k != "state"},
        ):
            with pytest.raises(StateMismatch, match="state"):
                run(grants.authorization_code(cfg, pending, forged, time.time()), http)
        assert proxy.to("/token") == []


def test_iss_mismatch_aborts_before_any_token_request(
    issuer: str, browser_session: httpx.Client, http: httpx.Client
) -> None:
    with recording_proxy(issuer) as proxy:
        cfg = proxied(issuer, proxy.base)
        pending = start(cfg, REDIRECT)
        callback = callback_for(browser_session, pending.url)
        assert callback["iss"] == issuer
        with pytest.raises(IssuerMismatch, match="RFC 9207"):
            mixed_up = {**callback, "iss": "https://evil.example"}
            run(grants.authorization_code(cfg, pending, mixed_up, time.time()), http)
        # The server advertises iss support: a callback without it is refused too.
        with pytest.raises(IssuerMismatch, match="no iss"):
            missing = {k: v for k, v in callback.items() if k != "iss"}
            run(grants.authorization_code(cfg, pending, missing, time.time()), http)
        assert proxy.to("/token") == []
        # The genuine callback still works, so the refusals above were the checks' doing.
        tokens = run(grants.authorization_code(cfg, pending, callback, time.time()), http)
        assert tokens.access_token and len(proxy.to("/token")) == 1


def forge(claims_from: str, kid: str) -> str:
    """An ID token with the real claims but signed with the attacker's key under the real kid."""
    _h, claims = jose.unverified_parts(claims_from)
    attacker = jose.generate_private_jwk("RS256", kid=kid)
    return jose.sign(claims, attacker)


def test_a_forged_id_token_is_rejected(
    issuer: str, browser_session: httpx.Client, http: httpx.Client
) -> None:
    def swap_id_token(path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/token" and "id_token" in body:
            kid = jose.unverified_parts(body["id_token"])[0]["kid"]
            body["id_token"] = forge(body["id_token"], kid)
        return body

    with recording_proxy(issuer, transform=swap_id_token) as proxy:
        cfg = proxied(issuer, proxy.base, scope="openid profile read:profile")
        pending = start(cfg, REDIRECT)
        callback = callback_for(browser_session, pending.url)
        with pytest.raises(IdTokenInvalid, match="not signed by this issuer"):
            run(grants.authorization_code(cfg, pending, callback, time.time()), http)
        assert len(proxy.to("/token")) == 1


CLAIMS = {"iss": "https://as", "aud": "cli", "exp": 2000, "iat": 1400, "nonce": "n-1", "sub": "u"}


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"iss": "https://other"}, "iss"),
        ({"aud": "someone-else"}, "audience"),
        ({"aud": ["cli", "other"]}, "azp"),
        ({"exp": 1000}, "expired"),
        ({"nonce": "n-2"}, "nonce"),
        ({"at_hash": "wrong"}, "at_hash"),
        ({"iat": 1500 + 120}, "iat"),  # OIDC Core §3.1.3.7 step 10: issued in the future
        ({"iat": None}, "iat"),  # §2: iat is required
    ],
)
def test_each_id_token_claim_check(change: dict[str, Any], why: str) -> None:
    with pytest.raises(IdTokenInvalid, match=why):
        check_claims(
            {"alg": "RS256"},
            {**CLAIMS, **change},
            issuer="https://as",
            client_id="cli",
            nonce="n-1",
            access_token="tok",
            now=1500,
        )
    check_claims(
        {"alg": "RS256"},
        CLAIMS,
        issuer="https://as",
        client_id="cli",
        nonce="n-1",
        access_token="tok",
        now=1500,
    )


def test_discovery_refuses_metadata_for_another_issuer(issuer: str, http: httpx.Client) -> None:
    with pytest.raises(DiscoveryError, match="not the configured"):
        run(discover(issuer + "/"), http)  # a different issuer string: exact match only


def test_discovery_falls_back_to_openid_configuration(http: httpx.Client) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/tenant/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": "https://op.test/tenant",
                    "token_endpoint": "https://op.test/tenant/token",
                },
            )
        return httpx.Response(404)

    with httpx.Client(transport=httpx.MockTransport(answer)) as fake:
        found = run(discover("https://op.test/tenant"), fake)
    assert seen == [
        "/.well-known/oauth-authorization-server/tenant",
        "/tenant/.well-known/openid-configuration",
    ]
    assert found.token_endpoint == "https://op.test/tenant/token"
    assert found.iss_parameter_supported is False
