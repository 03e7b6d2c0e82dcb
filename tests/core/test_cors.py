"""CORS rules (core.cors): which origins may read which answers, and what the headers say."""

from __future__ import annotations

import pytest

from valetkey.core import cors

POLICY = cors.OriginPolicy.build(
    [
        "https://app.example/callback",
        "https://other.example:8443/cb",
        "http://127.0.0.1/callback",
        "com.example.app:/callback",
    ],
    ["https://extra.example"],
)


@pytest.mark.parametrize(
    ("uri", "origin"),
    [
        ("https://App.Example/cb?x=1", "https://app.example"),
        ("https://app.example:443/cb", "https://app.example"),
        ("http://127.0.0.1:5173/cb", "http://127.0.0.1:5173"),
        ("http://[::1]:8080/cb", "http://[::1]:8080"),
        ("com.example.app:/callback", None),
        ("https://app.example:99999/cb", None),
        ("https:///nohost", None),
    ],
)
def test_the_origin_of_a_uri(uri: str, origin: str | None) -> None:
    assert cors.origin_of(uri) == origin


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://app.example", True),
        ("https://other.example:8443", True),
        ("https://extra.example", True),
        ("http://127.0.0.1:5173", True),  # a loopback IP redirect URI matches any port
        ("http://127.0.0.1", True),
        ("https://other.example", False),  # the port is part of the origin
        ("http://app.example", False),  # and so is the scheme
        ("https://evil.example", False),
        ("https://app.example.evil.example", False),
        ("http://localhost:5173", False),
        ("null", False),  # a sandboxed or file: page
        ("http://127.0.0.1:5173/path", False),  # not an origin as browsers send it
    ],
)
def test_which_origins_a_policy_allows(origin: str, allowed: bool) -> None:
    assert POLICY.allows(origin) is allowed


def test_public_answers_are_readable_from_any_origin_without_credentials() -> None:
    headers = dict(cors.answer_headers("public", "https://anyone.example", POLICY).headers)
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in headers


def test_a_client_origin_is_echoed_and_the_answer_varies_by_origin() -> None:
    decision = cors.answer_headers("clients", "https://app.example", POLICY)
    headers = dict(decision.headers)
    assert decision.refused is None
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert headers["Vary"] == "Origin"
    assert "WWW-Authenticate" in headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in headers


def test_an_unknown_origin_gets_no_allow_origin_and_a_reason() -> None:
    decision = cors.answer_headers("clients", "https://evil.example", POLICY)
    assert "Access-Control-Allow-Origin" not in dict(decision.headers)
    assert decision.refused and "https://evil.example" in decision.refused
    assert "allowed_origins" in decision.refused


def test_no_origin_no_headers() -> None:
    assert cors.answer_headers("clients", None, POLICY) == cors.Decision(())


def test_a_preflight_names_the_methods_and_headers_a_browser_app_needs() -> None:
    decision = cors.preflight_headers("clients", "https://app.example", "POST", ("POST",), POLICY)
    headers = dict(decision.headers)
    assert decision.refused is None
    assert headers["Access-Control-Allow-Methods"] == "POST"
    assert {"Authorization", "Content-Type", "DPoP"} <= {
        h.strip() for h in headers["Access-Control-Allow-Headers"].split(",")
    }
    assert int(headers["Access-Control-Max-Age"]) > 0


@pytest.mark.parametrize(
    ("origin", "method", "why"),
    [
        ("https://evil.example", "POST", "not allowed"),
        ("https://app.example", "DELETE", "accepts POST"),
        (None, "POST", "Origin"),
        ("https://app.example", None, "Access-Control-Request-Method"),
    ],
)
def test_a_preflight_is_refused_with_a_reason(
    origin: str | None, method: str | None, why: str
) -> None:
    decision = cors.preflight_headers("clients", origin, method, ("POST",), POLICY)
    assert decision.refused and why in decision.refused


@pytest.mark.parametrize("value", ["https://a.example", "http://127.0.0.1:5173", "http://[::1]:8080"])
def test_valid_origins_for_the_setting(value: str) -> None:
    assert cors.origin_problem(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "https://a.example/",
        "https://A.example",
        "a.example",
        "https://a.example:443",  # a browser leaves the default port out
        "http://[::1]:80",
        "*",
    ],
)
def test_what_is_not_an_origin(value: str) -> None:
    assert cors.origin_problem(value) is not None
