"""Routes, declared once: path, endpoint, methods, and two marks the runtime acts on.

- ``hot``: the methods answered on the fast path (``valetkey serve`` answers them in the HTTP
  parser's callbacks, without an ASGI task, and commits their rows together; under any other ASGI
  server, past Starlette's router). A hot endpoint must finish without waiting when it can: it is
  run in place, and only continued on a task if it does wait.
- ``page``: a browser page. Its failures answer with an HTML error page; any other route is a
  protocol endpoint and answers failures with a JSON error.
- ``cors``: called from browser apps on other origins (``core.cors``): ``"public"``, any origin may
  read the answers; ``"clients"``, only the origins of registered clients. The runtime answers the
  ``OPTIONS`` preflight and adds the headers to every answer, failures included.

An endpoint takes a Starlette ``Request`` and returns a ``Response``; the rows that must be durable
before the response is sent travel with it (the app reads them with the ``rows_of`` it was given)
and the runtime writes them: at once on the ASGI path, with the other answers of the event-loop
step on the fast path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core.cors import Access

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Route:
    path: str
    endpoint: Endpoint
    methods: tuple[str, ...] = ("GET",)
    hot: tuple[str, ...] = ()
    page: bool = False
    cors: Access | None = None

    def __post_init__(self) -> None:
        assert set(self.hot) <= set(self.methods), f"{self.path}: a hot method must be served"


class Table:
    """The routes by (method, path) for the fast path, and by path for answering failures."""

    def __init__(self, routes: Sequence[Route], page_prefixes: Sequence[str] = ()) -> None:
        self.routes = tuple(routes)
        self.hot = {(m, r.path): r for r in self.routes for m in r.hot}
        self.by_path = {r.path: r for r in self.routes}
        self.page_prefixes = tuple(page_prefixes)  # mounted apps that serve browsers (static files)
        assert len(self.by_path) == len(self.routes), "each path is declared once"

    def label(self, path: str) -> str:
        """The route a path is counted under (metrics): a declared path, a mount, or ``other``."""
        if path in self.by_path:
            return path
        for prefix in self.page_prefixes:
            if path.startswith(prefix):
                return prefix.rstrip("/")
        return "other"

    def is_page(self, path: str) -> bool:
        route = self.by_path.get(path)
        if route is not None:
            return route.page
        return path.startswith(self.page_prefixes) if self.page_prefixes else False
