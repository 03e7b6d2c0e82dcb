"""The inspector's ASGI app: the page, the flows as JSON, and a Server-Sent Events stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from valetkey import __version__
from valetkey.inspector.bus import CLOSE, EventBus
from valetkey.inspector.catalog import catalog_json
from valetkey.inspector.export import FORMS, export_text

# The page's download links (the CLI's --inspect-export also writes json): media types.
PAGE_EXPORTS = {"mermaid": "text/vnd.mermaid", "har": "application/json"}

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Filter:
    """``?client_id=...&user=...`` on the flows and the stream: only the flows of that client
    and/or of that user (the flow summary's ``user``: whom its events acted for, signed in during
    the flow or remembered, refreshing or polling for their grant, asking UserInfo)."""

    client_id: str | None = None
    user: str | None = None

    @classmethod
    def of(cls, request: Request) -> Filter:
        q = request.query_params
        return cls(q.get("client_id") or None, q.get("user") or None)

    def keeps(self, view: Mapping[str, Any]) -> bool:
        return (self.client_id is None or view.get("client_id") == self.client_id) and (
            self.user is None or view.get("user") == self.user
        )


KEEPALIVE_SECONDS = 15.0
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_inspector_app(
    bus: EventBus,
    links: Mapping[str, str] | None = None,
    insecure: bool = False,
) -> ASGIApp:
    """``links`` names the other demo origins the page points to (client app, attacks, server).
    On a real server, ``guard.CredentialGuard`` wraps it."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))

    async def index(request: Request) -> Response:
        return templates.TemplateResponse(
            request,
            "index.html",
            {"links": dict(links or {}), "insecure": insecure, "only": Filter.of(request)},
            headers=HEADERS,
        )

    catalog = catalog_json()

    async def canonical(request: Request) -> Response:
        return JSONResponse({"flows": catalog}, headers=HEADERS)

    async def flows(request: Request) -> Response:
        wanted = Filter.of(request)
        return JSONResponse({"flows": [v for v in bus.flows() if wanted.keeps(v)]}, headers=HEADERS)

    async def one_flow(request: Request) -> Response:
        view = bus.flow(request.path_params["flow_id"])
        if view is None:
            return _not_found("no flow with this id")
        return JSONResponse(view, headers=HEADERS)

    async def exported(request: Request) -> Response:
        flow_id, form = request.path_params["flow_id"], request.path_params["form"]
        view, events = bus.flow(flow_id), bus.events(flow_id)
        if view is None or form not in PAGE_EXPORTS:
            return _not_found("no flow with this id" if view is None else "exports: mermaid, har")
        filename = f"valetkey-flow-{view['flow_id']}{FORMS[form]}"
        return Response(
            export_text(form, view, events, __version__),
            media_type=PAGE_EXPORTS[form],
            headers={**HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'},
        )

    async def events(request: Request) -> Response:
        queue = bus.subscribe()
        return StreamingResponse(
            _stream(bus, queue, request, Filter.of(request)),
            media_type="text/event-stream",
            headers={**HEADERS, "X-Accel-Buffering": "no"},
        )

    routes = [
        Route("/", index),
        Route("/api/catalog", canonical),
        Route("/api/flows", flows),
        Route("/api/flows/{flow_id}", one_flow),
        Route("/api/flows/{flow_id}/{form}", exported),
        Route("/events", events),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes)

    async def own_urls(scope: Scope, receive: Receive, send: Send) -> None:
        """Mounted in another app (``serve --inspector``), the page's ``url_for`` must name this
        app's routes, not the outer app's (which has its own ``static``)."""
        inner = {k: v for k, v in scope.items() if k != "router"}
        inner["app_root_path"] = scope.get("root_path", "")
        await app(inner, receive, send)

    return own_urls


def _not_found(description: str) -> Response:
    return JSONResponse(
        {"error": "not_found", "error_description": description}, status_code=404, headers=HEADERS
    )


async def _stream(
    bus: EventBus, queue: asyncio.Queue[str | None], request: Request, wanted: Filter
) -> AsyncIterator[str]:
    """One ``flow`` message per changed flow; a burst of events for one flow is sent once."""
    try:
        yield "retry: 1000\n\n"
        while not bus.closed:
            try:
                first = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keepalive\n\n"
                continue
            changed = [first]
            while not queue.empty():
                changed.append(queue.get_nowait())
            if CLOSE in changed:
                return
            for flow_id in dict.fromkeys(changed):
                view = bus.flow(flow_id) if flow_id else None
                if view is not None and wanted.keeps(view):
                    yield f"event: flow\ndata: {json.dumps(view, separators=(',', ':'))}\n\n"
    finally:
        bus.unsubscribe(queue)
