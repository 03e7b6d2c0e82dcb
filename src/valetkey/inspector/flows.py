"""Turn the events of one flow into the view the page draws: its kind, its canonical steps with
their sub-steps, what came after them, and whether it is complete.

Pure functions over :class:`FlowEvent` values, so the diagram's logic is tested without a browser.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from valetkey.core.events import ACTING_USER, FlowEvent
from valetkey.inspector.catalog import CATALOG
from valetkey.inspector.curl import curl_command
from valetkey.inspector.labels import EXPLAIN, TITLES
from valetkey.inspector.mapping import META, Slot, assign, causal_order, complete, settle
from valetkey.inspector.spec import FIVE_LANES, LANE_LABELS, FlowSpec

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §3.4
API_CALL = frozenset(
    {"resource_request.authenticated", "resource_request.rejected", "api.responded"}
)
# What the resource server does while it answers a call.
CALL_EVENTS = API_CALL | {"jwks.fetched", "jwks.fetch_failed", "token.introspected"}
NOTES = {
    "skipped": "Skipped: {why}.",
    "unobserved": "No component reported this step (a client that sends no events, such as the "
    "CLI or curl, does it unseen).",
    "unused": "Not happened: no call with this token has been seen yet.",
    "not_reached": "Not reached: the flow stopped earlier.",
    "pending": "Not happened yet.",
    "active": "In progress.",
}
# A client's own record (``--inspect``): what it cannot see, and nothing the server alone knows.
CLIENT_NOTES = {
    **NOTES,
    "unobserved": "Not seen by the client: it happens between the browser and the server, or "
    "inside the server.",
}


def _attack_spec(events: Sequence[FlowEvent]) -> str | None:
    started = next((e for e in events if e.name == "attack.started"), None)
    if started is None:
        return None
    kind = f"attack:{started.data.get('attack')}"
    return kind if kind in CATALOG else None


def flow_kind(events: Sequence[FlowEvent]) -> str:
    """Classify a flow from what its events say (grant type, PKCE, scope, hints from the client)."""
    attack = _attack_spec(events)
    if attack:
        return attack
    for e in events:
        hint = e.data.get("kind")  # the demo client names the flow it starts
        if isinstance(hint, str) and CATALOG.get(hint) and CATALOG[hint].learn:
            return hint
    for e in events:
        grant = e.data.get("grant_type")
        if e.name.startswith("device_authorization.") or grant == DEVICE_GRANT:
            return "device"
        if grant == "implicit":
            return "implicit"
        if e.deprecated:
            return "legacy"
        if grant == "refresh_token":
            return "refresh"
        if grant == "client_credentials" or e.name == "client_credentials.started":
            return "client_credentials"
        if e.name == "authorization.requested":
            if "openid" in (e.data.get("scope") or []):
                return "oidc"
            return "pkce" if e.data.get("pkce") else "confidential"
    names = {e.name for e in events}
    if names & API_CALL and names <= CALL_EVENTS | {"userinfo.returned", "userinfo.rejected"}:
        return "call"
    return "other"


def flow_user(events: Sequence[FlowEvent]) -> str | None:
    """The user the flow acted for: the latest its events name (``server/acting.py``), so a
    request that came with one user's session and then signed in as another is the other's.
    None when no event acts for a user (client credentials, a refused request)."""
    named = sorted((e for e in events if isinstance(e.data.get(ACTING_USER), str)), key=_seq)
    return str(named[-1].data[ACTING_USER]) if named else None


def _seq(e: FlowEvent) -> int:
    return e.seq


def _event_view(e: FlowEvent) -> dict[str, Any]:
    out = e.to_dict()
    out["ok"] = e.ok
    out["curl"] = curl_command(e.http) if e.http else None
    return out


def _single(e: FlowEvent, roles: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One event drawn on its own (a sub-step, or an extra after the canonical steps)."""
    lane = dict(roles or {})
    return {
        "title": TITLES.get(e.name) or e.summary or e.name,
        "name": e.name,
        "source": lane.get(e.source, e.source),
        "target": lane.get(e.target, e.target),
        "channel": e.channel,
        "status": "done" if e.ok else "failed",
        "explain": EXPLAIN.get(e.name, ""),
        "event": _event_view(e),
    }


def _slot_view(
    number: int, slot: Slot, off: bool, notes: Mapping[str, str] = NOTES
) -> dict[str, Any]:
    step = slot.step
    title = step.off_title if off and step.off_title else step.title
    if slot.event is not None and slot.event.name == "attack.finished" and not slot.event.ok:
        title = "Outcome: not what the defence should do"
    return {
        "number": number,
        "name": slot.event.name if slot.event else "",
        "title": title,
        "source": step.source,
        "target": step.target,
        "channel": step.channel,
        "status": slot.status,
        "part": slot.part,
        "explain": step.off_explain if off and step.off_explain else step.explain,
        "note": notes.get(slot.status, "").format(why=step.skippable),
        "event": _event_view(slot.event) if slot.event else None,
        "subs": [_single(e, step.roles) for e in slot.subs],
    }


def _badge(
    spec: FlowSpec | None, events: Sequence[FlowEvent], done: bool, failed: bool
) -> list[str]:
    finished = next((e for e in events if e.name == "attack.finished"), None)
    if spec is not None and spec.defence:
        if finished is None:
            return ["in progress", "progress"]
        if not finished.ok:
            return ["UNEXPECTED outcome", "failed"]
        started = next((e for e in events if e.name == "attack.started"), None)
        if started is not None and started.data.get("insecure"):
            return ["got through (defence off)", "insecure"]
        return [f"stopped by {spec.defence}", "ok"]
    errors = [e.error for e in events if e.error]
    if failed and errors:
        return [errors[-1], "failed"]
    return ["complete", "ok"] if done else ["in progress", "progress"]


def flow_view(
    flow_id: str, events: Sequence[FlowEvent], joined: Sequence[Mapping[str, str]] = ()
) -> dict[str, Any]:
    kind = flow_kind(events)
    spec = CATALOG.get(kind)
    attack = next((e.data for e in events if e.name == "attack.started"), None)
    off = bool(attack and attack.get("insecure"))
    variant = "off" if off else "on"
    steps = [s for s in spec.steps if s.when in ("", variant)] if spec else []
    slots, extras = assign(steps, causal_order(events))
    done = complete(spec, events) if spec else bool(events)
    failed = settle(slots, done)
    client_only = bool(events) and all(e.data.get("seen_by") == "client" for e in events)
    if client_only:  # only the server could tell a step was skipped
        for slot in slots:
            slot.status = "unobserved" if slot.status == "skipped" else slot.status
    if spec is not None and spec.defence and done:  # the outcome is the last step drawn
        slots = [s for s in slots if s.reached or s.status == "skipped"]
    first = min(events, key=lambda e: e.seq) if events else None
    lanes = spec.lanes if spec else FIVE_LANES
    return {
        "flow_id": flow_id,
        "kind": kind,
        "title": spec.title if spec else (first.summary or first.name) if first else "Flow",
        "summary": spec.summary if spec else "",
        "lanes": [[lane, LANE_LABELS[lane]] for lane in lanes],
        "started": first.time if first else None,
        "last_seq": max((e.seq for e in events), default=0),
        "client_id": next(
            (e.data["client_id"] for e in events if isinstance(e.data.get("client_id"), str)),
            None,
        ),
        "user": flow_user(events),
        "deprecated": next((e.deprecated for e in events if e.deprecated), None),
        "attack": dict(attack) if attack else None,
        "insecure": any(e.data.get("insecure") for e in events),
        "errors": [e.error for e in events if not e.ok and e.error],
        "complete": done,
        "failed": failed,
        "badge": _badge(spec, events, done, failed),
        "joined": [dict(j) for j in joined],
        "steps": [
            _slot_view(i, s, off, CLIENT_NOTES if client_only else NOTES)
            for i, s in enumerate(slots, 1)
        ],
        "extras": [_single(e) for e in extras if e.name not in META],
    }
