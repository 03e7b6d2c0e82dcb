"""Issue 13: bytes that are not text in a Basic header, and client text echoed into a description.

Every answer is a 4xx JSON error whose ``error_description`` keeps to RFC 6749 §5.2's characters,
at each endpoint that authenticates clients.
"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import httpx
import pytest

from tests.conftest import SVC_SECRET, WEB_SECRET, InProcess
from tests.support.rawasgi import RawRequest
from tests.support.wire import Connection, encode
from valetkey.core.client_auth import basic_credentials
from valetkey.core.text import is_safe

ENDPOINTS = {
    "/token": {"grant_type": "client_credentials"},
    "/revoke": {"token": "abc"},
    "/introspect": {"token": "abc"},
}
NOT_TEXT = {
    "Latin-1 bytes": b"Basic \xff\xfe",
    "UTF-8 bytes": "Basic \u00e9t\u00e9".encode(),
    "UTF-8 id and secret": "Basic \u00e9t\u00e9:\u00e9t\u00e9".encode(),
    "base64 of bytes that are not UTF-8": b"Basic " + base64.b64encode(b"\xff\xfe:\xfe"),
    "NUL": b"Basic YTpi\x00",
}


FORM = (b"content-type", b"application/x-www-form-urlencoded")


def json_error(r: httpx.Response) -> dict[str, str]:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    # What the client sent is made safe, and the server's own citations spell "§" as "section".
    assert is_safe(body["error_description"]), body
    return dict(body)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("value", list(NOT_TEXT.values()), ids=list(NOT_TEXT))
def test_basic_credentials_that_are_not_text_are_invalid_client(
    server: InProcess, endpoint: str, value: bytes, http_path: str
) -> None:
    if http_path == "lean" and b"\x00" in value:
        # On the wire a NUL is not a field value at all (RFC 9110 §5.5): the HTTP runtime refuses
        # the request as malformed before any endpoint sees it. httpx will not send it: raw bytes.
        port = server.http._transport.port  # type: ignore[attr-defined]
        body = urlencode(ENDPOINTS[endpoint]).encode()
        request = RawRequest("POST", endpoint.encode(), b"", [FORM, (b"authorization", value)], body)
        with Connection(port) as conn:
            conn.send(encode(request, host=b"as.test", close=True))
            answer = conn.read_answer()
        assert answer is not None and answer.status == 400, answer
        assert answer.json()["error"] == "invalid_request"  # type: ignore[index]
        return
    r = server.http.post(endpoint, data=ENDPOINTS[endpoint], headers={"Authorization": value})
    assert json_error(r)["error"] == "invalid_client"
    # RFC 6749 §5.2: 401 with a challenge for the scheme the client tried
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic ")


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_an_unknown_client_named_in_any_script_is_refused_plainly(
    server: InProcess, endpoint: str
) -> None:
    header = basic_credentials('\u00e9t\u00e9 "x" \\', "secret")
    r = server.http.post(endpoint, data=ENDPOINTS[endpoint], headers={"Authorization": header})
    assert json_error(r)["error"] == "invalid_client" and r.status_code == 401


@pytest.mark.parametrize(
    ("data", "error", "shown"),
    [
        ({"grant_type": 'gr"\u00e9\\\x01nt'}, "unsupported_grant_type", "'gr????nt'"),
        ({"grant_type": "x" * 100}, "unsupported_grant_type", "'" + "x" * 40 + "...'"),
        (
            {"grant_type": "client_credentials", "scope": 'read:files \u00e9"\\'},
            "invalid_scope",
            "'???'",
        ),
    ],
)
def test_client_text_in_a_description_is_made_safe(
    server: InProcess, data: dict[str, str], error: str, shown: str
) -> None:
    r = server.http.post("/token", data=data, auth=("svc", SVC_SECRET))
    body = json_error(r)
    assert body["error"] == error and shown in body["error_description"]


@pytest.mark.parametrize("endpoint", ["/revoke", "/introspect"])
@pytest.mark.parametrize("token", ["\u00e9t\u00e9", "a\x00b", "x" * 9000, "a.\u00e9.c"])
def test_a_token_that_is_not_ours_is_never_an_error(
    server: InProcess, endpoint: str, token: str
) -> None:
    r = server.http.post(endpoint, data={"token": token}, auth=("web", WEB_SECRET))
    assert r.status_code == 200, r.text
    assert r.json() == ({"active": False} if endpoint == "/introspect" else {})
