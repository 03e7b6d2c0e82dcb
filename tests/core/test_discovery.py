"""core.discovery: the well-known URLs (RFC 8414 §3.1, OIDC Discovery §4.1) and the issuer check
(RFC 8414 §3.3, OIDC Discovery §4.3), used by the client library and the resource server."""

from __future__ import annotations

import pytest

from valetkey.core.discovery import (
    issuer_problem,
    metadata_urls,
    oauth_metadata_url,
    openid_configuration_url,
    same_issuer,
)


@pytest.mark.parametrize(
    ("issuer", "oauth", "oidc"),
    [
        (
            "https://as.example",
            "https://as.example/.well-known/oauth-authorization-server",
            "https://as.example/.well-known/openid-configuration",
        ),
        (  # RFC 8414 §3.1's own example: inserted between host and path
            "https://example.com/issuer1",
            "https://example.com/.well-known/oauth-authorization-server/issuer1",
            "https://example.com/issuer1/.well-known/openid-configuration",
        ),
        (  # the terminating "/" is removed before inserting or appending
            "https://example.com/tenant/a/",
            "https://example.com/.well-known/oauth-authorization-server/tenant/a",
            "https://example.com/tenant/a/.well-known/openid-configuration",
        ),
        (
            "http://127.0.0.1:9000/",
            "http://127.0.0.1:9000/.well-known/oauth-authorization-server",
            "http://127.0.0.1:9000/.well-known/openid-configuration",
        ),
    ],
)
def test_well_known_urls(issuer: str, oauth: str, oidc: str) -> None:
    assert oauth_metadata_url(issuer) == oauth
    assert openid_configuration_url(issuer) == oidc
    assert metadata_urls(issuer) == (oauth, oidc)
    assert issuer_problem(issuer) is None


@pytest.mark.parametrize(
    "issuer", ["ftp://as.example", "https://as.example/?tenant=a", "https://as.example#x", "as"]
)
def test_what_cannot_be_an_issuer(issuer: str) -> None:
    assert "RFC 8414 §2" in (issuer_problem(issuer) or "")


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"issuer": "https://as.example"}, True),
        ({"issuer": "https://as.example/"}, False),  # identical, not normalised
        ({"issuer": "https://AS.example"}, False),
        ({"issuer": "https://evil.example"}, False),
        ({}, False),
        ({"issuer": ["https://as.example"]}, False),
    ],
)
def test_same_issuer(metadata: dict[str, object], expected: bool) -> None:
    assert same_issuer(metadata, "https://as.example") is expected
