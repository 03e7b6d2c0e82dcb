"""The event bus: groups a sink's events by flow and pushes each change to live subscribers."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from typing import Any, Protocol

from valetkey.core.events import FlowEvent
from valetkey.inspector.flows import flow_view

CLOSE = None


class Subscribable(Protocol):
    def subscribe(self, listener: Any) -> None: ...


class EventBus:
    """Thread-safe: events may be emitted from any thread; subscribers read on their own loop."""

    def __init__(self, max_flows: int = 500) -> None:
        self._flows: OrderedDict[str, list[FlowEvent]] = OrderedDict()
        self._lock = threading.Lock()
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str | None]]] = []
        self._max_flows = max_flows
        self.closed = False

    def attach(self, sink: Subscribable, existing: list[FlowEvent] | None = None) -> None:
        for event in existing or ():
            self.publish(event)
        sink.subscribe(self.publish)

    def publish(self, event: FlowEvent) -> None:
        with self._lock:
            self._flows.setdefault(event.flow_id, []).append(event)
            self._flows.move_to_end(event.flow_id)
            while len(self._flows) > self._max_flows:
                self._flows.popitem(last=False)
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            if not loop.is_closed():
                loop.call_soon_threadsafe(queue.put_nowait, event.flow_id)

    def flow(self, flow_id: str) -> dict[str, Any] | None:
        with self._lock:
            events = list(self._flows.get(flow_id, ()))
        return flow_view(flow_id, events) if events else None

    def flows(self) -> list[dict[str, Any]]:
        with self._lock:
            items = [(fid, list(evs)) for fid, evs in self._flows.items()]
        return [flow_view(fid, evs) for fid, evs in items]

    def subscribe(self) -> asyncio.Queue[str | None]:
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        with self._lock:
            self._subscribers.append((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str | None]) -> None:
        with self._lock:
            self._subscribers = [(lp, q) for lp, q in self._subscribers if q is not queue]

    def close(self) -> None:
        """End every live stream (server shutdown)."""
        self.closed = True
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            if not loop.is_closed():
                loop.call_soon_threadsafe(queue.put_nowait, CLOSE)
