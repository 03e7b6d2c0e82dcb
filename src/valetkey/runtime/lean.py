"""The hot routes answered straight from uvicorn's HTTP parser, without an ASGI task per request.

uvicorn runs every request as an asyncio task that talks to the app through ``receive``/``send``
messages; for the hot endpoints that machinery cost more CPU than some of the endpoints themselves.
``LeanProtocol`` is the bounded protocol (``runtime.connection``) that, for a request to a hot
route, collects the body in the parser callbacks and, once the request is complete, runs the same
``Runtime.answer`` the ASGI path runs, in place. The endpoints do their work without waiting on
anything, so the coroutine almost always finishes in that first step. Its answer, in one write,
leaves at the end of the event-loop step together with the other answers of that step, after the
rows they carry have been committed in one transaction (``runtime.commit.Step``).

Everything else takes uvicorn's usual path, unchanged: other routes and methods, ``Expect:
100-continue``, protocol upgrades, forwarded-for headers (uvicorn's proxy-header handling), a
request pipelined behind one still being answered, concurrency limits. Access logging, when on,
logs the same line uvicorn would. When an endpoint does wait (a password hash checked on a worker
thread), or returns a response that is not a plain body (streaming, background work), the rest
runs on a task as uvicorn would run it, its rows written before its answer.
"""

from __future__ import annotations

import asyncio
import time
import types
import urllib.parse
from collections.abc import Awaitable, Generator, Mapping, Sequence
from contextvars import Token
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from valetkey.core.events import REQUEST_ID
from valetkey.runtime.app import ORIGIN
from valetkey.runtime.commit import step_for
from valetkey.runtime.connection import BoundedProtocol
from valetkey.runtime.limits import body_too_large, too_many_params
from valetkey.runtime.requestids import HEADER, NOTED_KEY, SCOPE_KEY, id_from
from valetkey.runtime.routes import Route
from valetkey.runtime.transport import encode

Answer = tuple[Response, Sequence[Any]]


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}  # the body was read by the parser; nothing else will come


@types.coroutine
def _resume(coro: Any, waiting_on: Any) -> Generator[Any, Any, Answer]:
    """Continue, on a task, a coroutine that stopped in its first step to wait on ``waiting_on``."""
    try:
        yield waiting_on  # the task waits for it, then resumes us and we resume the coroutine
    except BaseException as exc:  # e.g. cancellation thrown in by the task: the coroutine gets it
        try:
            waiting_on = coro.throw(exc)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        return (yield from _resume(coro, waiting_on))
    return (yield from coro)  # type: ignore[no-any-return]


async def _ready(answer: Answer) -> Answer:
    return answer


# How a response held in memory sends itself: one that does not override it (no streaming, no
# file) and has no background work can be written in one piece, without its ASGI ``send``.
_SEND_BODY = Response.__call__


# A hot route as the request names it, and what its request's scope says: (route, method, path,
# raw path).
Hot = tuple[Route, str, str, bytes]


def by_raw_path(
    routes: Mapping[tuple[str, str], Route], root_path: str
) -> dict[tuple[bytes, bytes], Hot]:
    """The hot routes by method and path as the parser delivers them (bytes, no escapes): a path
    routed as uvicorn routes it (``root_path`` and the path) is found without decoding it."""
    raw_root = root_path.encode("ascii")
    hot: dict[tuple[bytes, bytes], Hot] = {}
    for (method, path), route in routes.items():
        rest = path[len(root_path) :]
        if path.startswith(root_path) and rest.isascii() and "%" not in rest:
            hot[method.encode("ascii"), rest.encode("ascii")] = (
                route,
                method,
                path,
                raw_root + rest.encode("ascii"),
            )
    return hot


class LeanProtocol(BoundedProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        runtime = self.runtime
        self.step = step_for(runtime, self.loop) if runtime is not None else None
        # The routes answered here, by (method, path): none under a concurrency limit (uvicorn
        # enforces it); and by method and path as the parser delivers them.
        self.hot_routes: Mapping[tuple[str, str], Route] = (
            runtime.table.hot if runtime is not None and self.limit_concurrency is None else {}
        )
        self.hot = by_raw_path(self.hot_routes, self.root_path)
        self.observing = runtime is not None and runtime.observing
        self.starlette: Any = runtime.app if runtime is not None else None
        self.lean: Route | None = None  # the route of the request being read, when lean
        self.lean_body = bytearray()
        self.lean_keep_alive = True
        # Set per request only when the runtime observes requests (metrics, request ids):
        self.lean_observed: tuple[str, str, float, str | None] | None = None

    held = False  # an answer waits for the end of its event-loop step (``Step``)

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown closes idle connections: a held answer goes out first."""
        if self.held and self.step is not None:
            self.step.flush()
        super().shutdown()

    # -- the request, as the parser delivers it ---------------------------------------------------
    def on_message_begin(self) -> None:
        if self.held and self.step is not None:  # a request pipelined behind it goes after it
            self.step.flush()
        super().on_message_begin()

    def dispatch(self, parsed: Any, for_uvicorn: bool) -> None:
        """A request to a hot route is read here and answered once complete (``lean`` is its
        route); any other takes uvicorn's path."""
        parser = self.parser
        hot = self.hot.get((parser.get_method(), parsed.path))
        if hot is None and b"%" in parsed.path:
            hot = self._escaped_route(parsed.path)
        if (
            hot is None
            or for_uvicorn  # Expect: 100-continue; forwarded for (uvicorn's proxy headers)
            or parser.should_upgrade()
            or (self.cycle is not None and not self.cycle.response_complete)  # keep the order
        ):
            super().dispatch(parsed, for_uvicorn)  # ``lean`` is None since the last request
            return
        route, method, path, raw_path = hot
        # The ASGI scope, as uvicorn would have built it for this request.
        scope: Any = self.scope
        scope["method"] = method
        scope["path"] = path
        scope["raw_path"] = raw_path
        scope["query_string"] = parsed.query or b""
        scope["app"] = self.starlette  # endpoints find their state at request.app.state
        scope.setdefault(ORIGIN, None)  # read by ``Runtime`` (CORS)
        version = parser.get_http_version()
        if version == "1.1":
            self.lean_keep_alive = parser.should_keep_alive()
        else:
            scope["http_version"] = version
            self.lean_keep_alive = version != "1.0" and parser.should_keep_alive()
        self.lean, self.lean_body = route, bytearray()

    def _escaped_route(self, raw: bytes) -> Hot | None:
        """The hot route of a path with escapes: decoded as uvicorn decodes it."""
        try:
            method = self.parser.get_method().decode("ascii")
            path = urllib.parse.unquote(raw.decode("ascii"))
        except UnicodeDecodeError:
            return None  # uvicorn's own path decides what to answer
        route = self.hot_routes.get((method, self.root_path + path))
        if route is None:
            return None
        return route, method, self.root_path + path, self.root_path.encode("ascii") + raw

    def on_body(self, body: bytes) -> None:
        if self.lean is None:
            super().on_body(body)  # counted as it arrives
            return
        self.lean_body += body
        if len(self.lean_body) > self.max_body:
            raise body_too_large(self.limits)

    def on_message_complete(self) -> None:
        route = self.lean
        if route is None:
            super().on_message_complete()
            return
        body = bytes(self.lean_body)
        if body.count(b"&") >= self.max_separators and self.is_form():
            raise too_many_params(self.limits)  # refused before it is parsed
        self.lean, self.head_room = None, self.max_head  # the next head is counted from here
        # The answer: the request as Starlette's, its body read already.
        request = Request(self.scope, _no_receive)  # type: ignore[arg-type]
        request._body = body  # what ``await request.body()`` returns, without waiting
        if self.observing:
            self._run_observed(route, request)
        else:
            self._answer(route, request)

    def on_lean_path(self) -> bool:
        return self.lean is not None

    def _run_observed(self, route: Route, request: Request) -> None:
        """``_answer``, counted and timed (metrics), with its request id (events, logs, header)."""
        runtime = self.runtime
        assert runtime is not None
        rid = id_from(request.scope.get(NOTED_KEY)) if runtime.request_ids else None
        started = time.perf_counter()
        method = request.scope["method"]
        self.lean_observed = (route.path, method, started, rid)
        if rid is None:
            self._answer(route, request)
            return
        request.scope[SCOPE_KEY] = rid
        token = REQUEST_ID.set(rid)  # a task that continues the request copies it
        try:
            self._answer(route, request)
        finally:
            REQUEST_ID.reset(token)

    def _observe(self, response: Response) -> Token[str | None] | None:
        """Before an observed answer is sent: its id as a header, its count and latency; the id
        is set again for the lines logged while it is sent (the caller resets it)."""
        runtime, observed = self.runtime, self.lean_observed
        assert runtime is not None and observed is not None
        self.lean_observed = None
        path, method, started, rid = observed
        if rid is not None:
            response.raw_headers.append((HEADER, rid.encode("ascii")))
        if runtime.metrics is not None:
            runtime.metrics.request(
                path, method, response.status_code, time.perf_counter() - started
            )
        return None if rid is None else REQUEST_ID.set(rid)

    def _answer(self, route: Route, request: Request) -> None:
        runtime, step = self.runtime, self.step
        assert runtime is not None and step is not None
        coro: Any = runtime.answer(route, request)  # it answers the endpoint's failures itself
        try:
            waiting_on = coro.send(None)
        except StopIteration as done:
            response, rows = done.value
        else:
            self._finish_on_task(route, request, _resume(coro, waiting_on))
            return
        if type(response).__call__ is not _SEND_BODY or response.background is not None:
            # Not a body held in memory with nothing to run after it: sent as uvicorn would.
            self._finish_on_task(route, request, _ready((response, rows)))
            return
        self.held = True
        step.add((self, route, request, rows, response))

    def write_held(self, response: Response) -> None:
        """The answer held to the end of its step (``Step``), in one write. No other request of
        this connection has started meanwhile (``on_message_begin``), so the scope is still its
        own."""
        self.held = False
        transport: Any = self.transport
        if transport.is_closing():
            return  # the client left: it is as if just after this
        token = None if self.lean_observed is None else self._observe(response)
        try:
            if self.access_log:  # the line uvicorn logs for every response
                scope: Any = self.scope
                self.access_logger.info(
                    '%s - "%s %s HTTP/%s" %d',
                    get_client_addr(scope),
                    scope["method"],
                    get_path_with_query_string(scope),
                    scope["http_version"],
                    response.status_code,
                )
            close = not self.lean_keep_alive
            transport.write_now(encode(response, self.server_state.default_headers, close))
            if close:
                transport.close()
            self.on_response_complete()
        finally:
            if token is not None:  # observed: the id was set again for the lines logged here
                REQUEST_ID.reset(token)

    def _finish_on_task(self, route: Route, request: Request, pending: Awaitable[Answer]) -> None:
        """The rest of the request as uvicorn runs any other: a cycle and a task; its rows are
        written before its answer is sent."""
        runtime = self.runtime
        assert runtime is not None

        observed, self.lean_observed = self.lean_observed, None

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response, rows = await pending
            if rows:
                response = runtime.write(rows, route.page, request) or response
            if observed is not None:
                self.lean_observed = observed
                self._observe(response)  # in this task's own context: nothing to reset
            await runtime.guarded(response, scope, receive, send)

        cycle = RequestResponseCycle(
            scope=request.scope,  # type: ignore[arg-type]
            transport=self.transport,
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=self.access_log,
            default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=False,
            keep_alive=self.lean_keep_alive,
            on_response=self.on_response_complete,
        )
        cycle.more_body = False
        self.cycle = cycle
        self._start_asgi_task(cycle, app)  # type: ignore[arg-type]
