"""/userinfo and the resource server answer a bearer request alike: both call core.bearer.

The same bad request gets the same status, challenge and body from the authorization server's
/userinfo and from a resource server protected by BearerAuth (both in process here, the resource
server validating against the authorization server's own metadata and keys).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import ISSUER, SVC_SECRET, InProcess, make_in_process
from tests.support.asgi import SyncASGITransport
from valetkey.asgi import create_app
from valetkey.core.challenge import parse_challenges
from valetkey.core.dpop import DPoPPolicy
from valetkey.core.text import is_safe
from valetkey.resource import BearerAuth, JWTValidator, requires_scopes

AUDIENCE = "https://api.valetkey.test"
# Both accept DPoP (RFC 9449 §7.1): every challenge names both schemes.
DPOP = 'DPoP realm="userinfo", algs="ES256 PS256 Ed25519 EdDSA"'


@requires_scopes("openid")
async def me(request: Request) -> JSONResponse:
    return JSONResponse({"sub": request.state.access_token.sub})


@dataclass
class Both:
    server: InProcess
    api: httpx.Client

    def ask(self, headers: list[tuple[str, str | bytes]], query: str = "") -> list[httpx.Response]:
        """The same request to /userinfo and to the resource server."""
        return [
            self.server.http.get(f"/userinfo{query}", headers=headers),  # type: ignore[arg-type]
            self.api.get(f"/me{query}", headers=headers),  # type: ignore[arg-type]
        ]


@pytest.fixture
def both() -> Iterator[Both]:
    server = make_in_process()
    as_http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(server.state)), base_url=ISSUER
    )
    validator = JWTValidator(ISSUER, AUDIENCE, http=as_http, clock=server.clock)
    app = Starlette(
        routes=[Route("/me", me)],
        middleware=[
            Middleware(BearerAuth, validator=validator, realm="userinfo", dpop=DPoPPolicy())
        ],
    )
    api = httpx.Client(transport=SyncASGITransport(app), base_url="http://rs.test")
    with server.http, api:
        yield Both(server, api)
    server.store.close()


def answer(r: httpx.Response) -> tuple[int, str | None, object]:
    assert r.headers["content-type"] == "application/json"
    assert "no-store" in r.headers["cache-control"]
    body = r.json()
    assert is_safe(body["error_description"]), body
    return r.status_code, r.headers.get("www-authenticate"), body


NO_CREDENTIALS: list[tuple[str, list[tuple[str, str | bytes]], str]] = [
    ("nothing", [], ""),
    ("another scheme", [("Authorization", "Basic YTpi")], ""),
    ("scheme glued to the token", [("Authorization", "Bearerabc")], ""),
    ("a scheme that is not text", [("Authorization", b'B\xe9ar"er abc')], ""),
]
MALFORMED: list[tuple[str, list[tuple[str, str | bytes]], str]] = [
    ("two headers", [("Authorization", "Bearer a"), ("Authorization", "Bearer b")], ""),
    ("token in the query", [], "?access_token=abc"),
    ("query and header", [("Authorization", "Bearer abc")], "?access_token=abc"),
    ("empty", [("Authorization", "Bearer")], ""),
    ("not token68", [("Authorization", "Bearer a b")], ""),
    ("a quote", [("Authorization", 'Bearer a"b')], ""),
    ("UTF-8 bytes", [("Authorization", "Bearer \u00e9t\u00e9".encode())], ""),
    ("Latin-1 bytes", [("Authorization", b"Bearer \xff\xfe")], ""),
    ("too long", [("Authorization", "Bearer " + "a" * 9000)], ""),
]


@pytest.mark.parametrize(
    ("case", "headers", "query"), NO_CREDENTIALS, ids=[c[0] for c in NO_CREDENTIALS]
)
def test_no_credentials_alike_401_bare_challenge(
    both: Both, case: str, headers: list[tuple[str, str | bytes]], query: str
) -> None:
    userinfo, api = both.ask(headers, query)
    assert answer(userinfo) == answer(api), case
    status, challenge, body = answer(userinfo)
    assert (status, challenge) == (401, f'Bearer realm="userinfo", {DPOP}')  # RFC 6750 §3.1
    assert isinstance(body, dict) and "error" not in body


@pytest.mark.parametrize(("case", "headers", "query"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_alike_400_invalid_request(
    both: Both, case: str, headers: list[tuple[str, str | bytes]], query: str
) -> None:
    userinfo, api = both.ask(headers, query)
    assert answer(userinfo) == answer(api), case
    status, challenge, body = answer(userinfo)
    assert status == 400 and isinstance(body, dict) and body["error"] == "invalid_request"
    assert parse_challenges([challenge or ""]) == [
        (
            "bearer",
            {
                "realm": "userinfo",
                "error": "invalid_request",
                "error_description": body["error_description"],
            },
        ),
        ("dpop", {"realm": "userinfo", "algs": "ES256 PS256 Ed25519 EdDSA"}),
    ]


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_a_bad_token_is_401_invalid_token_from_both(both: Both, token: str) -> None:
    for r in both.ask([("Authorization", f"Bearer {token}")]):
        status, challenge, body = answer(r)
        assert status == 401 and isinstance(body, dict) and body["error"] == "invalid_token"
        assert parse_challenges([challenge or ""])[0][1]["error"] == "invalid_token"


def test_too_few_scopes_is_403_naming_openid_from_both(both: Both) -> None:
    r = both.server.http.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "read:files"},
        auth=("svc", SVC_SECRET),
    )
    token = r.json()["access_token"]
    for r in both.ask([("Authorization", f"Bearer {token}")]):
        status, challenge, body = answer(r)
        assert status == 403 and isinstance(body, dict)
        assert (body["error"], body["scope"]) == ("insufficient_scope", "openid")
        params = parse_challenges([challenge or ""])[0][1]
        assert (params["error"], params["scope"]) == ("insufficient_scope", "openid")


@pytest.mark.parametrize(
    ("headers", "data", "rule_words"),
    [
        ({"Authorization": "Bearer abc"}, {"access_token": "abc"}, "one place only"),
        ({}, {"access_token": ["a", "b"]}, "repeated"),
        ({}, {"access_token": ""}, "token68"),
    ],
)
def test_userinfo_body_tokens_follow_the_same_rules(
    both: Both, headers: dict[str, str], data: dict[str, object], rule_words: str
) -> None:
    r = both.server.http.post("/userinfo", headers=headers, data=data)  # type: ignore[arg-type]
    status, _challenge, body = answer(r)
    assert status == 400 and isinstance(body, dict) and body["error"] == "invalid_request"
    assert rule_words in body["error_description"]


def test_a_refusal_at_userinfo_is_an_event_naming_the_rule(both: Both) -> None:
    both.server.http.get("/userinfo", headers={"Authorization": "Bearer a b"})
    event = next(e for e in both.server.sink.events if e.name == "userinfo.rejected")
    assert event.error == "invalid_request"
    assert event.data["rule"] == "bearer_syntax" and event.data["spec"] == "RFC 6750 §2.1"
