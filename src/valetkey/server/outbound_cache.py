"""HTTP caching for outbound fetches (RFC 9111), bounded, keyed by URL, time passed in.

Freshness comes from ``Cache-Control: max-age``, else ``Expires`` (against ``Date``), less
``Age``, else a default, and is clamped between a floor (an attacker-controlled document cannot
make the server refetch it more often) and a ceiling. ``no-store`` responses are not kept;
``no-cache`` ones are kept and revalidated on every use. Only valid documents are stored
(CIMD draft-01 §4.4: never errors). Concurrent fetches of one URL share a single request.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar, cast

T = TypeVar("T")

CACHE_HEADERS = ("cache-control", "expires", "date", "age")


@dataclass(frozen=True)
class Freshness:
    """Bounds on how long a fetched document is used without asking again (seconds)."""

    floor: float = 60.0
    ceiling: float = 86_400.0
    default: float = 300.0


def directives(cache_control: str) -> dict[str, str]:
    """``Cache-Control`` as ``{name: argument}``; names lower-cased, the first occurrence wins."""
    found: dict[str, str] = {}
    for part in cache_control.split(","):
        name, _, argument = part.partition("=")
        name = name.strip().lower()
        if name:
            found.setdefault(name, argument.strip().strip('"'))
    return found


def lifetime(headers: Mapping[str, str], now: float, bounds: Freshness) -> float | None:
    """Seconds a response stays fresh, or None when it must not be stored (RFC 9111 §4.2.1).
    ``headers`` are keyed in lower case."""
    given = directives(headers.get("cache-control", ""))
    if "no-store" in given:  # RFC 9111 §5.2.2.5
        return None
    if "no-cache" in given:  # RFC 9111 §5.2.2.4: revalidate before every use
        return 0.0
    if "max-age" in given:  # RFC 9111 §5.2.2.1
        seconds = _delta_seconds(given["max-age"])
    elif "expires" in headers:  # RFC 9111 §5.3: an invalid date means already expired
        expires = _http_date(headers["expires"])
        date = _http_date(headers.get("date", "")) or now
        seconds = 0.0 if expires is None else expires - date
    else:
        return min(bounds.ceiling, max(bounds.floor, bounds.default))
    seconds -= _delta_seconds(headers.get("age", "0"))  # RFC 9111 §4.2.3: time already spent
    return min(bounds.ceiling, max(bounds.floor, seconds))


def _delta_seconds(text: str) -> float:
    return float(text) if text.isdigit() else 0.0


def _http_date(text: str) -> float | None:
    try:
        return parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


@dataclass(frozen=True)
class CachedResponse:
    body: bytes
    etag: str | None
    headers: Mapping[str, str]  # the CACHE_HEADERS of the response, for a 304 to update
    fresh_until: float
    address: str


class FetchCache:
    """Documents by URL, least recently used dropped first; and the fetches in flight, so that
    concurrent requests for one URL wait for a single fetch. One per server (one event loop)."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, CachedResponse] = OrderedDict()
        self._inflight: dict[str, asyncio.Task[Any]] = {}

    @property
    def size(self) -> int:
        return len(self._entries)

    def get(self, url: str) -> CachedResponse | None:
        entry = self._entries.get(url)
        if entry is not None:
            self._entries.move_to_end(url)
        return entry

    def put(self, url: str, entry: CachedResponse) -> None:
        self._entries[url] = entry
        self._entries.move_to_end(url)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop(self, url: str) -> None:
        self._entries.pop(url, None)

    async def single_flight(self, url: str, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``work`` unless a fetch of ``url`` is in flight; either way await its result.
        A caller that gives up (cancelled) does not cancel the fetch the others wait for."""
        task = self._inflight.get(url)
        if task is None:
            task = asyncio.ensure_future(work())
            self._inflight[url] = task
            task.add_done_callback(lambda done: self._landed(url, done))
        return cast(T, await asyncio.shield(task))

    def _landed(self, url: str, task: asyncio.Task[Any]) -> None:
        if self._inflight.get(url) is task:
            del self._inflight[url]
        if not task.cancelled():
            task.exception()  # retrieved, even when every waiter has gone
