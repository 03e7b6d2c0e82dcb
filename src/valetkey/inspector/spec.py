"""The shape of a canonical flow: its lanes, its steps with their explanations, its sections.

Learn mode draws a :class:`FlowSpec` as it is; live mode lays a real flow's events onto the same
steps (``mapping.py``). The flows themselves are data in the ``catalog_*`` modules.

An event pattern is an event name, optionally with one condition on the event's data or actors:
``"token.rejected?grant_type=refresh_token"``, ``"userinfo.returned?source=resource_server"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from valetkey.core.events import Channel

LANE_LABELS: dict[str, str] = {
    "attacker": "Attacker",
    "user": "User",
    "browser": "Browser",
    "client": "Client App",
    "authorization_server": "Authorization Server",
    "resource_server": "Resource Server",
}
FIVE_LANES = ("user", "browser", "client", "authorization_server", "resource_server")
ATTACK_LANES = ("attacker", *FIVE_LANES)

Block = tuple[str, tuple[str, ...]]  # ("p" | "ul" | "ol", texts); `code` and [text](learn:id)


def p(text: str) -> Block:
    return ("p", (text,))


def ul(*items: str) -> Block:
    return ("ul", items)


def ol(*items: str) -> Block:
    return ("ol", items)


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Step:
    title: str
    source: str
    target: str
    channel: Channel
    explain: str
    events: tuple[str, ...] = ()  # patterns of the events that are this step (the first wins)
    subs: tuple[str, ...] = ()  # patterns of the events drawn nested inside it
    answers: int = 0  # with no event of its own: the answer to the request this many steps back
    skippable: str = ""  # why a flow may pass it by ("sign-in remembered")
    optional: bool = False  # a complete flow need not reach it (calls made with the token)
    roles: Mapping[str, str] = field(default_factory=dict)  # sub-step lanes redrawn (attacks)
    when: str = ""  # attacks: "on" or "off", the defence variant that has this step
    off_title: str = ""  # attacks: title and explanation when the defence is off
    off_explain: str = ""


@dataclass(frozen=True)
class FlowSpec:
    id: str
    title: str
    summary: str
    steps: tuple[Step, ...]
    sections: tuple[Section, ...] = ()
    lanes: tuple[str, ...] = FIVE_LANES
    complete_on: tuple[str, ...] = ()  # patterns: the server (or the outcome) ends the flow
    toggle: tuple[str, str, str] | None = None  # (label, spec id when on, spec id when off)
    related: tuple[tuple[str, str], ...] = ()  # (spec id, why to read it next)
    learn: bool = True  # offered in learn mode
    group: str = "Flows"
    defence: str = ""  # attacks: what stops it


def matches(pattern: str, name: str, source: str, data: Mapping[str, Any]) -> bool:
    base, _, condition = pattern.partition("?")
    if base != name:
        return False
    if not condition:
        return True
    key, _, value = condition.partition("=")
    found = source if key == "source" else data.get(key)
    return str(found) == value


def spec_json(spec: FlowSpec) -> dict[str, Any]:
    """What the page needs to draw a flow in learn mode (no matching patterns)."""
    return {
        "id": spec.id,
        "title": spec.title,
        "summary": spec.summary,
        "group": spec.group,
        "learn": spec.learn,
        "lanes": [[lane, LANE_LABELS[lane]] for lane in spec.lanes],
        "toggle": list(spec.toggle) if spec.toggle else None,
        "related": [list(r) for r in spec.related],
        "sections": [
            {"title": s.title, "blocks": [[kind, list(texts)] for kind, texts in s.blocks]}
            for s in spec.sections
        ],
        "steps": [
            {
                "number": i,
                "title": step.title,
                "source": step.source,
                "target": step.target,
                "channel": step.channel,
                "explain": step.explain,
                "skippable": step.skippable,
                "optional": step.optional,
            }
            for i, step in enumerate(spec.steps, 1)
        ],
    }
