"""The runtime's ASGI app: the declared routes on Starlette, hot ones past its router, each answer's
rows made durable before it is sent, every request bounded and every failure answered.

Under any ASGI server (and in-process tests) this is the whole runtime. Under ``valetkey serve``
the HTTP protocol (``runtime.lean``) answers hot routes itself and hands everything else here.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Protocol

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.routing import Route as StarletteRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from valetkey.core import cors
from valetkey.core.errors import StorageUnavailable, Unavailable
from valetkey.core.events import REQUEST_ID
from valetkey.core.text import public
from valetkey.runtime.answers import (
    UNEXPECTED,
    Failure,
    builtin_page,
    json_answer,
    refused,
    unavailable,
)
from valetkey.runtime.limits import (
    FORM,
    LIMITS,
    BodyCounter,
    Limits,
    Refused,
    check_head,
)
from valetkey.runtime.metrics import Metrics
from valetkey.runtime.requestids import HEADER, SCOPE_KEY, logged_id, request_id
from valetkey.runtime.routes import Endpoint, Route, Table

log = logging.getLogger("valetkey.runtime")

RowWriter = Callable[[Sequence[Any]], None]  # all the rows durable in one transaction, or none
RowsOf = Callable[[Response], Sequence[Any]]  # the rows an endpoint's response carries
PageRenderer = Callable[[Request, Failure], Response]  # a browser page's error page


# The Origin header (the first; None: none) as the HTTP protocol read it (``runtime.connection``),
# in the scope; a scope without it (any other ASGI server) has it read from its headers.
ORIGIN = "valetkey.origin"
_UNREAD = object()


class CorsOrigins(Protocol):
    """The app's side of CORS: the origins of its clients, and what a refusal becomes (an event)."""

    def policy(self) -> cors.OriginPolicy: ...

    def refused(self, request: Request, reason: str) -> None: ...


class Runtime:
    def __init__(
        self,
        routes: Sequence[Route],
        *,
        write_rows: RowWriter,
        rows_of: RowsOf,
        page: PageRenderer,
        state: Mapping[str, Any],
        mounts: Sequence[BaseRoute] = (),
        limits: Limits = LIMITS,
        origins: CorsOrigins | None = None,
        metrics: Metrics | None = None,
        request_ids: bool = False,
    ) -> None:
        self.metrics, self.request_ids = metrics, request_ids
        self.observing = metrics is not None or request_ids  # else no cost at all on any path
        prefixes = [m.path + "/" for m in mounts if isinstance(m, Mount)]
        self.table = Table(routes, prefixes)
        self.write_rows, self.rows_of, self.page, self.limits = write_rows, rows_of, page, limits
        self.origins = origins
        routed: list[BaseRoute] = [
            StarletteRoute(r.path, self._routed(r), methods=list(r.methods)) for r in routes
        ]
        self.on_shutdown: list[Callable[[], None]] = []  # run in a thread once serving ends
        self.app = Starlette(
            routes=[*routed, *mounts],
            exception_handlers={HTTPException: self._http_error, Exception: self._server_error},
            lifespan=self._lifespan,
        )
        for name, value in state.items():
            setattr(self.app.state, name, value)

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        yield
        for stop in self.on_shutdown:
            await anyio.to_thread.run_sync(stop)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.observing and scope["type"] == "http":
            await self._observed(scope, receive, send)
        else:
            await self._serve(scope, receive, send)

    async def _observed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The request counted and timed (metrics), and its id set and returned (request ids)."""
        started, status = time.perf_counter(), [500]
        rid = request_id(scope["headers"]) if self.request_ids else None

        async def observing(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                if rid is not None:
                    headers = [*message.get("headers", ()), (HEADER, rid.encode("ascii"))]
                    message = {**message, "headers": headers}
            await send(message)

        if rid is not None:
            scope[SCOPE_KEY] = rid
        token = REQUEST_ID.set(rid)
        try:
            await self._serve(scope, receive, observing)
        finally:
            REQUEST_ID.reset(token)
            if self.metrics is not None:
                label = self.table.label(scope["path"])
                self.metrics.request(
                    label, scope["method"], status[0], time.perf_counter() - started
                )

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope["app"] = self.app  # endpoints find their state at request.app.state
        refusal, form = self._check(scope)
        if refusal is not None:
            page = self.table.is_page(scope["path"])
            await self.failure(page, Request(scope), refused(refusal))(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            route = self.table.by_path.get(scope["path"])
            if route is not None and route.cors is not None:
                await self._preflight(route, Request(scope))(scope, receive, send)
                return
        receive = _counted(receive, BodyCounter(self.limits, form))
        route = self.table.hot.get((scope["method"], scope["path"]))
        if route is not None:
            response = await self.respond(route, Request(scope, receive, send))
            await self.guarded(response, scope, receive, send)
        else:
            await self.guarded(self.app, scope, receive, send)

    # -- the interface every path uses ------------------------------------------------------------
    async def answer(self, route: Route, request: Request) -> tuple[Response, Sequence[Any]]:
        """The endpoint's answer and the rows to write before it is sent; a failure's answer
        (with no rows) if the endpoint raises."""
        try:
            response = await route.endpoint(request)
        except Exception as exc:
            return self.failed(route.page, request, exc), ()
        if route.cors is not None:
            self._cors(route, request, response)
        return response, self.rows_of(response)

    def write(self, rows: Sequence[Any], page: bool, request: Request) -> Response | None:
        """Write one request's rows in their own transaction; on failure, the answer it gets."""
        try:
            self.write_rows(rows)
        except Exception as exc:
            return self.failed(page, request, exc)
        return None

    async def respond(self, route: Route, request: Request) -> Response:
        """The ASGI path: the answer, its rows written first."""
        response, rows = await self.answer(route, request)
        if rows:
            response = self.write(rows, route.page, request) or response
        return response

    def failed(self, page: bool, request: Request, exc: BaseException) -> Response:
        response = self._failed(page, request, exc)
        route = self.table.by_path.get(request.scope["path"])
        if route is not None and route.cors is not None:
            self._cors(route, request, response)
        return response

    def _failed(self, page: bool, request: Request, exc: BaseException) -> Response:
        scope = request.scope
        if isinstance(exc, Refused):
            return json_answer(refused(exc))
        if isinstance(exc, ClientDisconnect):  # nobody to answer; the answer is not sent
            return Response(status_code=400)
        if isinstance(exc, Unavailable):
            if self.metrics is not None and isinstance(exc, StorageUnavailable):
                self.metrics.storage_unavailable()
            log.warning(
                "unavailable (%s) on %s %s: %s",
                exc.rule,
                scope["method"],
                scope["path"],
                exc.detail,
                extra=logged_id(scope),
            )
            return self.failure(page, request, unavailable(exc))
        log.error(
            "unexpected error on %s %s",
            scope["method"],
            scope["path"],
            exc_info=exc,
            extra=logged_id(scope),
        )
        return self.failure(page, request, UNEXPECTED)

    def failure(self, page: bool, request: Request, failure: Failure) -> Response:
        if not page:
            return json_answer(failure)
        try:
            response = self.page(request, failure)
        except Exception:
            log.exception("the error page could not be rendered")
            return builtin_page(failure)
        for name, value in failure.headers:
            response.headers[name] = value
        return response

    # -- CORS (core.cors) ---------------------------------------------------------------------------
    def _policy(self) -> cors.OriginPolicy:
        """The app's origins; none while they cannot be read (the answer is then not readable
        from a browser, but it is still sent)."""
        if self.origins is None:
            return cors.OriginPolicy()
        try:
            return self.origins.policy()
        except Exception as exc:
            log.warning("the allowed origins could not be read (%r): no CORS headers", exc)
            return cors.OriginPolicy()

    def _cors(self, route: Route, request: Request, response: Response) -> None:
        assert route.cors is not None
        scope = request.scope
        origin = scope.get(ORIGIN, _UNREAD)
        if origin is _UNREAD:
            origin = _origin(scope["headers"])
        if origin is None:  # a server-side client: nothing to add (the usual case on /token)
            return
        decision = cors.answer_headers(route.cors, origin.decode("latin-1"), self._policy())
        for name, value in decision.headers:
            response.headers[name] = value
        if decision.refused and self.origins is not None:
            self.origins.refused(request, decision.refused)

    def _preflight(self, route: Route, request: Request) -> Response:
        """The answer to a CORS preflight: 204 with what may be sent, or 403 saying why not."""
        assert route.cors is not None
        headers = request.headers
        decision = cors.preflight_headers(
            route.cors,
            headers.get("origin"),
            headers.get("access-control-request-method"),
            route.methods,
            self._policy(),
        )
        if decision.refused is None:
            return Response(status_code=204, headers=dict(decision.headers))
        if self.origins is not None:
            self.origins.refused(request, decision.refused)
        failure = Failure(
            403, "invalid_request", public(decision.refused), "Request refused", decision.headers
        )
        return json_answer(failure)

    # -- the ASGI path's parts ----------------------------------------------------------------------
    def _routed(self, route: Route) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            return await self.respond(route, request)

        endpoint.__name__ = getattr(route.endpoint, "__name__", "endpoint")
        return endpoint

    def _check(self, scope: Scope) -> tuple[Refused | None, bool]:
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        length = ctype = None
        for name, value in headers:
            if name == b"content-length":
                length = value
            elif name == b"content-type":
                ctype = value
        query: bytes = scope.get("query_string", b"")
        target = len(scope.get("raw_path") or scope["path"].encode("utf-8")) + len(query)
        form = ctype is not None and ctype.lower().startswith(FORM)
        return check_head(self.limits, target, query, headers, length), form

    async def guarded(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Run ``app``; if it raises before it answered, answer for it. Once an answer is complete
        the connection goes on (Starlette's error middleware answers, then re-raises)."""
        sent = [False, False]  # response started, response complete

        async def tracking(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent[0] = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                sent[1] = True
            await send(message)

        try:
            await app(scope, receive, tracking)
        except Exception as exc:
            if sent[1]:
                return  # answered (and logged) already
            if sent[0]:
                raise  # half an answer: only closing the connection can end it
            page = self.table.is_page(scope["path"])
            await self.failed(page, Request(scope), exc)(scope, receive, send)

    async def _server_error(self, request: Request, exc: Exception) -> Response:
        return self.failed(self.table.is_page(request.url.path), request, exc)

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        """404 and 405 from the router: JSON on a protocol endpoint, as Starlette otherwise."""
        assert isinstance(exc, HTTPException)
        route = self.table.by_path.get(request.scope["path"])
        if route is not None and exc.status_code == 405:
            allowed = ", ".join(route.methods)
            failure = Failure(
                405,
                "invalid_request",
                f"this endpoint accepts {allowed}",
                "This page cannot be opened this way",
                (("Allow", allowed),),
            )
            return self.failure(route.page, request, failure)
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=exc.headers)
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


def _origin(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The Origin header, read without building Starlette's ``Headers`` for every answer."""
    for name, value in headers:
        if name == b"origin":
            return value
    return None


def _counted(receive: Receive, counter: BodyCounter) -> Receive:
    async def counted() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            counter.add(message.get("body", b""))
        return message

    return counted


def find_runtime(app: Any) -> Runtime | None:
    """The ``Runtime`` inside an ASGI server's app (under the server's own wrappers), if any."""
    for _ in range(8):
        if isinstance(app, Runtime):
            return app
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None
