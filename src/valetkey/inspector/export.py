"""A flow exported for a bug report or a document: a Mermaid sequence diagram, or HAR 1.2.

Both are built from the flow's events, which are redacted where they are built: an export carries
the masked values the inspector shows, never a usable secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from valetkey.core.events import FlowEvent, HttpExchange
from valetkey.inspector.mapping import causal_order
from valetkey.inspector.spec import LANE_LABELS

# Mermaid reads ``;`` and ``#`` in a message as syntax; its entity codes write them as text.
_MERMAID = str.maketrans({"#": "#35;", ";": "#59;", "\n": " ", "\r": " ", "<": "#lt;", ">": "#gt;"})


def _text(value: str) -> str:
    return value.translate(_MERMAID)


def mermaid(title: str, lanes: Sequence[str], events: Sequence[FlowEvent]) -> str:
    """``sequenceDiagram``: one arrow per event, in cause-then-effect order; a refusal ends in a
    cross (``--x``), the back channel is dashed; a failed check is a note where it failed."""
    ordered = causal_order(events)
    actors = list(dict.fromkeys([*lanes, *(a for e in ordered for a in (e.source, e.target))]))
    lines = ["sequenceDiagram", f"    title {_text(title)}"]
    lines += [f"    participant {a} as {_text(LANE_LABELS.get(a, a))}" for a in actors]
    for number, e in enumerate(ordered, 1):
        arrow = "--x" if not e.ok else "-->>" if e.channel == "back" else "->>"
        said = e.summary or e.name
        if e.error:
            said += f" ({e.error})"
        lines.append(f"    {e.source}{arrow}{e.target}: {number}. {_text(said)}")
        for check in e.checks:  # a failed check, where it failed, with its section
            if check.outcome == "fail":
                lines.append(f"    Note over {e.target}: {_text(f'✗ {check.rule} ({check.spec})')}")
    return "\n".join(lines) + "\n"


def _pairs(values: Mapping[str, Any]) -> list[dict[str, str]]:
    out = []
    for name, value in values.items():
        for one in value if isinstance(value, list | tuple) else [value]:
            out.append({"name": str(name), "value": "" if one is None else str(one)})
    return out


def _request(http: HttpExchange) -> dict[str, Any]:
    request: dict[str, Any] = {
        "method": http.method,
        "url": http.url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _pairs(http.request_headers),
        "queryString": [{"name": k, "value": v} for k, v in parse_qsl(urlsplit(http.url).query)],
        "headersSize": -1,
        "bodySize": -1,
    }
    if http.request_body:
        request["postData"] = {
            "mimeType": http.request_headers.get(
                "content-type", "application/x-www-form-urlencoded"
            ),
            "params": _pairs(http.request_body),
        }
    return request


def _response(http: HttpExchange) -> dict[str, Any]:
    body = http.response_body
    text = "" if body is None else body if isinstance(body, str) else json.dumps(body)
    mime = http.response_headers.get("content-type", "application/json" if body else "")
    return {
        "status": http.status or 0,
        "statusText": "",
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _pairs(http.response_headers),
        "content": {"size": len(text.encode()), "mimeType": mime, "text": text},
        "redirectURL": http.response_headers.get("location", ""),
        "headersSize": -1,
        "bodySize": -1,
    }


def har(events: Sequence[FlowEvent], version: str) -> dict[str, Any]:
    """HAR 1.2 (one entry per event that records an HTTP exchange); each entry's ``comment`` is
    the event's summary, and ``_checks`` the rules it ran, with their spec sections."""
    entries = []
    for e in causal_order(events):
        if e.http is None:
            continue
        started = datetime.fromtimestamp(e.time, UTC).isoformat().replace("+00:00", "Z")
        entries.append(
            {
                "startedDateTime": started,
                "time": 0,
                "request": _request(e.http),
                "response": _response(e.http),
                "cache": {},
                "timings": {"send": 0, "wait": 0, "receive": 0},
                "comment": e.summary or e.name,
                "_event": e.name,
                "_checks": [[c.rule, c.outcome, c.spec] for c in e.checks],
            }
        )
    creator = {"name": "valetkey inspector", "version": version}
    return {"log": {"version": "1.2", "creator": creator, "pages": [], "entries": entries}}


FORMS = {"mermaid": ".mmd", "har": ".har", "json": ".json"}


def export_text(
    form: str, view: Mapping[str, Any], events: Sequence[FlowEvent], version: str
) -> str:
    """A flow as the text of one file: ``mermaid``, ``har``, or ``json`` (the view the page
    draws, with the flow's events)."""
    if form == "mermaid":
        return mermaid(view["title"], [lane for lane, _label in view["lanes"]], events)
    if form == "har":
        return json.dumps(har(events, version), indent=2, ensure_ascii=False)
    if form == "json":
        body = {"flow": view, "events": [e.to_dict() for e in causal_order(events)]}
        return json.dumps(body, indent=2, ensure_ascii=False, default=str)
    raise ValueError(f"unknown export {form!r}; one of {', '.join(FORMS)}")
