"""Lay a live flow's events onto its canonical steps (pure: events in, steps out).

Each event becomes the step it is (a step's ``events``), is nested inside one (its ``subs``), or
is drawn after the canonical steps as an extra. Steps are never renumbered: a step the flow passed
by is ``skipped`` (sign-in or consent remembered) or ``unobserved`` (no component reported it, e.g.
a CLI's own steps); steps still ahead are ``pending``, or once the flow is complete ``unused``
(calls not made yet) or ``not_reached`` (the flow failed before them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from valetkey.core.events import FlowEvent
from valetkey.inspector.spec import FlowSpec, Step, matches

# Effects the server emits while it handles a request, before the request's own event: drawn
# after their cause (the first later event of one of these names).
EFFECT_OF: dict[str, tuple[str, ...]] = {
    "refresh_token.rotated": ("token.issued", "token.rejected"),
    "grant.revoked": ("token.rejected",),
    "jwks.fetched": ("resource_request.authenticated", "resource_request.rejected"),
    "jwks.fetch_failed": ("resource_request.authenticated", "resource_request.rejected"),
    "token.introspected": ("resource_request.authenticated", "resource_request.rejected"),
}
# Events that describe the flow rather than a step of it (shown in the flow's heading).
META = frozenset({"attack.started"})


def causal_order(events: Sequence[FlowEvent]) -> list[FlowEvent]:
    """Arrival order, except that an effect waits for the request event that caused it."""
    ordered: list[FlowEvent] = []
    held: list[FlowEvent] = []
    for e in sorted(events, key=lambda e: e.seq):
        if e.name in EFFECT_OF:
            held.append(e)
            continue
        ordered.append(e)
        released = [h for h in held if e.name in EFFECT_OF[h.name]]
        if released:
            ordered.extend(released)
            held = [h for h in held if h not in released]
    return ordered + held  # an effect whose cause never came keeps its place at the end


def _fits(patterns: tuple[str, ...], e: FlowEvent) -> bool:
    return any(matches(p, e.name, e.source, e.data) for p in patterns)


@dataclass
class Slot:
    step: Step
    event: FlowEvent | None = None
    part: str = "event"  # "request" when a later step answers it; "response" for that answer
    subs: list[FlowEvent] = field(default_factory=list)
    status: str = "pending"

    @property
    def reached(self) -> bool:
        return self.event is not None or bool(self.subs)


def assign(
    steps: Sequence[Step], events: Sequence[FlowEvent]
) -> tuple[list[Slot], list[FlowEvent]]:
    """Each event to a step (the next one it fits, never going back) or to a step's sub-steps;
    what fits nowhere comes back as extras, in order."""
    slots = [Slot(s) for s in steps]
    extras: list[FlowEvent] = []
    cur = 0
    for e in events:
        j = next(
            (i for i in range(cur, len(slots)) if not slots[i].event and _fits(steps[i].events, e)),
            None,
        )
        if j is not None:
            slots[j].event, cur = e, j + 1
            continue
        # Inside the step just done, or one ahead, else the nearest one behind.
        order = [*range(max(cur - 1, 0), len(slots)), *range(cur - 2, -1, -1)]
        j = next((i for i in order if _fits(steps[i].subs, e)), None)
        if j is not None:
            slots[j].subs.append(e)
        elif e.name not in META:
            extras.append(e)
    for i, slot in enumerate(slots):
        back = i - slot.step.answers
        asked = slots[back].event if slot.step.answers and back >= 0 else None
        # A local event (the device giving up before a poll) sent nothing to be answered.
        if slot.event is None and asked is not None and asked.channel != "local":
            slot.event, slot.part = asked, "response"
            if slots[back].part == "event":
                slots[back].part = "request"
    return slots, extras


def _ok(slot: Slot) -> bool:
    return slot.event is None or slot.part == "request" or slot.event.ok


def complete(spec: FlowSpec, events: Sequence[FlowEvent]) -> bool:
    """The server (or an attack's outcome) says the flow is over, whoever started it."""
    return any(_fits(spec.complete_on, e) for e in events)


def settle(slots: list[Slot], done: bool) -> bool:
    """Give every slot its status; returns whether the flow failed."""
    last = max((i for i, s in enumerate(slots) if s.reached), default=-1)
    failed = any(not _ok(s) for s in slots[: last + 1]) or (
        last >= 0 and not slots[last].event and any(not e.ok for e in slots[last].subs)
    )
    for i, s in enumerate(slots):
        if s.event is not None:
            s.status = "done" if _ok(s) else "failed"
        elif s.subs:
            stuck = i == last and any(not e.ok for e in s.subs)
            s.status = "failed" if stuck else "done" if i < last else "active"
        elif i < last:
            s.status = "skipped" if s.step.skippable else "unobserved"
        elif not done:
            s.status = "pending"
        elif failed:
            s.status = "not_reached"
        else:
            s.status = "unused" if s.step.optional else "unobserved"
    return failed
