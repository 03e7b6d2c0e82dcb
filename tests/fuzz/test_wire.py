"""Hostile requests to ``valetkey serve`` over raw sockets, on SQLite and PostgreSQL.

The lean HTTP path users get: the bytes a client library would refuse to send, every endpoint and
form, and request framing of any shape. Every request is answered (a 4xx when it is not HTTP at
all) or, when it is incomplete, the connection closed; an answer without ``Connection: close``
leaves the connection usable (a request pipelined behind it is answered); no 5xx, no traceback.
"""

from __future__ import annotations

import socket

import pytest
from hypothesis import given

from tests.fuzz.conftest import Target
from tests.fuzz.known import unexplained
from tests.fuzz.strategies import Endpoint, raw_http, request_line_safe, requests
from tests.support.hostile import problems
from tests.support.rawasgi import RawRequest
from tests.support.wire import Connection, decode

pytestmark = [pytest.mark.fuzz, pytest.mark.e2e]


def test_every_endpoint_over_the_wire(served: Target) -> None:
    @given(requests(served.world))
    def hostile(case: tuple[Endpoint, RawRequest]) -> None:
        endpoint, request = case
        served.check(endpoint, request_line_safe(request))

    hostile()
    served.assert_healthy()


def test_bytes_that_may_not_be_http(served: Target) -> None:
    port = int(served.base.rsplit(":", 1)[1])

    @given(raw_http())
    def hostile(data: bytes) -> None:
        with Connection(port, timeout=10) as conn:
            conn.send(data)
            conn.sock.shutdown(socket.SHUT_WR)  # an incomplete request is closed, not waited on
            while (answer := conn.read_answer()) is not None:
                left = unexplained(problems("any", answer), decode(data), served.backend)
                assert not left, f"{[str(p) for p in left]} for {data!r}: {answer.body[:300]!r}"

    hostile()
    served.assert_healthy()
