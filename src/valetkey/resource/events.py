"""Flow events the resource server emits (client -> resource_server on the back channel)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from valetkey.core.clock import Clock
from valetkey.core.events import Actor, Check, EventSink, FlowEvent, HttpExchange


def emit(
    sink: EventSink,
    clock: Clock,
    name: str,
    flow_id: str,
    summary: str,
    *,
    source: Actor = "client",
    target: Actor = "resource_server",
    checks: tuple[Check, ...] = (),
    http: HttpExchange | None = None,
    data: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> None:
    sink.emit(
        FlowEvent(
            name=name,
            flow_id=flow_id,
            channel="back",
            source=source,
            target=target,
            time=clock.now(),
            summary=summary,
            checks=checks,
            http=http,
            data=dict(data or {}),
            error=error,
        )
    )
