"""How large a request may be, in one place, and the refusals past each limit (RFC 9110 §15.5).

The HTTP protocol (``runtime.connection``) checks them as the bytes arrive, so nothing past a limit is
held in memory; the ASGI app (``runtime.app``) checks what an ASGI server hands it (the body as it
is received, the parameter count, and the rest from the scope), so every path answers alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

FORM = b"application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Limits:
    body: int = 64 * 1024  # bytes of request body (the largest form an endpoint takes is ~10 KiB)
    headers: int = 100  # header fields
    header_bytes: int = 16 * 1024  # header names and values together
    target: int = 8 * 1024  # the request target: path and query
    params: int = 200  # fields of the query string, and of a form body

    @property
    def head(self) -> int:
        """Bytes a request's head may take on the wire: its line, fields and separators."""
        return self.target + self.header_bytes + 2 * self.headers + 1024


LIMITS = Limits()


class Refused(Exception):
    """A request past a limit: answered ``invalid_request`` with ``status``, then the connection
    is closed (the rest of the request is never read)."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def body_too_large(limits: Limits) -> Refused:
    return Refused(413, f"the request body is larger than {limits.body} bytes")  # RFC 9110 §15.5.14


def too_many_headers(limits: Limits) -> Refused:
    return Refused(431, f"the request has more than {limits.headers} header fields")  # RFC 6585 §5


def headers_too_large(limits: Limits) -> Refused:
    return Refused(431, f"the request header fields are larger than {limits.header_bytes} bytes")


def target_too_long(limits: Limits) -> Refused:
    return Refused(414, f"the request target is longer than {limits.target} bytes")  # §15.5.15


def too_many_params(limits: Limits) -> Refused:
    return Refused(400, f"the request has more than {limits.params} parameters")


def fields(data: bytes) -> int:
    """An upper bound of the fields in a query string or form body: ``&`` separates them."""
    return data.count(b"&") + 1 if data else 0


def check_head(
    limits: Limits,
    target: int,
    query: bytes,
    headers: Sequence[tuple[bytes, bytes]],
    content_length: bytes | None,
) -> Refused | None:
    """What is judged once the head is in."""
    if target > limits.target:
        return target_too_long(limits)
    if len(headers) > limits.headers:
        return too_many_headers(limits)
    if sum(len(name) + len(value) for name, value in headers) > limits.header_bytes:
        return headers_too_large(limits)
    if fields(query) > limits.params:
        return too_many_params(limits)
    if content_length is not None and content_length.isdigit() and int(content_length) > limits.body:
        return body_too_large(limits)
    return None


class BodyCounter:
    """Counts a body as its pieces arrive: bytes, and fields when it is a form."""

    __slots__ = ("form", "limits", "seen", "separators")

    def __init__(self, limits: Limits, form: bool) -> None:
        self.limits, self.form = limits, form
        self.seen = self.separators = 0

    def add(self, piece: bytes) -> None:
        self.seen += len(piece)
        if self.seen > self.limits.body:
            raise body_too_large(self.limits)
        if self.form:
            self.separators += piece.count(b"&")
            if self.separators >= self.limits.params:
                raise too_many_params(self.limits)
