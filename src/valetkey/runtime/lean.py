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
from collections.abc import Awaitable, Generator, Sequence
from contextvars import Token
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from valetkey.core.events import REQUEST_ID
from valetkey.runtime.commit import step_for
from valetkey.runtime.connection import BoundedProtocol
from valetkey.runtime.limits import body_too_large, too_many_params
from valetkey.runtime.requestids import HEADER, SCOPE_KEY, request_id
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


def _plain(response: Response) -> bool:
    """A body held in memory, nothing to run after it: it can be written here in one piece."""
    return type(response).__call__ is Response.__call__ and response.background is None


class LeanProtocol(BoundedProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.step = step_for(self.runtime, self.loop) if self.runtime is not None else None
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

    def dispatch(self) -> None:
        self.lean = self._lean_route()
        if self.lean is None:
            super().dispatch()
        else:
            self.lean_body = bytearray()

    def on_body(self, body: bytes) -> None:
        if self.lean is None:
            super().on_body(body)  # counted as it arrives
            return
        self.lean_body += body
        if len(self.lean_body) > self.limits.body:
            raise body_too_large(self.limits)

    def on_message_complete(self) -> None:
        route = self.lean
        if route is None:
            super().on_message_complete()
            return
        body = bytes(self.lean_body)
        if body.count(b"&") >= self.max_separators and self.is_form():
            raise too_many_params(self.limits)  # refused before it is parsed
        self.lean, self.in_body = None, False
        self._run_lean(route, body)

    def on_lean_path(self) -> bool:
        return self.lean is not None

    def _lean_route(self) -> Route | None:
        runtime = self.runtime
        if (
            runtime is None
            or self.expect_100_continue
            or self.forwarded  # uvicorn's proxy-header middleware decides client and scheme
            or self.limit_concurrency is not None
            or self.parser.should_upgrade()
            or (self.cycle is not None and not self.cycle.response_complete)  # keep the order
        ):
            return None
        parsed = self.parsed_url
        try:
            method = self.parser.get_method().decode("ascii")
            path = parsed.path.decode("ascii")
        except UnicodeDecodeError:
            return None  # uvicorn's own path decides what to answer
        if "%" in path:
            path = urllib.parse.unquote(path)  # as uvicorn does, so both paths route alike
        route = runtime.table.hot.get((method, self.root_path + path))
        if route is None:
            return None
        # The ASGI scope, as uvicorn would have built it for this request.
        scope: Any = self.scope
        scope["method"] = method
        version = self.parser.get_http_version()
        if version != "1.1":
            scope["http_version"] = version
        scope["path"] = self.root_path + path
        scope["raw_path"] = self.root_path.encode("ascii") + parsed.path
        scope["query_string"] = parsed.query or b""
        self.lean_keep_alive = version != "1.0" and self.parser.should_keep_alive()
        return route

    # -- the answer -------------------------------------------------------------------------------
    def _run_lean(self, route: Route, body: bytes) -> None:
        runtime = self.runtime
        assert runtime is not None
        scope: Any = self.scope
        scope["app"] = runtime.app  # endpoints find their state at request.app.state
        request = Request(scope, _no_receive)
        request._body = body  # what ``await request.body()`` returns, without waiting
        if runtime.observing:
            self._run_observed(route, request)
        else:
            self._answer(route, request)

    def _run_observed(self, route: Route, request: Request) -> None:
        """``_answer``, counted and timed (metrics), with its request id (events, logs, header)."""
        runtime = self.runtime
        assert runtime is not None
        rid = request_id(request.scope["headers"]) if runtime.request_ids else None
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
        if not _plain(response):
            self._finish_on_task(route, request, _ready((response, rows)))
            return
        self.held = True
        step.add((self, route, request, rows, response))

    def write_held(self, response: Response) -> None:
        """The answer held to the end of its step (``Step``). No other request of this
        connection has started meanwhile (``on_message_begin``), so the scope is still its own."""
        self.held = False
        if not self.transport.is_closing():  # else the client left: it is as if just after this
            self._write(response)

    def _write(self, response: Response) -> None:
        if self.lean_observed is None:
            self._write_out(response)
            return
        token = self._observe(response)
        try:
            self._write_out(response)
        finally:
            if token is not None:
                REQUEST_ID.reset(token)

    def _write_out(self, response: Response) -> None:
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
        transport: Any = self.transport
        close = not self.lean_keep_alive
        transport.write_now(encode(response, self.server_state.default_headers, close))
        if close:
            self.transport.close()
        self.on_response_complete()

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
