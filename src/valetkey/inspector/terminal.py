"""A flow's view (``flows.flow_view``) drawn in a terminal: the canonical steps in their order,
each with its lanes, its status, what was seen of it (HTTP exchange, summary) and every check with
pass/fail/skip and its spec section. The same view the page draws; nothing here lays out steps or
redacts: the view's values are already redacted where the events were built."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.text import Text

from valetkey.inspector.spec import LANE_LABELS

MARKS = {
    "done": ("✓", "green"),
    "failed": ("✗", "bold red"),
    "skipped": ("↷", "dim"),
    "unobserved": ("·", "dim"),
    "pending": ("…", "dim"),
    "active": ("…", "yellow"),
    "unused": ("·", "dim"),
    "not_reached": ("·", "dim"),
}
CHECKS = {"pass": ("✓", "green"), "fail": ("✗", "bold red"), "skip": ("↷", "yellow")}
BODY = 300  # characters of a response body shown
PLAIN_HEADERS = frozenset({"accept", "content-type"})  # not worth a line each


def _lane(name: str) -> str:
    return LANE_LABELS.get(name, name)


def _http(http: Mapping[str, Any], part: str) -> list[str]:
    lines = []
    if part in ("event", "request"):
        lines.append(f"[cyan]→ {escape(http['method'])} {escape(http['url'])}[/]")
        for name, value in (http.get("request_headers") or {}).items():
            if name.lower() not in PLAIN_HEADERS:
                lines.append(f"[cyan]  {escape(name)}: {escape(str(value))}[/]")
        form = http.get("request_body") or {}
        if form:
            fields = "&".join(f"{k}={v}" for k, v in form.items())
            lines.append(f"[cyan]  {escape(fields)}[/]")
    if part in ("event", "response") and http.get("status") is not None:
        body = http.get("response_body")
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        text = "" if body is None else text
        more = "…" if len(text) > BODY else ""
        lines.append(f"[magenta]← {http['status']} {escape(text[:BODY])}{more}[/]")
    return lines


def _checks(checks: list[Mapping[str, Any]]) -> list[str]:
    out = []
    for c in checks:
        mark, style = CHECKS.get(c["outcome"], ("?", ""))
        detail = f": {c['detail']}" if c.get("detail") else ""
        out.append(
            f"[{style}]{mark} {escape(c['rule'])}[/] [dim]({escape(c['spec'])})[/]{escape(detail)}"
        )
    return out


def _step(step: Mapping[str, Any]) -> list[str]:
    mark, style = MARKS.get(step["status"], ("?", ""))
    arrow = f"{_lane(step['source'])} → {_lane(step['target'])}, {step['channel']}"
    number = f"{step['number']}. " if "number" in step else ""
    lines = [
        f"[{style}]{mark} {number}{escape(step['title'])}[/] "
        f"[dim]({escape(arrow)}): {step['status']}[/]"
    ]
    event = step.get("event")
    if event is None:
        note = step.get("note", "")
        return lines + ([f"   [dim]{escape(note)}[/]"] if note else [])
    part = step.get("part", "event")
    if part != "request" and event.get("summary"):
        error = f" [red]({escape(event['error'])})[/]" if event.get("error") else ""
        lines.append(f"   {escape(event['summary'])}{error}")
    if event.get("http"):
        lines += ["   " + line for line in _http(event["http"], part)]
    if part != "request":
        lines += ["   " + line for line in _checks(event.get("checks") or [])]
    for sub in step.get("subs") or []:
        lines += ["   " + line for line in _step(sub)]
    return lines


def _tally(view: Mapping[str, Any]) -> str:
    seen: dict[str, int] = {"pass": 0, "fail": 0, "skip": 0}
    for step in [*view["steps"], *view["extras"]]:
        for s in [step, *(step.get("subs") or [])]:
            event = s.get("event")
            if event is not None and s.get("part") != "request":
                for c in event.get("checks") or []:
                    seen[c["outcome"]] = seen.get(c["outcome"], 0) + 1
    return f"checks: {seen['pass']} passed, {seen['fail']} failed, {seen['skip']} skipped"


def render(view: Mapping[str, Any]) -> RenderableType:
    """The flow, step by step, then what fell outside the canonical steps, then a tally."""
    label, kind = view["badge"]
    style = {"ok": "green", "failed": "bold red"}.get(kind, "yellow")
    lines = [
        f"[bold]{escape(view['title'])}[/]  [{style}]{escape(label)}[/]  [dim]flow "
        f"{escape(view['flow_id'])}[/]"
    ]
    for step in view["steps"]:
        lines += _step(step)
    if view["extras"]:
        lines.append("[bold]Also seen[/] [dim](outside the canonical steps)[/]")
        for extra in view["extras"]:
            lines += _step(extra)
    lines.append(f"[dim]{_tally(view)}[/]")
    return Group(*(Text.from_markup(line) for line in lines))
