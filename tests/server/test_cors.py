"""CORS on the endpoints browser apps call (core.cors), on both HTTP paths: the metadata and keys
for any origin, the token, revocation and userinfo endpoints for the origins of registered clients
(their redirect URIs, plus ``allowed_origins``), never the authorization endpoint or the pages."""

from __future__ import annotations

import pytest

from tests.conftest import SVC_SECRET, InProcess, make_in_process
from valetkey.core.errors import StorageUnavailable

SPA = "http://127.0.0.1:5173"  # the cli client's loopback redirect URI, on a port of its own
WEB = "https://web.example"
EVIL = "https://evil.example"


def preflight(server: InProcess, path: str, origin: str | None, method: str = "POST") -> object:
    headers = {"Access-Control-Request-Method": method, "Access-Control-Request-Headers": "dpop"}
    if origin is not None:
        headers["Origin"] = origin
    return server.http.options(path, headers=headers)


@pytest.mark.parametrize("path", ["/token", "/revoke", "/userinfo"])
@pytest.mark.parametrize("origin", [SPA, WEB])
def test_a_registered_origin_passes_the_preflight(
    server: InProcess, path: str, origin: str
) -> None:
    r = server.http.options(
        path, headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert r.status_code == 204, r.text
    assert r.headers["access-control-allow-origin"] == origin
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "DPoP" in r.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in r.headers
    assert r.headers["vary"] == "Origin"


def test_an_unknown_origin_is_refused_at_the_preflight_and_says_why(server: InProcess) -> None:
    r = server.http.options(
        "/token", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
    )
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers
    assert r.json()["error"] == "invalid_request"
    assert "evil.example" in r.json()["error_description"]
    [event] = server.sink.named("cors.refused")
    assert event.checks[0].outcome == "fail" and "Fetch" in event.checks[0].spec


def test_a_preflight_for_a_method_the_endpoint_does_not_take_is_refused(server: InProcess) -> None:
    r = server.http.options(
        "/token", headers={"Origin": WEB, "Access-Control-Request-Method": "PUT"}
    )
    assert r.status_code == 403 and "accepts POST" in r.json()["error_description"]


def test_the_token_answer_is_readable_by_a_registered_origin_errors_included(
    server: InProcess,
) -> None:
    data = {"grant_type": "authorization_code", "code": "nope", "client_id": "cli"}
    r = server.http.post("/token", data=data, headers={"Origin": SPA})
    assert r.status_code == 400
    assert r.headers["access-control-allow-origin"] == SPA
    assert "WWW-Authenticate" in r.headers["access-control-expose-headers"]


def test_an_unknown_origin_cannot_read_the_token_answer(server: InProcess) -> None:
    data = {"grant_type": "client_credentials"}
    r = server.http.post("/token", data=data, auth=("svc", SVC_SECRET), headers={"Origin": EVIL})
    assert "access-control-allow-origin" not in r.headers
    assert r.headers["vary"] == "Origin"
    assert server.sink.named("cors.refused")


def test_a_server_side_client_sends_no_origin_and_gets_no_cors_headers(server: InProcess) -> None:
    r = server.http.post(
        "/token", data={"grant_type": "client_credentials"}, auth=("svc", SVC_SECRET)
    )
    assert r.status_code == 200
    assert not [h for h in r.headers if h.startswith("access-control-")]


@pytest.mark.parametrize(
    "path",
    ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration", "/jwks.json"],
)
def test_metadata_and_keys_are_readable_from_any_origin(server: InProcess, path: str) -> None:
    r = server.http.get(path, headers={"Origin": EVIL})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    pre = server.http.options(
        path, headers={"Origin": EVIL, "Access-Control-Request-Method": "GET"}
    )
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("path", ["/authorize", "/login", "/consent", "/introspect", "/logout"])
def test_pages_and_server_only_endpoints_take_no_part_in_cors(server: InProcess, path: str) -> None:
    pre = server.http.options(
        path, headers={"Origin": WEB, "Access-Control-Request-Method": "POST"}
    )
    assert pre.status_code == 405
    assert "access-control-allow-origin" not in pre.headers
    r = server.http.post(path, data={}, headers={"Origin": WEB})
    assert "access-control-allow-origin" not in r.headers


def test_allowed_origins_adds_origins_beyond_the_redirect_uris(http_path: str) -> None:
    env = make_in_process(http_path=http_path, allowed_origins=["https://console.example"])
    with env.http:
        r = env.http.options(
            "/revoke",
            headers={"Origin": "https://console.example", "Access-Control-Request-Method": "POST"},
        )
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == "https://console.example"
    env.store.close()


def test_an_outage_answer_is_readable_by_the_browser_app(server: InProcess) -> None:
    class Down:
        def __getattr__(self, name: str) -> object:
            def fail(*args: object, **kwargs: object) -> object:
                raise StorageUnavailable("connection refused")

            return fail

    real = server.state.store
    server.http.post("/revoke", data={"token": "x", "client_id": "cli"}, headers={"Origin": WEB})
    server.state.clock.advance(60)  # past the client and origin caches: both must be read again
    server.state.store = Down()  # type: ignore[assignment]
    try:
        r = server.http.post(
            "/revoke", data={"token": "x", "client_id": "cli"}, headers={"Origin": WEB}
        )
    finally:
        server.state.store = real
    assert r.status_code == 503
    assert r.headers["access-control-allow-origin"] == WEB  # the origins last read still hold
    assert r.json()["error"] == "temporarily_unavailable"
