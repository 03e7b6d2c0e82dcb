"""Every request is bounded (issue 13): past a limit it is refused with its status and a JSON
``invalid_request`` (an error page on a browser page), before the rest of it is read, on every
endpoint and both HTTP paths.

Raw sockets drive the server as ``valetkey serve`` runs it (the lean protocol on real uvicorn), so
what is sent, what is answered and when the connection ends are exact; the same limits are then
held on the in-process ASGI path through httpx.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator

import pytest

from tests.conftest import SVC_SECRET, InProcess, make_in_process
from tests.server.test_lean_http import read_response
from valetkey.asgi import ROUTES
from valetkey.runtime import LIMITS
from valetkey.runtime.routes import Table

# Every declared route with each method it serves, and a static file.
EVERY = [(m, r.path) for r in ROUTES for m in r.methods] + [("GET", "/static/style.css")]


@pytest.fixture(scope="module")
def lean() -> Iterator[int]:
    env = make_in_process(http_path="lean")
    with env.http:
        yield env.http._transport.port  # type: ignore[attr-defined]
    env.store.close()


PAGES = Table(ROUTES, ["/static/"])


def refused(port: int, raw: bytes, status: int, words: str) -> None:
    """Send ``raw``; the answer is ``status`` with a JSON error (an error page on a browser page),
    and the server ends the connection."""
    path = raw.split(b" ", 2)[1].split(b"?", 1)[0].decode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(raw)  # it may stop reading: what matters is what it answered
        got, headers, body = read_response(sock, bytearray())
        assert got == status, body
        assert headers["connection"] == "close"
        if PAGES.is_page(path):
            assert headers["content-type"].startswith("text/html")
            assert words in body.decode()
        else:
            assert headers["content-type"] == "application/json"
            answer = json.loads(body)
            assert answer["error"] == "invalid_request" and words in answer["error_description"]
        sock.settimeout(5)
        while sock.recv(65536):  # the server closes its side (after a short linger at most)
            pass


def head(method: str, target: str, *fields: str) -> bytes:
    return (f"{method} {target} HTTP/1.1\r\nhost: as.test\r\n" + "".join(f + "\r\n" for f in fields)).encode()


@pytest.mark.parametrize(("method", "path"), EVERY)
def test_a_long_target_is_refused_on_every_endpoint(lean: int, method: str, path: str) -> None:
    target = path + "?x=" + "a" * LIMITS.target
    refused(lean, head(method, target) + b"\r\n", 414, "request target is longer")


@pytest.mark.parametrize(("method", "path"), EVERY)
def test_an_announced_large_body_is_refused_before_it_is_sent(
    lean: int, method: str, path: str
) -> None:
    length = f"content-length: {LIMITS.body + 1}"
    refused(lean, head(method, path, length) + b"\r\n", 413, "body is larger than 65536 bytes")


@pytest.mark.parametrize("path", ["/token", "/authorize", "/revoke"])
def test_a_chunked_body_is_cut_off_at_the_limit(lean: int, path: str) -> None:
    chunk = b"a" * 8192
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(LIMITS.body // len(chunk) + 1))
    # A form, so that every endpoint reads the body: with another type /authorize may refuse it
    # (400, not a form) before the last chunks arrive, which raced the limit under load.
    form = "content-type: application/x-www-form-urlencoded"
    raw = head("POST", path, "transfer-encoding: chunked", form) + b"\r\n" + body
    refused(lean, raw, 413, "body is larger")


def test_many_and_large_header_fields_are_refused(lean: int) -> None:
    many = [f"x-h{i}: v" for i in range(LIMITS.headers)]  # with host, one too many
    refused(lean, head("POST", "/token", *many) + b"\r\n", 431, "more than 100 header fields")
    large = "x-big: " + "b" * LIMITS.header_bytes
    refused(lean, head("GET", "/authorize", large) + b"\r\n", 431, "larger than 16384 bytes")


def test_a_header_that_never_ends_is_refused_without_waiting_for_its_end(lean: int) -> None:
    """Past the head's limit the field is refused while it is still arriving: the server neither
    holds it nor waits for the rest of it (the parser alone would buffer it until its end)."""
    with socket.create_connection(("127.0.0.1", lean), timeout=5) as sock:
        sock.sendall(head("GET", "/jwks.json") + b"x-endless: " + b"z" * (LIMITS.head + 1024))
        status, headers, _ = read_response(sock, bytearray())  # nothing more is sent
        assert status == 431 and headers["connection"] == "close"


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/authorize"), ("POST", "/token"), ("POST", "/introspect")]
)
def test_too_many_parameters_are_refused(lean: int, method: str, path: str) -> None:
    params = "&".join(f"p{i}=1" for i in range(LIMITS.params + 1))
    refused(lean, head(method, f"{path}?{params}") + b"content-length: 0\r\n\r\n", 400, "more than 200")
    form = params.encode()
    raw = head(
        "POST", path, "content-type: application/x-www-form-urlencoded", f"content-length: {len(form)}"
    )
    refused(lean, raw + b"\r\n" + form, 400, "more than 200 parameters")


def test_bytes_that_are_not_http_get_a_json_400(lean: int) -> None:
    refused(lean, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n", 400, "not valid HTTP")


def test_a_refusal_waits_for_the_answer_owed_before_it(lean: int) -> None:
    """A pipelined request past a limit is answered after the requests before it."""
    token = (
        b"POST /token HTTP/1.1\r\nhost: as.test\r\ncontent-type: application/x-www-form-urlencoded\r\n"
        b"content-length: 17\r\n\r\ngrant_type=nothin"
    )
    metadata = b"GET /.well-known/oauth-authorization-server HTTP/1.1\r\nhost: as.test\r\n\r\n"
    too_big = head("POST", "/token", f"content-length: {LIMITS.body + 1}") + b"\r\n"
    with socket.create_connection(("127.0.0.1", lean), timeout=5) as sock:
        sock.sendall(metadata + token + too_big)
        buf = bytearray()
        statuses = [read_response(sock, buf)[0] for _ in range(3)]
    assert statuses == [200, 400, 413]


def test_header_bytes_are_bounded_for_a_request_pipelined_in_one_packet(lean: int) -> None:
    metadata = head("GET", "/.well-known/oauth-authorization-server") + b"\r\n"
    fields = [f"x-h{i}: " + "v" * 2000 for i in range(9)]  # 18 KiB in 9 fields
    with socket.create_connection(("127.0.0.1", lean), timeout=5) as sock:
        sock.sendall(metadata + head("GET", "/jwks.json", *fields) + b"\r\n")
        buf = bytearray()
        assert read_response(sock, buf)[0] == 200
        status, headers, _ = read_response(sock, buf)
    assert status == 431 and headers["connection"] == "close"


def test_the_limits_hold_on_the_asgi_path_too(server: InProcess) -> None:
    """In process (and under any ASGI server) the app checks what it is handed."""
    big = server.http.post("/token", content=b"a=" + b"b" * LIMITS.body, headers={"content-type": "text/plain"})
    assert big.status_code == 413 and big.json()["error"] == "invalid_request"
    form = {f"p{i}": "1" for i in range(LIMITS.params + 1)}
    many = server.http.post("/token", data=form, auth=("svc", SVC_SECRET))
    assert many.status_code == 400 and "more than 200 parameters" in many.json()["error_description"]
    query = server.http.get("/authorize", params=form)
    assert query.status_code == 400 and query.headers["content-type"].startswith("text/html")
    long = server.http.get("/jwks.json?x=" + "a" * LIMITS.target)
    assert long.status_code == 414
    # and a request within the limits is served as before
    ok = server.http.post(
        "/token", data={"grant_type": "client_credentials", "scope": "read:files"}, auth=("svc", SVC_SECRET)
    )
    assert ok.status_code == 200
