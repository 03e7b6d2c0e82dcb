"""`valetkey serve`'s HTTP protocol: hot routes answered in the parser callbacks, the rest as usual.

A small app on the runtime (``Runtime``) runs on real uvicorn (loopback socket, uvloop, our protocol) in a
thread; raw sockets drive it, so keep-alive, pipelining and ``Connection: close`` are exact.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)

from tests.support.servers import lean_uvicorn_in_thread
from valetkey.runtime import Failure, Route, Runtime

ran_after: list[str] = []


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "on_task": asyncio.current_task() is not None,  # the lean path runs without one
            "body": body.decode(),
            "query": request.url.query,
            "client": request.client.host if request.client else None,
        }
    )


async def waits(request: Request) -> Response:
    await asyncio.sleep(0.01)  # suspends: the rest runs on a task
    return JSONResponse({"on_task": asyncio.current_task() is not None, "waited": True})


async def threaded(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    value = await run_in_threadpool(lambda: 41 + 1)  # as the token endpoint checks an Argon2 hash
    return JSONResponse({"value": value})


async def fails(request: Request) -> Response:
    raise RuntimeError("secret detail that must not reach the client")


async def fails_later(request: Request) -> Response:
    await asyncio.sleep(0)
    raise RuntimeError("secret detail that must not reach the client")


async def streams(request: Request) -> Response:
    async def chunks() -> Iterator[bytes]:  # type: ignore[misc]
        yield b"one,"
        yield b"two"

    return StreamingResponse(chunks(), media_type="text/plain")


async def with_background(request: Request) -> Response:
    return PlainTextResponse("done", background=BackgroundTask(ran_after.append, "background"))


async def redirects(request: Request) -> Response:
    return Response(status_code=303, headers={"location": "https://client.example/cb?code=x"})


async def slow(request: Request) -> Response:  # not a hot route
    await asyncio.sleep(0.2)
    return PlainTextResponse("slow")


GET, POST = ("GET",), ("POST",)
ROUTES = [
    Route("/echo", echo, ("GET", "POST"), hot=("GET", "POST")),
    Route("/waits", waits, POST, hot=POST),
    Route("/threaded", threaded, POST, hot=POST),
    Route("/fails", fails, POST, hot=POST),
    Route("/fails-later", fails_later, POST, hot=POST),
    Route("/streams", streams, hot=GET),
    Route("/background", with_background, hot=GET),
    Route("/redirects", redirects, hot=GET),
    Route("/normal", echo, POST),
    Route("/slow", slow),
]


def error_page(request: Request, failure: Failure) -> Response:
    return HTMLResponse(f"<h1>{failure.title}</h1>", failure.status)


def small_app(routes: list[Route]) -> Runtime:
    """The runtime with ``routes``; their responses carry no rows."""
    return Runtime(
        routes, write_rows=lambda rows: None, rows_of=lambda r: (), page=error_page, state={}
    )


def run_server(timeout_keep_alive: int = 5) -> Iterator[int]:
    app = small_app(ROUTES)
    with lean_uvicorn_in_thread(
        app,
        server_header=False,
        forwarded_allow_ips="127.0.0.1",
        timeout_keep_alive=timeout_keep_alive,
    ) as p:
        yield p


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    yield from run_server()


@pytest.fixture(scope="module")
def short_keep_alive() -> Iterator[int]:
    yield from run_server(timeout_keep_alive=1)


def request(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nhost: t\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    if body or method == "POST":
        head += (
            f"content-length: {len(body)}\r\ncontent-type: application/x-www-form-urlencoded\r\n"
        )
    return head.encode() + b"\r\n" + body


def read_response(sock: socket.socket, buf: bytearray) -> tuple[int, dict[str, str], bytes]:
    """One response off the socket (content-length or chunked); ``buf`` keeps what follows."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed early; got {bytes(buf)!r}"
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    buf[:] = rest
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            while b"\r\n" not in buf:
                buf += sock.recv(65536)
            size_line, _, _ = bytes(buf).partition(b"\r\n")
            size = int(size_line, 16)
            while len(buf) < len(size_line) + 2 + size + 2:
                buf += sock.recv(65536)
            start = len(size_line) + 2
            body += bytes(buf[start : start + size])
            del buf[: start + size + 2]
            if size == 0:
                return status, headers, body
    length = int(headers.get("content-length", "0"))
    while len(buf) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the body"
        buf += chunk
    body = bytes(buf[:length])
    del buf[:length]
    return status, headers, body


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock


def exchange(port: int, raw: bytes, count: int = 1) -> list[tuple[int, dict[str, str], bytes]]:
    with connect(port) as sock:
        sock.sendall(raw)
        buf = bytearray()
        return [read_response(sock, buf) for _ in range(count)]


def test_a_hot_route_is_answered_without_a_task_and_keeps_the_connection(port: int) -> None:
    import json

    with connect(port) as sock:
        buf = bytearray()
        for i in range(3):  # one keep-alive connection, three requests
            sock.sendall(request("POST", f"/echo?n={i}", f"a={i}".encode()))
            status, headers, body = read_response(sock, buf)
            assert status == 200
            assert headers["content-type"] == "application/json"
            assert json.loads(body) == {
                "on_task": False,
                "body": f"a={i}",
                "query": f"n={i}",
                "client": "127.0.0.1",
            }
            assert "connection" not in headers and "date" in headers


def test_a_route_that_is_not_hot_runs_on_uvicorns_task(port: int) -> None:
    import json

    [(status, _, body)] = exchange(port, request("POST", "/normal", b"x=1"))
    assert status == 200 and json.loads(body)["on_task"] is True


def test_a_body_sent_in_pieces_and_chunked_is_collected(port: int) -> None:
    import json

    with connect(port) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n"
        )
        time.sleep(0.05)
        sock.sendall(b"2\r\nde\r\n0\r\n\r\n")
        status, _, body = read_response(sock, bytearray())
    assert status == 200 and json.loads(body)["body"] == "abcde"


def test_connection_close_and_http_1_0_end_the_connection(port: int) -> None:
    for raw in (
        request("POST", "/echo", b"x", {"connection": "close"}),
        b"POST /echo HTTP/1.0\r\ncontent-length: 1\r\n\r\nx",
    ):
        with connect(port) as sock:
            sock.sendall(raw)
            buf = bytearray()
            status, headers, _ = read_response(sock, buf)
            assert status == 200 and headers["connection"] == "close"
            assert sock.recv(10) == b""  # the server closed it


def test_pipelined_requests_are_answered_in_order(port: int) -> None:
    import json

    raw = (
        request("GET", "/slow")  # not hot, 200 ms: the hot ones behind it must wait their turn
        + request("POST", "/echo", b"second")
        + request("POST", "/echo", b"third")
    )
    responses = exchange(port, raw, 3)
    assert [r[0] for r in responses] == [200, 200, 200]
    assert responses[0][2] == b"slow"
    assert [json.loads(r[2])["body"] for r in responses[1:]] == ["second", "third"]


def test_hot_requests_pipelined_in_one_packet(port: int) -> None:
    import json

    raw = b"".join(request("POST", "/echo", f"n={i}".encode()) for i in range(5))
    responses = exchange(port, raw, 5)
    assert [json.loads(r[2])["body"] for r in responses] == [f"n={i}" for i in range(5)]


def test_an_endpoint_that_waits_finishes_on_a_task(port: int) -> None:
    import json

    [(status, _, body)] = exchange(port, request("POST", "/waits"))
    assert status == 200 and json.loads(body) == {"on_task": True, "waited": True}
    [(status, _, body)] = exchange(port, request("POST", "/threaded"))
    assert status == 200 and json.loads(body) == {"value": 42}


def test_then_the_connection_goes_on(port: int) -> None:
    import json

    raw = request("POST", "/waits") + request("POST", "/echo", b"after")
    responses = exchange(port, raw, 2)
    assert json.loads(responses[0][2])["waited"] is True
    assert json.loads(responses[1][2])["body"] == "after"


@pytest.mark.parametrize("path", ["/fails", "/fails-later"])
def test_an_unexpected_error_is_a_json_server_error_and_the_connection_goes_on(
    port: int, path: str
) -> None:
    import json

    (status, headers, body), after = exchange(
        port, request("POST", path) + request("GET", "/echo"), 2
    )
    assert status == 500 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"] == "server_error"
    assert b"secret detail" not in body and b"Traceback" not in body
    assert "connection" not in headers and after[0] == 200


def test_streaming_redirect_and_background_responses(port: int) -> None:
    [(status, _, body)] = exchange(port, request("GET", "/streams"))
    assert status == 200 and body == b"one,two"
    [(status, headers, body)] = exchange(port, request("GET", "/redirects"))
    assert status == 303 and headers["location"] == "https://client.example/cb?code=x"
    assert body == b"" and headers["content-length"] == "0"
    ran_after.clear()
    [(status, _, body)] = exchange(port, request("GET", "/background"))
    assert status == 200 and body == b"done"
    deadline = time.monotonic() + 5
    while not ran_after and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ran_after == ["background"]


def test_forwarded_headers_and_expect_continue_take_uvicorns_path(port: int) -> None:
    import json

    [(status, _, body)] = exchange(
        port, request("POST", "/echo", b"x", {"x-forwarded-for": "203.0.113.9"})
    )
    assert status == 200
    assert json.loads(body) == {
        "on_task": True,
        "body": "x",
        "query": "",
        "client": "203.0.113.9",  # uvicorn's proxy-header handling still applies
    }
    with connect(port) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: 2\r\nexpect: 100-continue\r\n\r\n"
        )
        buf = bytearray()
        status, _, _ = read_response(sock, buf)
        assert status == 100
        sock.sendall(b"ok")
        status, _, body = read_response(sock, buf)
        assert status == 200 and json.loads(body)["body"] == "ok"


def test_a_percent_encoded_hot_path_routes_as_uvicorn_would(port: int) -> None:
    import json

    [(status, _, body)] = exchange(port, request("POST", "/%65cho", b"q"))
    assert status == 200 and json.loads(body)["body"] == "q"


@pytest.mark.parametrize("path", ["/echo", "/normal"])
def test_an_oversized_body_is_refused_before_it_is_read(port: int, path: str) -> None:
    import json

    from valetkey.runtime import LIMITS

    with connect(port) as sock:  # the head announces it; the body itself is never sent
        sock.sendall(
            request("POST", path)[:-2].replace(b"length: 0", b"length: %d" % (LIMITS.body + 1))
            + b"\r\n"
        )
        status, headers, body = read_response(sock, bytearray())
        assert status == 413 and headers["connection"] == "close"
        assert json.loads(body)["error"] == "invalid_request"
        assert sock.recv(10) == b""


def test_access_log_lines_match_uvicorns(port: int) -> None:
    import logging

    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("uvicorn.access")
    handler, level = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        exchange(port, request("POST", "/echo?x=1", b"a"))  # lean
        exchange(port, request("POST", "/normal", b"a"))  # uvicorn's own cycle
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert any(line.endswith('"POST /echo?x=1 HTTP/1.1" 200') for line in lines), lines
    assert any(line.endswith('"POST /normal HTTP/1.1" 200') for line in lines), lines


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(short_keep_alive: int) -> None:
    with connect(short_keep_alive) as sock:
        sock.sendall(request("POST", "/echo", b"x"))
        assert read_response(sock, bytearray())[0] == 200
        began = time.monotonic()
        sock.settimeout(5)
        assert sock.recv(10) == b""  # closed by the server
        assert 0.8 < time.monotonic() - began < 3.0


def test_a_busy_connection_outlives_the_timeout_then_closes_once_idle(
    short_keep_alive: int,
) -> None:
    with connect(short_keep_alive) as sock:
        buf = bytearray()
        began = time.monotonic()
        while time.monotonic() - began < 2.5:  # 2.5 s of requests, 0.3 s apart: never idle for 1 s
            sock.sendall(request("POST", "/echo", b"x"))
            assert read_response(sock, buf)[0] == 200
            time.sleep(0.3)
        sock.sendall(request("POST", "/normal", b"x"))  # uvicorn's own cycle, same timer
        assert read_response(sock, buf)[0] == 200
        last = time.monotonic()
        sock.settimeout(5)
        assert sock.recv(10) == b""
        assert 0.8 < time.monotonic() - last < 3.0


def test_an_error_outside_any_endpoint_is_answered_and_the_connection_goes_on() -> None:
    """Past Starlette's own error handling (here a mounted app that fails): the runtime's answer,
    not uvicorn's plain-text 500 and a closed connection."""
    import json

    from starlette.routing import Mount

    async def broken(scope: object, receive: object, send: object) -> None:
        raise RuntimeError("secret detail")

    app = Runtime(
        [Route("/echo", echo, ("POST",), hot=("POST",))],
        write_rows=lambda rows: None,
        rows_of=lambda r: (),
        page=error_page,
        state={},
        mounts=[Mount("/api", app=broken), Mount("/files", app=broken)],
    )
    app.table.page_prefixes = ("/files/",)  # one mount serves browsers, the other is an API
    with lean_uvicorn_in_thread(app) as p:
        raw = (
            request("GET", "/api/x") + request("GET", "/files/x") + request("POST", "/echo", b"ok")
        )
        (s1, h1, b1), (s2, h2, b2), (s3, _, b3) = exchange(p, raw, 3)
    assert s1 == 500 and h1["content-type"] == "application/json"
    assert json.loads(b1)["error"] == "server_error" and b"secret" not in b1
    assert s2 == 500 and h2["content-type"].startswith("text/html") and b"secret" not in b2
    assert "connection" not in h1 and "connection" not in h2
    assert s3 == 200 and json.loads(b3)["body"] == "ok"


def test_a_percent_encoded_hot_path_is_answered_on_the_fast_path_too(port: int) -> None:
    import json

    [(status, _, body)] = exchange(port, request("POST", "/%65cho?x=1", b"q"))
    assert status == 200 and json.loads(body) == {
        "on_task": False,
        "body": "q",
        "query": "x=1",
        "client": "127.0.0.1",
    }


def test_under_a_concurrency_limit_every_request_takes_uvicorns_path() -> None:
    import json

    with lean_uvicorn_in_thread(small_app(ROUTES), limit_concurrency=100) as p:
        for path in ("/echo", "/%65cho"):
            [(status, _, body)] = exchange(p, request("POST", path, b"q"))
            assert status == 200 and json.loads(body)["on_task"] is True
