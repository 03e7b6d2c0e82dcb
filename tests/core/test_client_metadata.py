"""Client metadata rules with plain values: (metadata) -> every problem's (path, rule), and the value."""

from __future__ import annotations

from typing import Any

import pytest

from valetkey.core.client_metadata import (
    FIELDS,
    METADATA_RULES,
    ClientMetadata,
    check_client_metadata,
)

CONFIDENTIAL: dict[str, Any] = {
    "redirect_uris": ["https://app.example/cb"],
    "token_endpoint_auth_method": "client_secret_basic",
}
EC_KEY = {"kty": "EC", "crv": "P-256", "x": "x" * 43, "y": "y" * 43, "kid": "k1"}
KEYED: dict[str, Any] = {
    "grant_types": ["client_credentials"],
    "token_endpoint_auth_method": "private_key_jwt",
    "jwks": {"keys": [EC_KEY]},
}
PUBLIC: dict[str, Any] = {
    "redirect_uris": ["http://127.0.0.1/callback", "com.example.app:/callback"],
    "token_endpoint_auth_method": "none",
}


def found(metadata: dict[str, Any], **kwargs: Any) -> list[tuple[str, str]]:
    result = check_client_metadata(metadata, **kwargs)
    assert (result.value is None) == bool(result.problems)
    for p in result.problems:
        assert p.spec and str(p) == f"{p.path}: {p.message}"
    return [(p.path, p.rule) for p in result.problems]


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        # Redirect URIs (RFC 6749 §3.1.2, RFC 8252 §7, RFC 9700 §2.6): every bad one, by index.
        (
            {**CONFIDENTIAL, "redirect_uris": ["https://ok.example/cb", "http://app.example/cb"]},
            [("redirect_uris[1]", "check_redirect_uris")],
        ),
        (
            {**CONFIDENTIAL, "redirect_uris": ["https://a.example/cb#x", "/relative"]},
            [
                ("redirect_uris[0]", "check_redirect_uris"),
                ("redirect_uris[1]", "check_redirect_uris"),
            ],
        ),
        ({**PUBLIC, "redirect_uris": ["myapp:/cb"]}, [("redirect_uris[0]", "check_redirect_uris")]),
        (
            {**PUBLIC, "redirect_uris": ["javascript:alert(1)"]},
            [("redirect_uris[0]", "check_redirect_uris")],
        ),
        (
            {**CONFIDENTIAL, "post_logout_redirect_uris": ["http://evil.example/"]},
            [("post_logout_redirect_uris[0]", "check_post_logout_redirect_uris")],
        ),
        (
            {**CONFIDENTIAL, "redirect_uris": []},
            [("redirect_uris", "check_redirect_uri_registered")],
        ),
        ({**CONFIDENTIAL, "redirect_uris": [], "grant_types": ["client_credentials"]}, []),
        # Grant and response types (RFC 7591 §2, §2.1).
        (
            {**CONFIDENTIAL, "grant_types": ["teleport"]},
            [("grant_types", "check_grant_types_known")],
        ),
        (
            {**CONFIDENTIAL, "response_types": ["code", "id_token"]},
            [("response_types", "check_response_types_known")],
        ),
        (
            {**CONFIDENTIAL, "response_types": ["token"]},
            [
                ("response_types", "check_grant_and_response_types_agree"),
                ("response_types", "check_grant_and_response_types_agree"),
            ],
        ),
        ({**CONFIDENTIAL, "grant_types": ["authorization_code", "implicit"]}, []),
        # Client types (RFC 6749 §2.1, §4.3, §4.4; RFC 9700 §2.4).
        (
            {**PUBLIC, "grant_types": ["client_credentials"]},
            [("grant_types", "check_client_credentials_confidential")],
        ),
        (
            {**PUBLIC, "grant_types": ["authorization_code", "password"]},
            [("grant_types", "check_password_confidential")],
        ),
        (
            {**CONFIDENTIAL, "token_endpoint_auth_method": "tls_client_auth"},
            [("token_endpoint_auth_method", "check_auth_method")],
        ),
        ({**KEYED, "jwks": None}, [("jwks", "check_client_keys")]),
        ({**KEYED, "jwks_uri": "https://svc.example/jwks"}, [("jwks", "check_client_keys")]),
        (
            {**CONFIDENTIAL, "jwks_uri": "https://a.example/j", "jwks": {"keys": [EC_KEY]}},
            [("jwks", "check_client_keys")],
        ),
        ({**CONFIDENTIAL, "jwks_uri": "https://a.example/j"}, []),  # kept for other uses
        (
            {**KEYED, "jwks": {"keys": [{**EC_KEY, "d": "x"}]}},
            [("jwks.keys[0]", "check_jwks_public")],
        ),
        (
            {**KEYED, "jwks": {"keys": [{"kty": "oct", "k": "x"}]}},
            [("jwks.keys[0]", "check_jwks_public")],
        ),
        ({**KEYED, "jwks": {"keys": []}}, [("jwks", "check_jwks_public")]),
        ({**KEYED, "jwks": ["x"]}, [("jwks", "check_field_types"), ("jwks", "check_client_keys")]),
        (
            {**KEYED, "jwks": None, "jwks_uri": "http://svc.example/jwks"},
            [("jwks_uri", "check_jwks_uri")],
        ),
        ({**KEYED, "jwks": None, "jwks_uri": "http://127.0.0.1:8000/jwks"}, []),
        (
            {**KEYED, "token_endpoint_auth_signing_alg": "HS256"},
            [("token_endpoint_auth_signing_alg", "check_signing_alg")],
        ),
        (
            {**KEYED, "token_endpoint_auth_signing_alg": "none"},
            [("token_endpoint_auth_signing_alg", "check_signing_alg")],
        ),
        ({**KEYED, "token_endpoint_auth_signing_alg": "ES256"}, []),
        (
            {
                **CONFIDENTIAL,
                "token_endpoint_auth_method": "client_secret_jwt",
                "token_endpoint_auth_signing_alg": "RS256",
            },
            [("token_endpoint_auth_signing_alg", "check_signing_alg")],
        ),
        (
            {
                **CONFIDENTIAL,
                "token_endpoint_auth_method": "client_secret_jwt",
                "token_endpoint_auth_signing_alg": "HS512",
            },
            [],
        ),
        # PKCE (RFC 9700 §2.1.1, RFC 7636 §4.2-§4.3).
        ({**PUBLIC, "require_pkce": False}, [("require_pkce", "check_public_client_pkce")]),
        ({**CONFIDENTIAL, "require_pkce": False}, []),
        (
            {**CONFIDENTIAL, "pkce_methods": ["S256", "S512"]},
            [("pkce_methods", "check_pkce_methods")],
        ),
        ({**CONFIDENTIAL, "pkce_methods": []}, [("pkce_methods", "check_pkce_methods")]),
        # Scope syntax (RFC 6749 §3.3).
        ({**CONFIDENTIAL, "scope": 'read "quoted"'}, [("scope", "check_scope")]),
        # DPoP (RFC 9449 §5.2): tokens from the authorization endpoint carry no proof.
        (
            {**PUBLIC, "grant_types": ["implicit"], "dpop_bound_access_tokens": True},
            [("dpop_bound_access_tokens", "check_dpop_bound_grants")],
        ),
        ({**PUBLIC, "dpop_bound_access_tokens": True}, []),
        (
            {**PUBLIC, "dpop_bound_access_tokens": "yes"},
            [("dpop_bound_access_tokens", "check_field_types")],
        ),
        # Types (RFC 7591 §2): each wrong type is named, and reads as absent for the other rules.
        (
            {**CONFIDENTIAL, "redirect_uris": "https://app.example/cb"},
            [
                ("redirect_uris", "check_field_types"),
                ("redirect_uris", "check_redirect_uri_registered"),
            ],
        ),
        (
            {**CONFIDENTIAL, "grant_types": ["authorization_code", 7]},
            [("grant_types", "check_field_types")],
        ),
        ({**PUBLIC, "require_pkce": "no"}, [("require_pkce", "check_field_types")]),
        ({**CONFIDENTIAL, "scope": 42}, [("scope", "check_field_types")]),
        ({**CONFIDENTIAL, "client_name": ["x"]}, [("client_name", "check_field_types")]),
    ],
)
def test_metadata_rules(metadata: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert found(metadata) == expected


def test_every_rule_in_the_table_is_exercised_above() -> None:
    from pathlib import Path

    source = Path(__file__).read_text(encoding="utf-8")
    for rule in METADATA_RULES:
        assert f'"{rule.name}"' in source, rule.name


def test_the_attack_demo_alone_may_register_a_public_client_without_pkce() -> None:
    assert found({**PUBLIC, "require_pkce": False}, insecure_demo=True) == []


def test_every_problem_is_reported_at_once() -> None:
    metadata = {
        "redirect_uris": ["http://app.example/cb"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "client_credentials"],
        "require_pkce": False,
        "scope": "a\\b",
    }
    assert [rule for _, rule in found(metadata)] == [
        "check_redirect_uris",
        "check_client_credentials_confidential",
        "check_public_client_pkce",
        "check_scope",
    ]


def test_accepted_metadata_is_typed_with_defaults() -> None:
    result = check_client_metadata(
        {**PUBLIC, "scope": ["openid", "read:files", "openid"], "client_name": "App"}
    )
    assert result.problems == ()
    assert result.value == ClientMetadata(
        redirect_uris=("http://127.0.0.1/callback", "com.example.app:/callback"),
        post_logout_redirect_uris=(),
        grant_types=("authorization_code",),  # RFC 7591 §2 default
        response_types=("code",),  # implied by the grant types
        token_endpoint_auth_method="none",
        client_name="App",
        scope=("openid", "read:files"),
        require_pkce=True,
        pkce_methods=("S256",),
    )


def test_metadata_a_server_does_not_understand_is_ignored() -> None:
    """RFC 7591 §2: unknown metadata is ignored here; the config file refuses it itself."""
    assert found({**CONFIDENTIAL, "logo_uri": "https://app.example/logo.png"}) == []
    assert "logo_uri" not in FIELDS
