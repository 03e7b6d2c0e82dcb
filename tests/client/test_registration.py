"""Dynamic Client Registration (RFC 7591) from the client library, against a fake registration
endpoint (tests/client/registrar.py); and the checks on a client ID metadata document URL."""

from __future__ import annotations

import httpx
import pytest

from tests.client.registrar import Registrar
from valetkey.client import ConfigError, Endpoints, OAuthServerError, UnexpectedResponse, run
from valetkey.client.registration import (
    LOOPBACK_REDIRECT,
    Registration,
    metadata_document_problem,
    native_client_metadata,
    register,
)

ENDPOINT = "https://as.example.test/register"


def registered(registrar: Registrar, **kwargs: str) -> Registration:
    with httpx.Client(transport=httpx.MockTransport(registrar.handle)) as http:
        return run(register(ENDPOINT, native_client_metadata(scope="mcp"), **kwargs), http)


def test_a_public_native_client_is_registered() -> None:
    registrar = Registrar()
    registration = registered(registrar)
    headers, sent = registrar.received[0]
    assert headers["content-type"] == "application/json" and "authorization" not in headers
    assert sent == {
        "client_name": "valetkey CLI",
        "redirect_uris": [LOOPBACK_REDIRECT],  # RFC 8252 §7.3: any port at request time
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "scope": "mcp",
    }
    assert registration.client_id == "dcr-client" and registration.auth_method == "none"
    assert registration.client_secret is None
    config = registration.config(
        Endpoints(issuer="https://as.example.test"), resources=["https://r"]
    )
    assert config.method == "none" and config.resources == ("https://r",)


def test_a_secret_and_an_initial_access_token() -> None:
    registrar = Registrar(client_secret="s3cret-0123456789", initial_access_token="iat-1")
    registration = registered(registrar, initial_access_token="iat-1")
    assert registrar.received[0][0]["authorization"] == "Bearer iat-1"
    assert registration.client_secret == "s3cret-0123456789"
    assert registration.auth_method == "client_secret_basic"
    assert registration.client_secret_expires_at == 0
    with pytest.raises(OAuthServerError) as refused:
        registered(Registrar(initial_access_token="iat-1"))
    assert refused.value.error == "invalid_token" and refused.value.status == 401


def test_a_refused_registration_carries_the_servers_reason() -> None:
    registrar = Registrar()
    with httpx.Client(transport=httpx.MockTransport(registrar.handle)) as http:
        flow = register(ENDPOINT, native_client_metadata(["http://app.example/cb"]))
        with pytest.raises(OAuthServerError) as refused:
            run(flow, http)
    assert refused.value.error == "invalid_redirect_uri"
    assert refused.value.error_description == "redirect URIs must be https or loopback"


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (httpx.Response(201, json={"client_name": "x"}), "no client_id"),
        (httpx.Response(201, text="created"), "without a JSON object"),
        (httpx.Response(500, json={"oops": 1}), "answered 500"),
        (
            httpx.Response(
                201, json={"client_id": "c", "token_endpoint_auth_method": "private_key_jwt"}
            ),
            "cannot use",
        ),
        (
            httpx.Response(
                201, json={"client_id": "c", "token_endpoint_auth_method": "client_secret_post"}
            ),
            "without a client_secret",
        ),
    ],
)
def test_an_unusable_answer_is_refused(answer: httpx.Response, words: str) -> None:
    transport = httpx.MockTransport(lambda r: answer)
    with httpx.Client(transport=transport) as http, pytest.raises(UnexpectedResponse, match=words):
        run(register(ENDPOINT, native_client_metadata()), http)


def test_a_registration_without_our_redirect_is_refused() -> None:
    with pytest.raises(UnexpectedResponse, match="did not register the redirect URIs"):
        registered(Registrar(drop_redirects=True))


def test_registration_is_never_sent_in_the_clear() -> None:
    flow = register("http://as.example.test/register", native_client_metadata())
    with pytest.raises(ConfigError, match="must be https"):
        next(flow)


@pytest.mark.parametrize(
    ("client_id", "problem"),
    [
        ("https://app.example.test/oauth/client.json", None),
        ("https://app.example.test:8443/c?v=1", None),
        ("http://app.example.test/client.json", "https"),
        ("https://app.example.test", "path"),
        ("https://app.example.test/", "path"),
        ("https://app.example.test/a/../client.json", "path"),
        ("https://app.example.test/client.json#x", "fragment"),
        ("https://me:pw@app.example.test/client.json", "username"),
    ],
)
def test_client_id_metadata_document_urls(client_id: str, problem: str | None) -> None:
    found = metadata_document_problem(client_id)
    assert found is None if problem is None else (found is not None and problem in found)
