"""A real third-party OAuth client (Authlib's httpx OAuth2Client) against a real valetkey process."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import httpx
import pytest
from authlib.common.security import generate_token

from tests.conftest import BASE_CONFIG, SVC_SECRET, WEB_SECRET
from tests.support.flows import login_and_consent
from tests.support.servers import auth_server
from valetkey.core import jose

with warnings.catch_warnings():
    # Authlib warns at import about its own httpx integration and installs an "always" filter for
    # its warnings; both stay inside this block.
    import authlib.deprecate  # noqa: F401  (installs the filter now, inside the block)

    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import OAuth2Client


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("interop")
    with auth_server(f'database = "sqlite:///{tmp / "as.db"}"\n' + BASE_CONFIG, tmp) as url:
        yield url


def test_authlib_code_flow_with_pkce_and_refresh(base: str) -> None:
    with OAuth2Client(
        "cli",
        redirect_uri="http://127.0.0.1:40123/callback",
        scope="read:profile read:files",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    ) as client:
        _code_flow_and_refresh(client, base)


def _code_flow_and_refresh(client: OAuth2Client, base: str) -> None:
    verifier = generate_token(64)
    url, state = client.create_authorization_url(f"{base}/authorize", code_verifier=verifier)
    with httpx.Client(follow_redirects=False) as browser:
        callback = login_and_consent(browser, url).headers["location"]
    token = client.fetch_token(
        f"{base}/token", authorization_response=callback, code_verifier=verifier, state=state
    )
    assert token["token_type"] == "Bearer" and token["scope"] == "read:profile read:files"
    jwks = httpx.get(f"{base}/jwks.json").json()
    _, claims = jose.verify(token["access_token"], jwks)
    assert claims["client_id"] == "cli"
    refreshed = client.refresh_token(f"{base}/token", refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]


def test_authlib_confidential_client_with_basic_auth(base: str) -> None:
    redirect_uri = "https://web.example/callback"
    with OAuth2Client(
        "web",
        WEB_SECRET,
        redirect_uri=redirect_uri,
        scope="read:profile",
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    ) as client:
        verifier = generate_token(48)
        url, state = client.create_authorization_url(f"{base}/authorize", code_verifier=verifier)
        with httpx.Client(follow_redirects=False) as browser:
            callback = login_and_consent(browser, url).headers["location"]
        token = client.fetch_token(
            f"{base}/token", authorization_response=callback, code_verifier=verifier, state=state
        )
    assert token["scope"] == "read:profile"


def test_authlib_client_credentials(base: str) -> None:
    with OAuth2Client("svc", SVC_SECRET, scope="read:files") as client:
        token = client.fetch_token(f"{base}/token", grant_type="client_credentials")
    assert token["scope"] == "read:files" and "refresh_token" not in token


def test_authlib_sees_a_refusal_as_an_oauth_error(base: str) -> None:
    from authlib.integrations.base_client.errors import OAuthError

    with OAuth2Client("svc", "wrong-secret") as client, pytest.raises(OAuthError) as info:
        client.fetch_token(f"{base}/token", grant_type="client_credentials")
    assert info.value.error == "invalid_client"
