"""A flow event as JSON and back: how events are kept in the database for the inspector.

Events are redacted where they are built (``events.redact``); before one leaves the process, its
parameters, headers and data are redacted once more (redaction is idempotent), so that a secret a
future emitter forgot to mask still never reaches the database or the inspector's page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from valetkey.core.events import Check, FlowEvent, HttpExchange, redact


def _redacted(value: Any) -> Any:
    return redact(value) if isinstance(value, Mapping) else value


def event_json(event: FlowEvent) -> str:
    body = event.to_dict()
    del body["seq"]  # the reader numbers events by their row's id
    body["data"] = redact(event.data)
    if event.http is not None:
        http = body["http"]
        for part in ("request_headers", "request_body", "response_headers", "response_body"):
            http[part] = _redacted(http[part])
    return json.dumps(body, separators=(",", ":"), default=str)


def event_from_json(text: str, seq: int) -> FlowEvent:
    body = json.loads(text)
    http = body.pop("http", None)
    checks = tuple(Check(**c) for c in body.pop("checks", ()))
    return FlowEvent(**body, checks=checks, http=HttpExchange(**http) if http else None, seq=seq)
