"""Prometheus metrics (``prometheus-client``), off unless a setting asks for them.

What is counted, and where (docs/operations.md lists the names):

- every answered request, by route, method and status, and its latency by route: by the runtime,
  on both paths (``Runtime`` for the ASGI path, ``LeanProtocol`` for the fast path);
- tokens issued by grant type, refusals by event and rule, throttle events by name: from the flow
  events, through the ``Emitter``'s tap (``core.events``), so the events stay the one home of what
  happened and nothing is counted twice;
- requests answered 503 because the storage was unavailable: by the runtime, where it answers them.

Under ``valetkey serve --workers N`` the workers write their samples to files in a directory the
server creates (prometheus-client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``), and every
exposition adds up all the workers. Without that variable the samples live in this process.

Label values are bounded: route labels are the declared paths (anything else is ``other``), and any
other label takes at most ``MAX_VALUES`` distinct values, after which it reads ``other``.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core.events import Check

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
MAX_VALUES = 200
METHODS = frozenset({"GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"})
# Seconds: the fast path answers in well under a millisecond, a sign-in's password hash in tens.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def exposition_registry() -> CollectorRegistry:
    """The registry to expose: this process's samples, or every worker's in multiprocess mode."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        own = CollectorRegistry()
        if not multiprocess:  # the process's CPU, memory and file descriptors, as usual
            from prometheus_client import ProcessCollector

            ProcessCollector(registry=own)
        at = None if multiprocess else own  # multiprocess: samples go to files, not a registry
        self.registry = exposition_registry() if multiprocess else own
        self.requests = Counter(
            "valetkey_http_requests",
            "Requests answered, by route, method and status",
            ["route", "method", "status"],
            registry=at,
        )
        self.latency = Histogram(
            "valetkey_http_request_duration_seconds",
            "Time from a complete request to its answer, by route",
            ["route"],
            buckets=BUCKETS,
            registry=at,
        )
        self.tokens = Counter(
            "valetkey_tokens_issued", "Tokens issued, by grant type", ["grant_type"], registry=at
        )
        self.refusals = Counter(
            "valetkey_refusals",
            "Refused requests, by the event reporting them and the rule that refused",
            ["event", "rule"],
            registry=at,
        )
        self.throttles = Counter(
            "valetkey_throttle_events", "Throttle events, by event name", ["event"], registry=at
        )
        self.storage = Counter(
            "valetkey_storage_unavailable",
            "Requests answered 503 because the database was unavailable",
            registry=at,
        )
        # Label values -> their samples, looked up once (prometheus-client's lookup takes a lock).
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._grants: dict[Any, Any] = {}
        self._seen: set[str] = set()

    # -- what the runtime reports -----------------------------------------------------------------
    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        child = self._children.get(key)
        if child is None:
            shown = method if method in METHODS else "other"
            child = self._children[key] = (
                self.requests.labels(route, shown, str(status)),
                self.latency.labels(route),
            )
        child[0].inc()
        child[1].observe(seconds)

    def storage_unavailable(self) -> None:
        self.storage.inc()

    # -- what the events report (the Emitter's tap) -----------------------------------------------
    def event(
        self, name: str, data: Mapping[str, Any], error: str | None, checks: tuple[Check, ...]
    ) -> None:
        if name == "token.issued":
            grant = data.get("grant_type")
            counter = self._grants.get(grant)
            if counter is None:
                label = self._bounded(str(grant or "unknown"))
                counter = self._grants[grant] = self.tokens.labels(label)
            counter.inc()
        elif error is not None:
            rule = data.get("rule") or next((c.rule for c in checks if c.outcome == "fail"), "")
            self.refusals.labels(self._bounded(name), self._bounded(str(rule or "none"))).inc()
        if name.startswith("throttle."):
            self.throttles.labels(self._bounded(name)).inc()

    def _bounded(self, value: str) -> str:
        value = value[:80]
        if value in self._seen:
            return value
        if len(self._seen) >= MAX_VALUES:
            return "other"
        self._seen.add(value)
        return value

    # -- the exposition -----------------------------------------------------------------------------
    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def endpoint(self, token: str | None, refused: Callable[[str], None]) -> Any:
        """The metrics endpoint on the server's own port; with ``token``, only for a request that
        presents it as a bearer credential (else 401, and ``refused`` reports why)."""
        expected = f"Bearer {token}".encode() if token else None

        async def metrics_endpoint(request: Request) -> Response:
            if expected is not None:
                given = request.headers.get("authorization", "").encode("utf-8", "replace")
                if not hmac.compare_digest(given, expected):
                    refused("no bearer token" if not given else "not the configured bearer token")
                    return Response(
                        '{"error":"invalid_token","error_description":"the metrics endpoint '
                        'needs the bearer token configured as metrics_token"}',
                        401,
                        {"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
                        media_type="application/json",
                    )
            body, content_type = self.exposition()
            return Response(body, headers={"Cache-Control": "no-store"}, media_type=content_type)

        return metrics_endpoint
