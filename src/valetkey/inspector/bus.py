"""The event bus: groups a sink's events by flow and pushes each change to live subscribers."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from typing import Any, Protocol

from valetkey.core.events import FlowEvent
from valetkey.inspector.flows import flow_view
from valetkey.inspector.joins import Joiner, as_joined

CLOSE = None


class Subscribable(Protocol):
    def subscribe(self, listener: Any) -> None: ...


class EventBus:
    """Thread-safe: events may be emitted from any thread; subscribers read on their own loop."""

    def __init__(self, max_flows: int = 500) -> None:
        self._flows: OrderedDict[str, list[FlowEvent]] = OrderedDict()
        self._alias: dict[str, str] = {}  # a joined flow's id -> the flow it joined
        self._joined: dict[str, list[dict[str, str]]] = {}
        self._joiner = Joiner()
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
            flow_id = self._place(event)
            self._flows.move_to_end(flow_id)
            while len(self._flows) > self._max_flows:
                gone, _ = self._flows.popitem(last=False)
                self._joined.pop(gone, None)
                self._alias = {k: v for k, v in self._alias.items() if v != gone}
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            if not loop.is_closed():
                loop.call_soon_threadsafe(queue.put_nowait, flow_id)

    def _place(self, event: FlowEvent) -> str:
        """Add the event to its flow, or to the flow its own flow joins (see joins.py)."""
        flow_id = self._alias.get(event.flow_id, event.flow_id)
        own = self._flows.get(flow_id, [])
        found = self._joiner.target(event, own) if flow_id == event.flow_id else None
        if found is not None and found[0] in self._flows and found[0] != flow_id:
            target, how = found
            self._flows[target].extend(self._flows.pop(flow_id, []))
            self._alias[flow_id] = target
            self._joined.setdefault(target, []).append({"flow_id": flow_id, "how": how})
            event, flow_id = as_joined(event, how), target
        elif self._joiner.inside_call(flow_id, event):
            event = as_joined(event, "as the resource server's own call while it answered")
        self._flows.setdefault(flow_id, []).append(event)
        self._joiner.learn(flow_id, event, self._flows[flow_id])
        return flow_id

    def flow(self, flow_id: str) -> dict[str, Any] | None:
        with self._lock:
            flow_id = self._alias.get(flow_id, flow_id)
            events = list(self._flows.get(flow_id, ()))
            joined = list(self._joined.get(flow_id, ()))
        return flow_view(flow_id, events, joined) if events else None

    def events(self, flow_id: str) -> list[FlowEvent]:
        """The events of a flow (or of the flow it joined), for an export."""
        with self._lock:
            return list(self._flows.get(self._alias.get(flow_id, flow_id), ()))

    def flows(self) -> list[dict[str, Any]]:
        with self._lock:
            items = [
                (fid, list(evs), list(self._joined.get(fid, ())))
                for fid, evs in self._flows.items()
            ]
        return [flow_view(fid, evs, joined) for fid, evs, joined in items]

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
