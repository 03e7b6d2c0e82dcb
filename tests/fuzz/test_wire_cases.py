"""Explicit cases over raw sockets to ``valetkey serve`` (the lean HTTP path and uvicorn's path).

Issue 13's cases that concern the wire: bytes after ``Authorization: Basic`` that are not ASCII,
and requests bounded before they are read (413 body, 414 request line, 431 headers, 400 for too
many parameters), on a route of the lean path (``/token``) and one of uvicorn's (``/revoke``).
A case failing today carries ``xfail(strict=True)`` naming the fix it waits for.
"""

from __future__ import annotations

import base64

import pytest

from tests.conftest import SVC_SECRET
from tests.fuzz.conftest import Target
from tests.fuzz.strategies import Endpoint
from tests.support.rawasgi import RawRequest
from tests.support.wire import Connection, encode

pytestmark = [pytest.mark.fuzz, pytest.mark.e2e]

FORM = (b"Content-Type", b"application/x-www-form-urlencoded")
SVC = (b"Authorization", b"Basic " + base64.b64encode(f"svc:{SVC_SECRET}".encode()))
BODIES = {
    "/token": b"grant_type=client_credentials&scope=read%3Afiles",
    "/revoke": b"token=t",
    "/introspect": b"token=t",
}


def _port(target: Target) -> int:
    return int(target.base.rsplit(":", 1)[1])


@pytest.mark.parametrize("path", ["/token", "/revoke", "/introspect"])
def test_basic_not_ascii_over_the_wire(served: Target, path: str) -> None:
    request = RawRequest(
        "POST", path.encode(), b"", [FORM, (b"Authorization", b"Basic \xff\xfe")], BODIES[path]
    )
    answer = served.exact(Endpoint("POST", path, "json"), request)  # the probe behind it too
    assert answer.status == 401


@pytest.mark.parametrize("path", ["/token", "/revoke"])
def test_body_too_large(served: Target, path: str) -> None:
    body = BODIES[path] + b"&pad=" + b"x" * (2 * 1024 * 1024)
    answer = served.exact(
        Endpoint("POST", path, "json"), RawRequest("POST", path.encode(), b"", [FORM, SVC], body)
    )
    assert answer.status == 413


@pytest.mark.parametrize("path", ["/token", "/revoke"])
def test_body_refused_before_it_is_read(served: Target, path: str) -> None:
    head = encode(RawRequest("POST", path.encode(), b"", [FORM, SVC]))
    head = head.replace(b"Content-Length: 0", b"Content-Length: 1000000000")
    with Connection(_port(served), timeout=3) as conn:
        conn.send(head)
        try:
            answer = conn.read_answer()  # the body is never sent: only an early refusal answers
        except TimeoutError:
            answer = None
    assert answer is not None and answer.status == 413


def test_request_line_too_long(served: Target) -> None:
    request = RawRequest("GET", b"/authorize", b"client_id=cli&state=" + b"s" * 100_000)
    answer = served.exact(Endpoint("GET", "/authorize", "page"), request)
    assert answer.status == 414


def test_too_many_headers(served: Target) -> None:
    headers = [(b"X-Pad-%d" % i, b"v") for i in range(2000)]
    answer = served.exact(
        Endpoint("POST", "/token", "json"),
        RawRequest("POST", b"/token", b"", [FORM, SVC, *headers], BODIES["/token"]),
    )
    assert answer.status == 431


def test_header_too_large(served: Target) -> None:
    headers = [FORM, SVC, (b"X-Pad", b"v" * 100_000)]
    answer = served.exact(
        Endpoint("POST", "/token", "json"),
        RawRequest("POST", b"/token", b"", headers, BODIES["/token"]),
    )
    assert answer.status == 431


@pytest.mark.parametrize("path", ["/token", "/revoke"])
def test_too_many_parameters(served: Target, path: str) -> None:
    body = BODIES[path] + b"".join(b"&p%d=" % i for i in range(5000))
    answer = served.exact(
        Endpoint("POST", path, "json"), RawRequest("POST", path.encode(), b"", [FORM, SVC], body)
    )
    assert answer.status == 400
    assert answer.json()["error"] == "invalid_request"  # type: ignore[index]


def test_a_body_within_bounds_is_served(served: Target) -> None:
    """The bounds leave room: 60 KiB of padding in an otherwise correct request is served."""
    body = BODIES["/token"] + b"&pad=" + b"x" * (60 * 1024)
    answer = served.exact(
        Endpoint("POST", "/token", "json"), RawRequest("POST", b"/token", b"", [FORM, SVC], body)
    )
    assert answer.status == 200
