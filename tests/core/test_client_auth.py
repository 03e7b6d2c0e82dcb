import base64
from typing import get_args
from urllib.parse import quote_plus

import pytest

from valetkey.core.client_auth import (
    BasicAuthFailed,
    authenticate,
    parse_basic,
    presented_credentials,
)
from valetkey.core.errors import InvalidClient, InvalidRequest
from valetkey.core.models import AUTH_METHODS, JWT_METHODS, AuthMethod, Client


def basic(user: str, password: str, encode: bool = True) -> str:
    if encode:
        user, password = quote_plus(user), quote_plus(password)
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_the_auth_method_names_have_one_home_and_agree() -> None:
    """AUTH_METHODS (the server's list) and AuthMethod (the type the client library is checked
    with) name the same methods, in the same order; the JWT methods are among them."""
    assert get_args(AuthMethod) == AUTH_METHODS
    assert set(JWT_METHODS) <= set(AUTH_METHODS)


def test_basic_credentials_are_form_urlencoded_rfc6749_2_3_1() -> None:
    assert parse_basic(basic("client:1", "p@ss w%rd+")) == ("client:1", "p@ss w%rd+")


def test_basic_scheme_is_case_insensitive() -> None:
    assert parse_basic("bAsIc " + base64.b64encode(b"a:b").decode()) == ("a", "b")


@pytest.mark.parametrize(
    "header",
    ["Bearer abc", "Basic", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode()],
)
def test_bad_basic_header(header: str) -> None:
    with pytest.raises(BasicAuthFailed):
        parse_basic(header)


def test_two_methods_at_once_are_refused_rfc6749_2_3() -> None:
    with pytest.raises(InvalidRequest):
        presented_credentials(basic("a", "b"), {"client_secret": ["b"]})


def test_no_credentials_at_all() -> None:
    with pytest.raises(InvalidClient):
        presented_credentials(None, {})


def test_method_must_match_registration() -> None:
    client = Client("web", secret_digest="d", token_endpoint_auth_method="client_secret_basic")
    presented = presented_credentials(None, {"client_id": ["web"], "client_secret": ["s"]})
    with pytest.raises(InvalidClient) as info:
        authenticate(presented, client, lambda s, d: True)
    assert "client_secret_basic" in info.value.description


def test_public_client_needs_no_secret_but_confidential_does() -> None:
    public = Client("cli", token_endpoint_auth_method="none")
    assert (
        authenticate(
            presented_credentials(None, {"client_id": ["cli"]}), public, lambda s, d: False
        )
        is public
    )
    confidential = Client("web", secret_digest="d", token_endpoint_auth_method="client_secret_post")
    with pytest.raises(InvalidClient):
        authenticate(
            presented_credentials(None, {"client_id": ["web"]}), confidential, lambda s, d: True
        )
