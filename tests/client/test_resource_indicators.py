"""RFC 8707 resource indicators from the client library: on the authorization request and on every
token request (code, refresh, client credentials, password), kept with the saved configuration."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from valetkey.client import ClientConfig, ConfigError, Endpoints, TokenSet, grants, start
from valetkey.client.config import check_resource
from valetkey.client.io import Flow

RESOURCES = ("https://api.example.test", "https://files.example.test/v1")
CONFIG = ClientConfig(
    "cli",
    Endpoints(
        authorization_endpoint="https://as.test/authorize", token_endpoint="https://as.test/token"
    ),
    client_secret="s" * 32,
    scope="read",
    resources=RESOURCES,
)


def sent(flow: Flow[Any]) -> list[tuple[str, str]]:
    request = next(flow)
    return parse_qsl(request.content.decode())


def resources_in(pairs: list[tuple[str, str]]) -> list[str]:
    return [v for k, v in pairs if k == "resource"]


def test_the_authorization_request_names_every_resource() -> None:
    pending = start(CONFIG, "http://127.0.0.1:8765/callback")
    assert resources_in(parse_qsl(urlsplit(pending.url).query)) == list(RESOURCES)


def test_every_token_request_names_them() -> None:
    pending = start(CONFIG, "http://127.0.0.1:8765/callback")
    callback = {"code": "c", "state": pending.state}
    tokens = TokenSet("at", refresh_token="rt")
    for flow in (
        grants.authorization_code(CONFIG, pending, callback, 0.0),
        grants.refresh(CONFIG, tokens, 0.0),
        grants.client_credentials(CONFIG, 0.0),
        grants.password(CONFIG, "alice", "pw", 0.0),
    ):
        assert resources_in(sent(flow)) == list(RESOURCES)
    plain = ClientConfig("cli", CONFIG.endpoints, client_secret="s" * 32)
    assert resources_in(sent(grants.refresh(plain, tokens, 0.0))) == []


def test_the_resources_are_saved_with_the_configuration() -> None:
    assert ClientConfig.from_dict(CONFIG.to_dict()) == CONFIG
    old = {k: v for k, v in CONFIG.to_dict().items() if k != "resources"}  # saved before
    assert ClientConfig.from_dict(old).resources == ()


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://api.example.test", True),
        ("urn:example:api", True),  # RFC 8707 §2: any absolute URI
        ("api.example.test", False),
        ("/api", False),
        ("https://api.example.test/#frag", False),
        ("https://api example.test", False),
    ],
)
def test_a_resource_indicator_is_an_absolute_uri_without_fragment(value: str, ok: bool) -> None:
    if ok:
        assert check_resource(value) == value
    else:
        with pytest.raises(ConfigError):
            check_resource(value)
