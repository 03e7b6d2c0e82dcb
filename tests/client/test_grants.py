"""The library's grants against a real server process, on sync and async httpx clients."""

from __future__ import annotations

import asyncio
import base64
import time

import httpx
import pytest

from tests.client.conftest import ODD_SECRET, PW_SECRET, SVC_SECRET, WEB_SECRET
from tests.support.flows import login_and_consent, redirect_params
from valetkey.client import (
    ClientConfig,
    ConfigError,
    Endpoints,
    OAuthServerError,
    TokenSet,
    arun,
    discover,
    grants,
    run,
    start,
)
from valetkey.client.authorize import PendingAuthorization
from valetkey.core import jose, pkce

REDIRECT = "http://127.0.0.1:53123/callback"


def endpoints_of(issuer: str) -> Endpoints:
    with httpx.Client() as http:
        return run(discover(issuer), http)


def authorize(http: httpx.Client, pending: PendingAuthorization) -> dict[str, str]:
    """The user signs in and consents; return the parameters of the redirect to the client."""
    response = login_and_consent(http, pending.url)
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    return redirect_params(location)


def config(issuer: str, client_id: str = "cli", **kw: object) -> ClientConfig:
    return ClientConfig(
        client_id=client_id, endpoints=endpoints_of(issuer), redirect_uri=REDIRECT, **kw
    )  # type: ignore[arg-type]


def access_claims(tokens: TokenSet) -> dict[str, object]:
    return jose.unverified_parts(tokens.access_token)[1]


def test_discovery_reads_rfc8414_metadata(issuer: str) -> None:
    found = endpoints_of(issuer)
    assert found.issuer == issuer
    assert found.token_endpoint == f"{issuer}/token"
    assert found.authorization_endpoint == f"{issuer}/authorize"
    assert found.jwks_uri == f"{issuer}/jwks.json"
    assert found.iss_parameter_supported is True


def test_code_with_pkce_s256_and_openid(
    http: httpx.Client, issuer: str, browser_session: httpx.Client
) -> None:
    cfg = config(issuer, scope="openid profile read:profile offline_access")
    pending = start(cfg, REDIRECT)
    assert "code_challenge_method=S256" in pending.url and pending.nonce and pending.state
    callback = authorize(browser_session, pending)
    assert callback["iss"] == issuer
    tokens = run(grants.authorization_code(cfg, pending, callback, time.time()), http)
    assert tokens.refresh_token and tokens.id_token
    assert access_claims(tokens)["client_id"] == "cli"
    _h, id_claims = jose.unverified_parts(tokens.id_token)
    assert id_claims["nonce"] == pending.nonce and id_claims["aud"] == "cli"


def test_same_flow_runs_on_an_async_client(
    http: httpx.Client, issuer: str, browser_session: httpx.Client
) -> None:
    cfg = config(issuer, scope="openid read:profile")
    pending = start(cfg, REDIRECT)
    callback = authorize(browser_session, pending)

    async def exchange() -> TokenSet:
        async with httpx.AsyncClient() as http:
            return await arun(grants.authorization_code(cfg, pending, callback, time.time()), http)

    tokens = asyncio.run(exchange())
    assert tokens.id_token and access_claims(tokens)["sub"]


def test_plain_pkce_with_a_custom_verifier(
    http: httpx.Client, issuer: str, browser_session: httpx.Client
) -> None:
    verifier = "v" * 43
    cfg = config(issuer, client_id="plain-cli", scope="read:profile")
    pending = start(cfg, REDIRECT, pkce_method="plain", code_verifier=verifier)
    assert (
        f"code_challenge={verifier}" in pending.url and "code_challenge_method=plain" in pending.url
    )
    callback = authorize(browser_session, pending)
    tokens = run(grants.authorization_code(cfg, pending, callback, time.time()), http)
    assert access_claims(tokens)["client_id"] == "plain-cli"


def test_custom_s256_verifier_is_the_one_sent(
    http: httpx.Client, issuer: str, browser_session: httpx.Client
) -> None:
    verifier = "A1-._~" * 20  # 120 characters
    cfg = config(issuer, scope="read:profile")
    pending = start(cfg, REDIRECT, code_verifier=verifier)
    assert pending.code_verifier == verifier
    assert f"code_challenge={pkce.s256(verifier)}" in pending.url
    callback = authorize(browser_session, pending)
    tampered = PendingAuthorization(**{**pending.__dict__, "code_verifier": "w" * 43})
    with pytest.raises(OAuthServerError) as refused:
        run(grants.authorization_code(cfg, tampered, callback, time.time()), http)
    assert refused.value.error == "invalid_grant"  # the server really checks what we send


@pytest.mark.parametrize("bad", ["short", "x" * 129, "has space" + "x" * 40, "ü" * 43])
def test_a_bad_custom_verifier_is_refused_before_anything_is_sent(issuer: str, bad: str) -> None:
    with pytest.raises(ConfigError, match="43-128"):
        start(config(issuer), REDIRECT, code_verifier=bad)


@pytest.mark.parametrize(
    ("client_id", "secret", "method"),
    [
        ("conf-basic", ODD_SECRET, "client_secret_basic"),
        ("conf-post", WEB_SECRET, "client_secret_post"),
    ],
)
def test_confidential_code_flow_with_each_client_auth(
    http: httpx.Client,
    issuer: str,
    browser_session: httpx.Client,
    client_id: str,
    secret: str,
    method: str,
) -> None:
    cfg = config(
        issuer,
        client_id=client_id,
        client_secret=secret,
        auth_method=method,
        scope="openid read:profile",
    )
    pending = start(cfg, REDIRECT)
    callback = authorize(browser_session, pending)
    tokens = run(grants.authorization_code(cfg, pending, callback, time.time()), http)
    assert access_claims(tokens)["client_id"] == client_id


def test_basic_credentials_are_form_urlencoded_first() -> None:
    from valetkey.client.messages import basic_credentials

    value = basic_credentials("id:1", "a+b c/%")
    decoded = base64.b64decode(value.removeprefix("Basic ")).decode()
    assert decoded == "id%3A1:a%2Bb+c%2F%25"


def test_implicit_with_id_token(
    http: httpx.Client, issuer: str, browser_session: httpx.Client
) -> None:
    cfg = config(issuer, client_id="spa-implicit", scope="openid profile read:profile")
    pending = start(cfg, REDIRECT, response_type="token")
    assert "code_challenge" not in pending.url
    response = login_and_consent(browser_session, pending.url)
    location = response.headers["location"]
    assert "#" in location and "access_token=" in location.split("#", 1)[1]
    tokens = run(grants.implicit(cfg, pending, redirect_params(location), time.time()), http)
    assert tokens.id_token and access_claims(tokens)["client_id"] == "spa-implicit"


def test_password_grant(http: httpx.Client, issuer: str) -> None:
    cfg = config(issuer, client_id="legacy-pw", client_secret=PW_SECRET, scope="read:profile")
    tokens = run(grants.password(cfg, "alice", "wonderland", time.time()), http)
    assert access_claims(tokens)["sub"] and tokens.refresh_token
    with pytest.raises(OAuthServerError) as refused:
        run(grants.password(cfg, "alice", "wrong", time.time()), http)
    assert refused.value.error == "invalid_grant" and refused.value.error_description


@pytest.mark.parametrize(
    ("client_id", "method"), [("svc", "client_secret_basic"), ("svc-post", "client_secret_post")]
)
def test_client_credentials_with_each_client_auth(
    http: httpx.Client, issuer: str, client_id: str, method: str
) -> None:
    cfg = config(
        issuer,
        client_id=client_id,
        client_secret=SVC_SECRET,
        auth_method=method,
        scope="read:files",
    )
    tokens = run(grants.client_credentials(cfg, time.time()), http)
    assert access_claims(tokens)["client_id"] == client_id
    assert tokens.scope == "read:files" and tokens.refresh_token is None


def test_wrong_client_auth_method_is_a_typed_error(http: httpx.Client, issuer: str) -> None:
    cfg = config(
        issuer, client_id="svc", client_secret=SVC_SECRET, auth_method="client_secret_post"
    )
    with pytest.raises(OAuthServerError) as refused:
        run(grants.client_credentials(cfg, time.time()), http)
    assert refused.value.error == "invalid_client"
    assert "client_secret_basic" in (refused.value.error_description or "")
    assert refused.value.status == 401 and refused.value.hint


def test_refresh_rotates_and_the_old_refresh_token_dies(http: httpx.Client, issuer: str) -> None:
    cfg = config(issuer, client_id="legacy-pw", client_secret=PW_SECRET, scope="read:profile")
    first = run(grants.password(cfg, "alice", "wonderland", time.time()), http)
    second = run(grants.refresh(cfg, first, time.time()), http)
    assert second.refresh_token and second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    with pytest.raises(OAuthServerError) as reused:
        run(grants.refresh(cfg, first, time.time()), http)
    assert reused.value.error == "invalid_grant"
