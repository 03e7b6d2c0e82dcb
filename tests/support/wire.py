"""HTTP/1.1 over a raw socket: any bytes out, and exactly what came back (or that nothing did).

httpx refuses to send many of the bytes a hostile client sends (bad header names, CR or NUL in a
value, a request line that is not HTTP); a raw socket sends them. ``Connection`` keeps one socket
open across requests so keep-alive and ``Connection: close`` are observed exactly: an answer is
``None`` when the server closed the connection without answering the request.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

from tests.support.hostile import Answer
from tests.support.rawasgi import RawRequest


def encode(request: RawRequest, host: bytes = b"127.0.0.1", close: bool = False) -> bytes:
    """The request as a client writes it: ``Host`` first unless the request sets its own, and
    ``Content-Length`` for a body."""
    target = request.path + (b"?" + request.query if request.query else b"")
    lines = [request.method.encode("latin-1") + b" " + target + b" HTTP/1.1"]
    if not any(name.lower() == b"host" for name, _ in request.headers):
        lines.append(b"Host: " + host)
    lines += [name + b": " + value for name, value in request.headers]
    if request.body or request.method == "POST":
        lines.append(b"Content-Length: %d" % len(request.body))
    if close:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + request.body


def decode(data: bytes) -> RawRequest:
    """Best-effort reading of bytes that may be a request, for the oracle's known-failure filter."""
    head, _, body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
    first, *lines = head.split(b"\n")
    method, _, rest = first.partition(b" ")
    target = rest.rsplit(b" ", 1)[0] if b" " in rest else rest
    path, _, query = target.partition(b"?")
    headers = [
        (name.strip(), value.strip())
        for name, sep, value in (line.partition(b":") for line in lines)
        if sep
    ]
    return RawRequest(method.decode("latin-1"), path, query, headers, body)


class Connection:
    """One client connection to ``127.0.0.1:port``."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""
        self.closed = False  # the server closed its side (seen as end of stream)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def exchange(self, data: bytes) -> Answer | None:
        try:
            self.send(data)
        except (BrokenPipeError, ConnectionResetError):
            return None
        return self.read_answer()

    def _fill(self) -> bool:
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.closed = True
            return False
        self.buffer += chunk
        return True

    def read_answer(self) -> Answer | None:
        """The next answer, or None if the connection ended first (a timeout raises)."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                return None
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.split(b"\r\n")
        status = int(status_line.split(b" ")[1])
        headers = []
        for line in header_lines:
            name, _, value = line.partition(b":")
            headers.append(
                (name.strip().lower().decode("latin-1"), value.strip().decode("latin-1"))
            )
        answer = Answer(status, headers)
        length = answer.header("content-length")
        if length is not None:
            while len(self.buffer) < int(length):
                if not self._fill():
                    break
            answer.body, self.buffer = self.buffer[: int(length)], self.buffer[int(length) :]
        elif answer.header("transfer-encoding") == "chunked":
            answer.body = self._read_chunked()
        elif status >= 200 and status not in (204, 304):
            while self._fill():  # the body ends with the connection
                pass
            answer.body, self.buffer = self.buffer, b""
        return answer

    def _read_chunked(self) -> bytes:
        body = b""
        while True:
            while b"\r\n" not in self.buffer:
                if not self._fill():
                    return body
            size_line, _, self.buffer = self.buffer.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(self.buffer) < size + 2:
                if not self._fill():
                    return body + self.buffer
            body += self.buffer[:size]
            self.buffer = self.buffer[size + 2 :]
            if size == 0:
                return body

    def is_closed_by_server(self, wait: float = 0.5) -> bool:
        """Whether the server has closed the connection (waits up to ``wait`` seconds)."""
        if self.closed:
            return True
        self.sock.settimeout(wait)
        try:
            return not self._fill()
        except TimeoutError:
            return False
        finally:
            self.sock.settimeout(10.0)


def one_shot(port: int, data: bytes, timeout: float = 10.0) -> Answer | None:
    with Connection(port, timeout) as conn:
        return conn.exchange(data)


def pipelined(port: int, requests: Sequence[bytes], timeout: float = 10.0) -> list[Answer | None]:
    """Several requests written at once on one connection, then their answers in order."""
    with Connection(port, timeout) as conn:
        conn.send(b"".join(requests))
        answers: list[Answer | None] = []
        for _ in requests:
            answers.append(conn.read_answer())
        return answers


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")
