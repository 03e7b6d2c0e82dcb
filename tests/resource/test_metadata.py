"""RFC 9728 on BearerAuth: the document at its well-known path (path-suffix form included), without
a token, GET/HEAD only, cacheable; and ``resource_metadata`` in every challenge (§5.1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.asgi import SyncASGITransport
from valetkey.core.challenge import parse_challenges
from valetkey.core.checks import Rejected
from valetkey.core.errors import InvalidToken
from valetkey.core.events import RecordingSink
from valetkey.resource import AccessToken, BearerAuth, ResourceMetadata, requires_scopes

ISSUER = "https://as.example.test"


class FakeValidator:
    """Accepts the token ``good`` (scope read:files); refuses every other one as invalid_token."""

    issuer = ISSUER

    def __init__(self) -> None:
        self.sink = RecordingSink()

    async def validate(self, token: str, flow_id: str) -> AccessToken:
        if token != "good":
            raise Rejected(InvalidToken("the access token is not valid", rule="signature"), ())
        return AccessToken("alice", "cli", ("read:files",), ("r",), ISSUER, None, {}, "jwt")

    async def aclose(self) -> None:
        return None


@requires_scopes("write:files")
async def write(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def read(request: Request) -> JSONResponse:
    return JSONResponse({"sub": request.state.access_token.sub})


def client_for(metadata: ResourceMetadata, **guard: Any) -> tuple[httpx.Client, FakeValidator]:
    validator = FakeValidator()
    app = Starlette(
        routes=[Route("/mcp", read), Route("/write", write)],
        middleware=[
            Middleware(BearerAuth, validator=validator, resource_metadata=metadata, **guard)
        ],
    )
    return httpx.Client(transport=SyncASGITransport(app), base_url="http://rs.test"), validator


@pytest.fixture
def root() -> Iterator[httpx.Client]:
    meta = ResourceMetadata(
        "https://api.example.test",
        scopes_supported=["read:files", "write:files"],
        resource_name="Files",
    )
    http, _ = client_for(meta, realm="files")
    with http:
        yield http


def challenge(response: httpx.Response) -> dict[str, str]:
    [(scheme, params)] = parse_challenges(response.headers.get_list("www-authenticate"))
    assert scheme == "bearer"
    return params


def test_the_document_is_served_without_a_token(root: httpx.Client) -> None:
    r = root.get("/.well-known/oauth-protected-resource")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {
        "resource": "https://api.example.test",
        "authorization_servers": [ISSUER],  # the validator's issuer, none being given
        "scopes_supported": ["read:files", "write:files"],
        "bearer_methods_supported": ["header"],
        "resource_name": "Files",
    }
    assert r.headers["cache-control"] == "public, max-age=3600" and r.headers["etag"]
    assert r.headers["access-control-allow-origin"] == "*"
    # A token sent along, even a bad one, is not looked at: the document is public.
    bad = root.get("/.well-known/oauth-protected-resource", headers={"Authorization": "Bearer x"})
    assert bad.status_code == 200 and bad.json() == r.json()


def test_head_conditional_get_and_other_methods(root: httpx.Client) -> None:
    path = "/.well-known/oauth-protected-resource"
    got = root.get(path)
    head = root.head(path)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == got.headers["etag"]
    assert head.headers["content-length"] == str(len(got.content))
    again = root.get(path, headers={"If-None-Match": got.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert (
        again.headers["etag"] == got.headers["etag"] and "max-age" in again.headers["cache-control"]
    )
    assert root.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        r = root.request(method, path)
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD", method
        assert r.json()["error"] == "invalid_request" and "GET" in r.json()["error_description"]


def test_every_challenge_names_the_metadata(root: httpx.Client) -> None:
    url = "https://api.example.test/.well-known/oauth-protected-resource"
    missing = root.get("/mcp")
    assert missing.status_code == 401
    assert challenge(missing) == {"realm": "files", "resource_metadata": url}
    bad = root.get("/mcp", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and challenge(bad)["error"] == "invalid_token"
    assert challenge(bad)["resource_metadata"] == url
    malformed = root.get("/mcp", headers={"Authorization": "Bearer a b"})
    assert malformed.status_code == 400 and challenge(malformed)["resource_metadata"] == url
    lacking = root.get("/write", headers={"Authorization": "Bearer good"})
    assert lacking.status_code == 403 and challenge(lacking)["error"] == "insufficient_scope"
    assert challenge(lacking)["resource_metadata"] == url
    assert root.get("/mcp", headers={"Authorization": "Bearer good"}).json() == {"sub": "alice"}


def test_a_resource_with_a_path_has_the_path_suffix_form() -> None:
    meta = ResourceMetadata("https://api.example.test/tenant/mcp/", authorization_servers=[ISSUER])
    assert meta.url == "https://api.example.test/.well-known/oauth-protected-resource/tenant/mcp"
    http, _ = client_for(meta)
    with http:
        r = http.get("/.well-known/oauth-protected-resource/tenant/mcp")
        assert r.status_code == 200 and r.json()["resource"] == meta.resource
        # The root form would describe another identifier (§3.3): not this document.
        assert http.get("/.well-known/oauth-protected-resource").status_code == 401
        assert challenge(http.get("/mcp"))["resource_metadata"] == meta.url


def test_serving_and_refusing_are_events() -> None:
    meta = ResourceMetadata("https://api.example.test")
    http, validator = client_for(meta)
    with http:
        http.get("/.well-known/oauth-protected-resource")
        http.post("/.well-known/oauth-protected-resource")
    served, refused = validator.sink.events
    assert served.name == "resource_metadata.served"
    assert served.data["resource"] == "https://api.example.test"
    assert refused.name == "resource_request.rejected" and refused.error == "invalid_request"
    assert [(c.rule, c.spec) for c in refused.checks] == [("metadata_method", "RFC 9728 §3.1")]


def test_without_metadata_nothing_changes() -> None:
    validator = FakeValidator()
    app = Starlette(
        routes=[Route("/mcp", read)], middleware=[Middleware(BearerAuth, validator=validator)]
    )
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://rs.test") as http:
        assert http.get("/.well-known/oauth-protected-resource").status_code == 401
        assert http.get("/mcp").headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"resource": "api.example.test"}, "absolute https URL"),
        ({"resource": "http://api.example.test"}, "only for loopback"),
        ({"resource": "https://api.example.test/#x"}, "fragment"),
        ({"resource": "https://api.example.test/?t=1"}, "query"),
        ({"authorization_servers": ["https://as.test/?x=1"]}, "authorization_servers"),
        ({"scopes_supported": ["a b"]}, "one non-empty word"),
        ({"jwks_uri": "file:///keys"}, "jwks_uri"),
        ({"extra": {"resource": "https://other.test"}}, "extra may not set"),
    ],
)
def test_bad_metadata_is_refused_at_construction(fields: dict[str, Any], words: str) -> None:
    values: dict[str, Any] = {"resource": "https://api.example.test", **fields}
    with pytest.raises(ValueError, match=words):
        ResourceMetadata(**values)


def test_loopback_http_and_extra_parameters_are_allowed() -> None:
    meta = ResourceMetadata(
        "http://127.0.0.1:8001",
        authorization_servers=["http://127.0.0.1:8000"],
        extra={"resource_signing_alg_values_supported": ["ES256"]},
    )
    assert meta.url == "http://127.0.0.1:8001/.well-known/oauth-protected-resource"
    assert meta.document()["resource_signing_alg_values_supported"] == ["ES256"]
