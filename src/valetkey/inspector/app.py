"""The inspector's ASGI app: the page, the flows as JSON, and a Server-Sent Events stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from valetkey.inspector.bus import CLOSE, EventBus
from valetkey.inspector.catalog import catalog_json

HERE = Path(__file__).parent
KEEPALIVE_SECONDS = 15.0
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_inspector_app(
    bus: EventBus, links: Mapping[str, str] | None = None, insecure: bool = False
) -> Starlette:
    """``links`` names the other demo origins the page points to (client app, attacks, server)."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))

    async def index(request: Request) -> Response:
        return templates.TemplateResponse(
            request,
            "index.html",
            {"links": dict(links or {}), "insecure": insecure},
            headers=HEADERS,
        )

    catalog = catalog_json()

    async def canonical(request: Request) -> Response:
        return JSONResponse({"flows": catalog}, headers=HEADERS)

    async def flows(request: Request) -> Response:
        return JSONResponse({"flows": bus.flows()}, headers=HEADERS)

    async def one_flow(request: Request) -> Response:
        view = bus.flow(request.path_params["flow_id"])
        if view is None:
            return JSONResponse(
                {"error": "not_found", "error_description": "no flow with this id"},
                status_code=404,
                headers=HEADERS,
            )
        return JSONResponse(view, headers=HEADERS)

    async def events(request: Request) -> Response:
        queue = bus.subscribe()
        return StreamingResponse(
            _stream(bus, queue, request),
            media_type="text/event-stream",
            headers={**HEADERS, "X-Accel-Buffering": "no"},
        )

    routes = [
        Route("/", index),
        Route("/api/catalog", canonical),
        Route("/api/flows", flows),
        Route("/api/flows/{flow_id}", one_flow),
        Route("/events", events),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(routes=routes)


async def _stream(
    bus: EventBus, queue: asyncio.Queue[str | None], request: Request
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
                if view is not None:
                    yield f"event: flow\ndata: {json.dumps(view, separators=(',', ':'))}\n\n"
    finally:
        bus.unsubscribe(queue)
