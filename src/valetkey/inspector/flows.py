"""Turn the events of one flow into the view the page draws: its kind, its steps, its status.

Pure functions over :class:`FlowEvent` values, so the diagram's logic is tested without a browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from valetkey.core.events import FlowEvent
from valetkey.inspector.curl import curl_command
from valetkey.inspector.steps import EXPLAIN, KIND_TITLES, TEMPLATES, TITLES, StepTemplate


def flow_kind(events: Sequence[FlowEvent]) -> str:
    """Classify a flow from what its events say (grant type, PKCE, scope, hints from the client)."""
    for e in events:
        hint = e.data.get("kind")  # the demo client names the flow it starts
        if isinstance(hint, str) and hint in TEMPLATES:
            return hint
    for e in events:
        if e.data.get("grant_type") == "implicit":
            return "implicit"
        if e.deprecated:
            return "legacy"
        grant = e.data.get("grant_type")
        if grant == "refresh_token":
            return "refresh"
        if grant == "client_credentials":
            return "client_credentials"
        if e.name == "client_credentials.started":
            return "client_credentials"
        if e.name == "authorization.requested":
            if "openid" in (e.data.get("scope") or []):
                return "oidc"
            return "pkce" if e.data.get("pkce") else "confidential"
    return "other"


def _event_view(e: FlowEvent) -> dict[str, Any]:
    out = e.to_dict()
    out["ok"] = e.ok
    out["curl"] = curl_command(e.http) if e.http else None
    return out


def _step(template: StepTemplate | None, event: FlowEvent | None, status: str) -> dict[str, Any]:
    name = event.name if event else template.name if template else ""
    return {
        "name": name,
        "title": template.title
        if template
        else TITLES.get(name) or (event.summary if event else name),
        "source": event.source if event else template.source if template else "",
        "target": event.target if event else template.target if template else "",
        "channel": event.channel if event else template.channel if template else "local",
        "status": status,
        "explain": EXPLAIN.get(name, ""),
        "event": _event_view(event) if event else None,
    }


def build_steps(kind: str, events: Sequence[FlowEvent]) -> list[dict[str, Any]]:
    """Match events to the kind's template in order; template steps a flow skipped are dropped."""
    template = TEMPLATES.get(kind, ())
    steps: list[dict[str, Any]] = []
    next_index = 0
    failed = False
    for e in sorted(events, key=lambda e: e.seq):
        match = next(
            (j for j in range(next_index, len(template)) if template[j].name == e.name), None
        )
        if match is None:
            steps.append(_step(None, e, "done" if e.ok else "failed"))
        else:
            steps.append(_step(template[match], e, "done" if e.ok else "failed"))
            next_index = match + 1
        failed = not e.ok  # a flow that ended in a rejection will not reach the rest
    ended = failed or any(e.name == "attack.finished" for e in events)
    rest = "not_reached" if ended else "pending"
    steps.extend(_step(t, None, rest) for t in template[next_index:])
    for i, step in enumerate(steps, 1):
        step["number"] = i
    return steps


def flow_view(flow_id: str, events: Sequence[FlowEvent]) -> dict[str, Any]:
    kind = flow_kind(events)
    steps = build_steps(kind, events)
    first = min(events, key=lambda e: e.seq) if events else None
    attack = next((e.data for e in events if e.name == "attack.started"), None)
    insecure = any(e.data.get("insecure") for e in events)
    failed = [e for e in events if not e.ok]
    return {
        "flow_id": flow_id,
        "kind": kind,
        "title": KIND_TITLES[kind]
        if kind != "other" or first is None
        else first.summary or first.name,
        "started": first.time if first else None,
        "last_seq": max((e.seq for e in events), default=0),
        "client_id": next(
            (e.data["client_id"] for e in events if isinstance(e.data.get("client_id"), str)),
            None,
        ),
        "deprecated": next((e.deprecated for e in events if e.deprecated), None),
        "attack": dict(attack) if attack else None,
        "insecure": insecure,
        "errors": [e.error for e in failed if e.error],
        "complete": bool(steps) and all(s["status"] != "pending" for s in steps),
        "steps": steps,
    }
