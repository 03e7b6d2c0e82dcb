"""From a 401 to an authorization server (RFC 9728, then RFC 8414), sans-I/O against fake servers:
the §3.3 resource check and every refusal, the scope to ask for, and the token's name."""

from __future__ import annotations

import json

import httpx
import pytest

from valetkey.client import DiscoveryError, run
from valetkey.client.resource_discovery import (
    ResourceMismatch,
    discover_resource,
    fetch_resource_metadata,
    requested_scope,
    resource_metadata_url,
    resource_problem,
    token_name_for,
)
from valetkey.client.tokenstore import check_name

API = "https://api.example.test/mcp"
PRM_URL = "https://api.example.test/.well-known/oauth-protected-resource/mcp"
ISSUER = "https://as.example.test"


def prm(**fields: object) -> dict[str, object]:
    return {"resource": API, "authorization_servers": [ISSUER], **fields}


def fake(routes: dict[str, tuple[int, object]]) -> httpx.Client:
    """Servers that answer each URL with a fixed status and JSON body; others 404."""

    def handle(request: httpx.Request) -> httpx.Response:
        status, body = routes.get(str(request.url), (404, {"error": "not found"}))
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(status, content=content, headers={"Content-Type": "application/json"})

    return httpx.Client(transport=httpx.MockTransport(handle))


def as_metadata(issuer: str = ISSUER) -> dict[str, object]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "registration_endpoint": f"{ISSUER}/register",
    }


def unauthorized(challenge: str) -> httpx.Response:
    return httpx.Response(401, headers={"WWW-Authenticate": challenge})


CHALLENGE = f'Bearer realm="api", resource_metadata="{PRM_URL}"'


@pytest.mark.parametrize(
    ("resource", "url"),
    [
        (API, API),
        ("https://api.example.test", API),  # the origin names every path of it
        ("https://api.example.test/", API),
        ("https://API.example.test:443/mcp/", "https://api.example.test/mcp/tools?x=1"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001/api/profile"),
    ],
)
def test_a_resource_is_the_url_or_an_ancestor_of_it(resource: str, url: str) -> None:
    assert resource_problem(resource, url) is None


@pytest.mark.parametrize(
    ("resource", "url", "words"),
    [
        ("https://evil.example.test/mcp", API, "RFC 9728 §3.3"),
        ("https://api.example.test:8443/mcp", API, "RFC 9728 §3.3"),
        ("http://api.example.test/mcp", "http://api.example.test/mcp", "not an https"),
        ("https://api.example.test/mcp", "http://api.example.test/mcp", "RFC 9728 §3.3"),
        ("https://api.example.test/mc", API, "RFC 9728 §3.3"),  # a sibling, not an ancestor
        ("https://api.example.test/mcp/v2", API, "RFC 9728 §3.3"),  # below the URL
        ("https://api.example.test/mcp#x", API, "query or fragment"),
        ("https://api.example.test/mcp?t=1", API, "query or fragment"),
        (None, API, "no resource identifier"),
        (["https://api.example.test"], API, "no resource identifier"),
    ],
)
def test_another_resource_is_refused(resource: object, url: str, words: str) -> None:
    problem = resource_problem(resource, url)
    assert problem is not None and words in problem


def test_the_challenge_names_the_metadata() -> None:
    assert resource_metadata_url(unauthorized(CHALLENGE)) == PRM_URL
    both = httpx.Response(
        401,
        headers=[
            ("WWW-Authenticate", 'DPoP algs="ES256"'),
            ("WWW-Authenticate", f'Bearer error="invalid_token", resource_metadata="{PRM_URL}"'),
        ],
    )
    assert resource_metadata_url(both) == PRM_URL
    assert resource_metadata_url(unauthorized('Bearer realm="api"')) is None
    assert resource_metadata_url(httpx.Response(401)) is None


def test_discovery_from_a_401_to_the_servers_endpoints() -> None:
    routes: dict[str, tuple[int, object]] = {
        PRM_URL: (200, prm(scopes_supported=["files:read", "files:write"])),
        f"{ISSUER}/.well-known/oauth-authorization-server": (200, as_metadata()),
    }
    with fake(routes) as http:
        found = run(discover_resource(API, unauthorized(CHALLENGE)), http)
    assert found.resource.resource == API and found.resource.metadata_url == PRM_URL
    assert found.endpoints.issuer == ISSUER
    assert found.endpoints.token_endpoint == f"{ISSUER}/token"
    assert found.endpoints.metadata["registration_endpoint"] == f"{ISSUER}/register"
    assert found.scope == "files:read files:write"


def test_metadata_for_another_resource_is_not_used() -> None:
    routes: dict[str, tuple[int, object]] = {
        PRM_URL: (200, prm(resource="https://api.example.test/other"))
    }
    with fake(routes) as http, pytest.raises(ResourceMismatch, match=r"RFC 9728 §3\.3") as caught:
        run(discover_resource(API, unauthorized(CHALLENGE)), http)
    [check] = caught.value.checks
    assert (check.rule, check.outcome, check.spec) == ("check_resource", "fail", "RFC 9728 §3.3")


@pytest.mark.parametrize(
    ("routes", "challenge", "words"),
    [
        ({}, CHALLENGE, "answered 404"),
        ({PRM_URL: (200, b"<html>")}, CHALLENGE, "without a JSON object"),
        (
            {PRM_URL: (200, prm(authorization_servers=[]))},
            CHALLENGE,
            "names no authorization_servers",
        ),
        (
            {PRM_URL: (200, prm(authorization_servers="https://as"))},
            CHALLENGE,
            "names no authorization_servers",
        ),
        ({}, 'Bearer realm="api"', "without resource_metadata"),
        ({}, 'Bearer resource_metadata="http://api.example.test/.well-known/x"', "must be https"),
        (
            {PRM_URL: (200, prm(authorization_servers=["http://as.example.test"]))},
            CHALLENGE,
            "is not https",
        ),
        (
            {
                PRM_URL: (200, prm()),
                f"{ISSUER}/.well-known/oauth-authorization-server": (
                    200,
                    as_metadata("https://other.example.test"),
                ),
            },
            CHALLENGE,
            r"RFC 8414 §3\.3",
        ),
    ],
)
def test_discovery_refusals(
    routes: dict[str, tuple[int, object]], challenge: str, words: str
) -> None:
    with fake(routes) as http, pytest.raises(DiscoveryError, match=words):
        run(discover_resource(API, unauthorized(challenge)), http)


def test_a_preferred_server_must_be_one_the_resource_names() -> None:
    second = "https://as2.example.test"
    routes: dict[str, tuple[int, object]] = {
        PRM_URL: (200, prm(authorization_servers=[ISSUER, second])),
        f"{second}/.well-known/oauth-authorization-server": (
            200,
            {**as_metadata(), "issuer": second},
        ),
    }
    with fake(routes) as http:
        found = run(discover_resource(API, unauthorized(CHALLENGE), issuer=second), http)
        assert found.endpoints.issuer == second
        with pytest.raises(DiscoveryError, match="does not name"):
            run(discover_resource(API, unauthorized(CHALLENGE), issuer="https://x.test"), http)


def test_the_scope_to_ask_for() -> None:
    with fake({PRM_URL: (200, prm(scopes_supported=["a", "b"]))}) as http:
        found = run(fetch_resource_metadata(PRM_URL, API), http)
    step_up = unauthorized(
        f'Bearer error="insufficient_scope", scope="b c", resource_metadata="{PRM_URL}"'
    )
    assert requested_scope(step_up, found) == "b c"  # the challenge's own scope wins
    assert requested_scope(unauthorized(CHALLENGE), found) == "a b"
    with fake({PRM_URL: (200, prm())}) as http:
        bare = run(fetch_resource_metadata(PRM_URL, API), http)
    assert requested_scope(unauthorized(CHALLENGE), bare) is None


@pytest.mark.parametrize(
    ("resource", "name"),
    [
        ("https://api.example.test", "api.example.test"),
        ("https://api.example.test/", "api.example.test"),
        ("http://127.0.0.1:8001", "127.0.0.1_8001"),
        ("https://api.example.test/tenant/mcp/", "api.example.test-tenant-mcp"),
        ("http://[::1]:9000/x", "1_9000-x"),
    ],
)
def test_token_names_derive_from_the_resource(resource: str, name: str) -> None:
    assert token_name_for(resource) == name
    assert check_name(name) == name


def test_a_long_resource_gets_a_short_distinct_name() -> None:
    long_a = "https://api.example.test/" + "a" * 80
    long_b = long_a + "b"
    a, b = token_name_for(long_a), token_name_for(long_b)
    assert a != b and len(a) <= 64 and check_name(a) == a and check_name(b) == b
