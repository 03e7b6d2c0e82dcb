"""What the runtime answers when a request cannot be answered by its endpoint.

- A request past a limit (``limits.Refused``): ``invalid_request`` with the limit's status, as JSON,
  and the connection closed.
- The server cannot answer now (``Unavailable``, RFC 9110 §15.6.4: the storage is down, every
  password-hashing slot is busy): 503 with ``Retry-After``.
- Anything else unexpected: 500 ``server_error``, no detail (the exception goes to the log).

Protocol endpoints answer JSON; browser pages an HTML error page (``Failure`` is handed to the page
renderer the app was given; if that fails too, a built-in page). Every description says only what
is certain: a failed request may have written something before it failed, so none of them says
that nothing was issued.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape

from starlette.responses import Response

from valetkey.core.errors import Unavailable
from valetkey.runtime.limits import Refused

_compact = json.JSONEncoder(separators=(",", ":")).encode


@dataclass(frozen=True)
class Failure:
    status: int
    error: str  # the OAuth error code (RFC 6749 §5.2)
    description: str  # for the client developer: only %x20-21 / %x23-5B / %x5D-7E
    title: str  # for a person, on an error page
    headers: tuple[tuple[str, str], ...] = ()

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


UNEXPECTED = Failure(
    500,
    "server_error",
    "the server hit an unexpected condition and could not complete the request",
    "Something went wrong",
)


def unavailable(exc: Unavailable) -> Failure:
    return Failure(
        503,
        exc.error,
        exc.description,
        "Temporarily unavailable",
        (("Retry-After", str(exc.retry_after)),),
    )


def refused(exc: Refused) -> Failure:
    return Failure(
        exc.status, "invalid_request", exc.description, "Request refused", (("Connection", "close"),)
    )


def json_answer(failure: Failure) -> Response:
    """The failure as a JSON error response (RFC 6749 §5.2), never cached."""
    headers = {"Cache-Control": "no-store", **dict(failure.headers)}
    return Response(
        _compact(failure.body()), failure.status, headers, media_type="application/json"
    )


def builtin_page(failure: Failure) -> Response:
    """A page that needs nothing that could be failing (no template, no state)."""
    html = (
        f"<!doctype html><meta charset=utf-8><title>{escape(failure.title)}</title>"
        f"<h1>{escape(failure.title)}</h1><p>{escape(failure.description)}.</p>"
    )
    headers = {"Cache-Control": "no-store", **dict(failure.headers)}
    return Response(html, failure.status, headers, media_type="text/html")
