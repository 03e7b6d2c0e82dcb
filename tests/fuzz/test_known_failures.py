"""Every failure class of issue 13 and every one the fuzzer found, as an explicit regression case.

In process, on SQLite and PostgreSQL. A case that fails on the code as it is carries
``xfail(strict=True)`` naming the fix it waits for (runtime, store or core): when the fix lands the
case passes, strict xfail turns that into a failure, and the marker (and the matching entry of
``known.py``) is removed.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, urlencode

import pytest

from tests.fuzz.conftest import Target
from tests.fuzz.strategies import Endpoint
from tests.support.rawasgi import RawRequest
from valetkey.core import pkce

pytestmark = pytest.mark.fuzz

FORM = (b"content-type", b"application/x-www-form-urlencoded")

JSON_POSTS = {
    "/token": b"grant_type=client_credentials&scope=read%3Afiles",
    "/revoke": b"token=some-token",
    "/introspect": b"token=some-token",
}


def post(path: str, body: bytes, *headers: tuple[bytes, bytes]) -> RawRequest:
    return RawRequest("POST", path.encode(), b"", [FORM, *headers], body)


def authorize_query(**overrides: str) -> bytes:
    verifier = pkce.new_verifier()
    params = {
        "response_type": "code",
        "client_id": "cli",
        "redirect_uri": "http://127.0.0.1:9999/callback",
        "scope": "read:profile",
        "state": "s",
        "code_challenge": pkce.challenge_for(verifier, "S256"),
        "code_challenge_method": "S256",
        **overrides,
    }
    return urlencode(params).encode()


# -- Authorization: Basic followed by bytes that are not ASCII (issue 13) --------------------------


@pytest.mark.parametrize("path", sorted(JSON_POSTS))
@pytest.mark.parametrize(
    "credentials", [b"\xff\xfe", "été".encode(), b"\xc3"], ids=["ff-fe", "utf8-ete", "lone-c3"]
)
def test_basic_credentials_not_ascii(in_process: Target, path: str, credentials: bytes) -> None:
    request = post(path, JSON_POSTS[path], (b"authorization", b"Basic " + credentials))
    answer = in_process.exact(Endpoint("POST", path, "json"), request)
    assert answer.status == 401, answer.body  # RFC 6749 §5.2: invalid_client, with a challenge
    assert answer.json()["error"] == "invalid_client"  # type: ignore[index]
    assert (answer.header("www-authenticate") or "").startswith("Basic")


def test_basic_credentials_base64_of_non_utf8(in_process: Target) -> None:
    """Held today: base64 of bytes that are not UTF-8 is refused cleanly."""
    value = base64.b64encode(b"\xff\xfe:secret")
    request = post("/token", JSON_POSTS["/token"], (b"authorization", b"Basic " + value))
    answer = in_process.exact(Endpoint("POST", "/token", "json"), request)
    assert answer.status == 401


# -- NUL in client_id and other looked-up values (issue 13: 500 on PostgreSQL) ---------------------

NUL_REQUESTS = {
    "token-body": post("/token", b"grant_type=client_credentials&client_id=a%00b"),
    "token-basic": post(
        "/token",
        JSON_POSTS["/token"],
        (b"authorization", b"Basic " + base64.b64encode(b"a%00b:secret")),
    ),
    "revoke": post("/revoke", b"token=t&client_id=a%00b"),
    "introspect": post("/introspect", b"token=t&client_id=a%00b&client_secret=s"),
    "authorize-get": RawRequest("GET", b"/authorize", authorize_query(client_id="a\x00b")),
    "authorize-post": post("/authorize", authorize_query(client_id="a\x00b")),
    "logout": RawRequest("GET", b"/logout", b"client_id=a%00b"),
}
NUL_KINDS = {"authorize-get": "page", "authorize-post": "page", "logout": "page"}


@pytest.mark.parametrize("case", sorted(NUL_REQUESTS))
def test_nul_in_client_id(in_process: Target, case: str) -> None:
    raw = NUL_REQUESTS[case]
    kind = NUL_KINDS.get(case, "json")
    answer = in_process.exact(Endpoint(raw.method, raw.path.decode(), kind), raw)
    assert 400 <= answer.status < 500


def test_nul_in_username(in_process: Target) -> None:
    world = in_process.world
    body = b"&".join(
        [
            b"csrf_token=" + world.csrf["login"],
            b"request=" + quote(world.authz_query).encode(),
            b"username=ali%00ce",
            b"password=wonderland",
        ]
    )
    cookie = (b"cookie", b"vk_browser=" + world.cookies["vk_browser"])
    answer = in_process.exact(Endpoint("POST", "/login", "page"), post("/login", body, cookie))
    assert answer.status == 401  # the sign-in page again: no such user


# -- error_description within RFC 6749 §5.2's characters -----------------------------------------


def test_own_description_in_charset(in_process: Target) -> None:
    request = RawRequest("POST", b"/token", b"", [(b"content-type", b"text/plain")], b"x")
    in_process.exact(Endpoint("POST", "/token", "json"), request)


@pytest.mark.parametrize("grant_type", [b"%22", b"%C3%A9t%C3%A9", b"%5C", b"%FF"])
def test_echoed_grant_type_in_charset(in_process: Target, grant_type: bytes) -> None:
    request = post("/token", b"grant_type=" + grant_type, (b"authorization", b"Basic eDp5"))
    in_process.exact(Endpoint("POST", "/token", "json"), request)


@pytest.mark.parametrize("field", ["response_type", "code_challenge_method", "scope"])
def test_echoed_value_in_error_redirect(in_process: Target, field: str) -> None:
    query = authorize_query(**{field: 'x"é'})
    answer = in_process.exact(
        Endpoint("GET", "/authorize", "page"), RawRequest("GET", b"/authorize", query)
    )
    assert answer.status == 303


def test_userinfo_challenge_in_charset(in_process: Target) -> None:
    """The WWW-Authenticate challenge carries only allowed characters; a token outside token68 is a
    malformed request (RFC 6750 §3.1: 400 invalid_request)."""
    request = RawRequest("GET", b"/userinfo", b"", [(b"authorization", b'Bearer \xc3\xa9"x')])
    answer = in_process.exact(Endpoint("GET", "/userinfo", "json"), request)
    assert answer.status == 400


# -- the router's 405 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("GET", "/token", "json"),
        ("GET", "/revoke", "json"),
        ("GET", "/introspect", "json"),
        ("PUT", "/userinfo", "json"),
        ("GET", "/login", "page"),  # a browser reloading the sign-in result
        ("GET", "/consent", "page"),
    ],
)
def test_method_not_allowed_speaks_the_endpoints_language(
    in_process: Target, method: str, path: str, kind: str
) -> None:
    answer = in_process.exact(Endpoint(method, path, kind), RawRequest(method, path.encode()))
    assert answer.status == 405
    assert answer.header("allow")


# -- a Host header the event builder cannot parse (the observed server: inspector, demo) ----------


@pytest.mark.parametrize("host", [b"[", b"]x", b"[x]"], ids=["open", "close", "not-ipv6"])
def test_host_header_bytes(in_process: Target, host: bytes) -> None:
    request = post("/token", JSON_POSTS["/token"], (b"host", host))
    in_process.exact(Endpoint("POST", "/token", "json"), request)


# -- a loopback redirect URI's free-form port --------------------------------------------------------


def _consent_request(world_cookies: dict[str, bytes], redirect_uri: str) -> RawRequest:
    cookie = b"vk_browser=%s; vk_session=%s" % (
        world_cookies["vk_browser"],
        world_cookies["vk_session"],
    )
    query = authorize_query(redirect_uri=redirect_uri, scope="write:files")
    return RawRequest("GET", b"/authorize", query, [(b"cookie", cookie)])


def test_loopback_port_not_latin1(in_process: Target) -> None:
    request = _consent_request(in_process.world.cookies, "http://127.0.0.1:\u2603/callback")
    in_process.exact(Endpoint("GET", "/authorize", "page"), request)


def test_loopback_port_cannot_inject_csp(in_process: Target) -> None:
    request = _consent_request(in_process.world.cookies, "http://127.0.0.1:1;script-src */callback")
    answer = in_process.exact(Endpoint("GET", "/authorize", "page"), request)
    csp = answer.header("content-security-policy") or ""
    directives = {part.split()[0] for part in csp.split(";") if part.strip()}
    assert directives <= {"default-src", "frame-ancestors", "form-action", "base-uri"}, csp
    assert answer.status == 400  # RFC 8252 §7.3: only the port varies, and a port is digits
