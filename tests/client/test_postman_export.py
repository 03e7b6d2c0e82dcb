"""Profiles out to Postman and back: import(export(p)) == p for every field Postman can hold."""

from __future__ import annotations

from typing import Any

import pytest

from tests.client.test_postman_schema import assert_collection_v21
from valetkey.client.errors import ConfigError
from valetkey.client.postman import import_collection
from valetkey.client.postman_export import export_collection

FULL_CODE = {
    "grant": "authorization_code",
    "pkce": True,
    "pkce_method": "plain",
    "code_verifier": "v" * 50,
    "auth_url": "https://auth.example.com/authorize",
    "token_url": "https://auth.example.com/token",
    "refresh_url": "https://auth.example.com/refresh",
    "client_id": "cli",
    "client_secret": "s3cret",
    "client_auth": "body",
    "scope": "openid read:files",
    "redirect_uri": "http://127.0.0.1:8765/callback",
    "browser": True,
    "auth_params": ["query:prompt=consent", "body:acr_values=a", "body:acr_values=b"],
    "token_params": ["body:audience=https://api", "query:tenant=blue", "header:X-Tag=t=1"],
    "refresh_params": ["header:X-Tag=r"],
    "resource": ["https://api.example.com", "https://files.example.com/v1"],
}
PROFILES: dict[str, dict[str, Any]] = {
    "code-with-pkce": FULL_CODE,
    "code-without-pkce": {
        "grant": "authorization_code",
        "pkce": False,
        "client_id": "web",
        "auth_url": "https://a.test/authorize",
        "token_url": "https://a.test/token",
        "client_secret": "x",
        "client_auth": "basic",
    },
    "implicit": {
        "grant": "implicit",
        "client_id": "spa",
        "auth_url": "https://a.test/authorize",
        "scope": "openid",
        "auth_params": ["query:nonce_hint=1"],
        "resource": ["https://api.test"],
    },
    "password": {
        "grant": "password",
        "client_id": "pw",
        "token_url": "https://a.test/token",
        "username": "alice",
        "client_secret": "x",
        "client_auth": "basic",
        "token_params": ["body:audience=erp"],
    },
    "client-credentials": {
        "grant": "client_credentials",
        "client_id": "svc",
        "token_url": "https://a.test/token",
        "client_secret": "x",
        "client_auth": "body",
        "scope": "read",
        "resource": ["https://api.test"],
        "refresh_params": ["query:r=1"],
    },
}


def round_trip(name: str, values: dict[str, Any]) -> dict[str, Any]:
    collection, findings = export_collection(name, values)
    assert_collection_v21(collection)
    assert findings == []
    result = import_collection(collection)
    assert result.unresolved == {}
    (profile,) = result.profiles
    return profile.values


@pytest.mark.parametrize("name", list(PROFILES))
def test_round_trip_for_each_grant(name: str) -> None:
    assert round_trip(name, PROFILES[name]) == PROFILES[name]


def test_the_export_says_it_in_postmans_words() -> None:
    collection, _ = export_collection("mine", FULL_CODE)
    auth = collection["item"][0]["request"]["auth"]
    attrs = {a["key"]: a["value"] for a in auth["oauth2"]}
    assert auth["type"] == "oauth2"
    assert attrs["grant_type"] == "authorization_code_with_pkce"
    assert attrs["challengeAlgorithm"] == "plain" and attrs["client_authentication"] == "body"
    assert attrs["accessTokenUrl"] == FULL_CODE["token_url"] and attrs["tokenName"] == "mine"
    # valetkey sends each resource on the authorization, token and refresh requests (RFC 8707)
    resource = {"key": "resource", "value": "https://api.example.com", "enabled": True}
    assert resource | {"send_as": "request_url"} in attrs["authRequestParams"]
    assert resource | {"send_as": "request_body"} in attrs["tokenRequestParams"]
    assert resource | {"send_as": "request_body"} in attrs["refreshRequestParams"]
    assert {"key": "X-Tag", "value": "t=1", "enabled": True, "send_as": "request_header"} in attrs[
        "tokenRequestParams"
    ]
    assert collection["item"][0]["request"]["url"] == "https://api.example.com"


def test_a_resource_sent_on_only_some_requests_stays_a_custom_parameter() -> None:
    values = {
        "grant": "client_credentials",
        "client_id": "svc",
        "token_url": "https://a.test/t",
        "token_params": ["body:resource=https://api.test"],
    }
    assert round_trip("x", values) == values


def test_a_public_client_is_sent_as_client_credentials_in_the_body() -> None:
    values = {"grant": "authorization_code", "pkce": True, "pkce_method": "S256", "client_id": "c"}
    collection, _ = export_collection("x", values)
    attrs = {a["key"]: a["value"] for a in collection["item"][0]["request"]["auth"]["oauth2"]}
    assert attrs["client_authentication"] == "body" and "clientSecret" not in attrs
    assert round_trip("x", values) == values


def test_what_postman_cannot_hold_is_reported() -> None:
    values = {
        "grant": "authorization_code",
        "client_id": "c",
        "issuer": "https://auth.example.com",
        "discovery": False,
        "revocation_url": "https://auth.example.com/revoke",
        "jwks_uri": "https://auth.example.com/jwks",
        "timeout": 60,
        "browser": False,
        "client_secret": "s",
        "client_auth": "private_key_jwt",
        "password": "hunter2",
    }
    collection, findings = export_collection("x", values)
    reported = {f.field: f for f in findings}
    assert set(reported) == {
        "issuer",
        "discovery",
        "revocation_url",
        "jwks_uri",
        "timeout",
        "browser",
        "client_auth",
        "password",
    }
    assert reported["password"].value == "***" and "hunter2" not in repr(collection)
    assert all(f.instead for f in findings)


def test_a_key_postman_has_no_field_for_is_reported() -> None:
    _, findings = export_collection("x", {"grant": "client_credentials", "client_key": "k.pem"})
    assert [(f.field, f.instead) for f in findings] == [("client_key", "not written")]


def test_an_unknown_grant_is_refused() -> None:
    with pytest.raises(ConfigError, match="no Postman equivalent"):
        export_collection("x", {"grant": "device_code"})


@pytest.mark.parametrize(
    "values",
    [
        {"client_auth": "private_key_jwt", "private_key": "/keys/client.pem"},
        {"client_auth": "client_secret_jwt", "client_secret": "s"},
        {"client_auth": "none", "client_secret": "s"},
        {"client_auth": "basic"},  # basic without a secret to send
    ],
)
def test_client_authentication_postman_cannot_do_is_reported(values: dict[str, Any]) -> None:
    _, findings = export_collection(
        "x", {"grant": "client_credentials", "client_id": "c", **values}
    )
    assert "client_auth" in {f.field for f in findings}


@pytest.mark.parametrize(
    ("client_auth", "postman"),
    [
        ("basic", "header"),
        ("client_secret_basic", "header"),
        ("body", "body"),
        ("post", "body"),
        ("client_secret_post", "body"),
    ],
)
def test_every_name_a_profile_takes_for_a_secret_method_is_exported(
    client_auth: str, postman: str
) -> None:
    """A profile may name its method by alias or full name (client.config.AUTH_ALIASES): each is
    something Postman holds, written without a warning."""
    values = {
        "grant": "client_credentials",
        "client_id": "svc",
        "client_secret": "s3cret",
        "token_url": "https://a.test/t",
        "client_auth": client_auth,
    }
    collection, findings = export_collection("x", values)
    attrs = {a["key"]: a["value"] for a in collection["item"][0]["request"]["auth"]["oauth2"]}
    assert attrs["client_authentication"] == postman
    assert not [f for f in findings if f.field == "client_auth"]
