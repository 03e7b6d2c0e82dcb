"""Request ids: one per request when JSON logs are on (``log_format = "json"``).

The id is the incoming ``X-Request-Id`` when that is short, safe text (a proxy or a client may
have set it to follow a request across systems), else a new random one. It is returned as
``X-Request-Id``, set on every event emitted while the request is answered
(``core.events.REQUEST_ID``) and written on every JSON log line of that request.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

HEADER = b"x-request-id"
# The id is also kept in the request's scope: a failure answered later (a group commit that
# failed, at the end of the event-loop step) still logs it.
SCOPE_KEY = "valetkey.request_id"
# The first X-Request-Id header's value as the HTTP protocol read it (``runtime.connection``), in
# the scope of a request it answers itself (absent: the request has none).
NOTED_KEY = "valetkey.request_id_header"
_SAFE = re.compile(rb"[A-Za-z0-9._:@+=-]{1,64}")


def request_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The incoming id if it is 1 to 64 characters of letters, digits and ``._:@+=-``; else new."""
    for name, value in headers:
        if name == HEADER:
            return id_from(value)
    return secrets.token_hex(8)


def id_from(value: bytes | None) -> str:
    """``request_id`` from the first ``X-Request-Id`` header's value (None: there is none)."""
    if value is not None and _SAFE.fullmatch(value):
        return value.decode("ascii")
    return secrets.token_hex(8)


def logged_id(scope: Mapping[str, Any]) -> dict[str, Any] | None:
    """``extra`` for a log call about the request of ``scope``: its id, when it has one."""
    rid = scope.get(SCOPE_KEY)
    return None if rid is None else {"request_id": rid}
