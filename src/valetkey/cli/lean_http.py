"""The hot endpoints answered straight from uvicorn's HTTP parser, without an ASGI task per request.

uvicorn runs every request as an asyncio task that talks to the app through ``receive``/``send``
messages; for ``POST /token``, ``POST /introspect`` and ``GET /authorize`` that machinery cost more
CPU than some of the endpoints themselves. ``LeanHttpToolsProtocol`` is uvicorn's httptools
protocol (with the coalescing transport) that, for a request to one of the app's ``FastPath``
routes, collects the body in the parser callbacks and, once the request is complete, runs the very
same endpoint coroutine in place. The endpoints do their work without waiting on anything, so the
coroutine almost always finishes in that first step. Its answer, in one write, leaves at the end of
the event-loop step together with the other answers of that step, after the new rows behind them
have been committed in one transaction (``Step``: group commit).

Everything else takes uvicorn's usual path, unchanged: other routes and methods, ``Expect:
100-continue``, protocol upgrades, forwarded-for headers (uvicorn's proxy-header handling), a
request pipelined behind one still being answered, concurrency limits. Access logging, when on,
logs the same line uvicorn would. When an endpoint does wait (a password hash checked on a worker
thread), or returns a response that is not a plain body (streaming, background work), its rows so
far are written and the rest runs on a task as uvicorn would run it. An unexpected exception
becomes the same plain ``server_error`` that ``NeverLeak`` gives.
"""

from __future__ import annotations

import asyncio
import logging
import types
import urllib.parse
import weakref
from collections.abc import Awaitable, Generator
from typing import Any

import httptools
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from valetkey.cli.coalesce import CoalescingHttpToolsProtocol
from valetkey.core.models import NewRows
from valetkey.server.app import NeverLeak, unexpected_error
from valetkey.server.fastpath import Endpoint, FastPath
from valetkey.server.http import HEADER_TABLE, MAX_BODY, header_table
from valetkey.server.state import ServerState

log = logging.getLogger("valetkey.serve")

# uvicorn's ProxyHeadersMiddleware rewrites client and scheme from these: leave such requests to it.
_FORWARDED = frozenset((b"x-forwarded-for", b"x-forwarded-proto"))


def find_fastpath(app: Any) -> FastPath | None:
    """The ``FastPath`` inside uvicorn's app (under uvicorn's and valetkey's wrappers), if any."""
    for _ in range(8):
        if isinstance(app, FastPath):
            return app
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}  # the body was read by the parser; nothing else will come


@types.coroutine
def _resume(coro: Any, waiting_on: Any) -> Generator[Any, Any, Response]:
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


def _plain(response: Response) -> bool:
    """A body held in memory, nothing to run after it: it can be written here in one piece."""
    return type(response).__call__ is Response.__call__ and response.background is None


class LeanHttpToolsProtocol(CoalescingHttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fast = find_fastpath(self.app)
        self.step = step_for(self.fast, self.loop) if self.fast is not None else None
        self.lean: Endpoint | None = None  # the endpoint of the request being read, when lean
        self.lean_body = bytearray()
        self.lean_keep_alive = True

    # -- keep-alive timeout, armed once per idle spell ----------------------------------------------
    # uvicorn cancels the keep-alive timer on every data_received and arms a new one after every
    # response: two timer operations per request on a busy connection. Here the connection notes when
    # it went idle; a timer already pending stays, and when it fires it closes the connection only if
    # it has been idle for the whole timeout, or waits out the rest. Same timeout, far fewer timers.
    idle_since: float | None = None

    def _unset_keepalive_if_required(self) -> None:
        self.idle_since = None  # busy again (uvicorn calls this on new data and on connection loss)

    def on_response_complete(self) -> None:
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:  # a request that waited behind this one
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self.idle_since = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    def timeout_keep_alive_handler(self) -> None:
        self.timeout_keep_alive_task = None
        if self.idle_since is None or self.transport.is_closing():
            return  # busy now: the next response to complete arms the timer again
        left = self.idle_since + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self.timeout_keep_alive_task = self.loop.call_later(
                left, self.timeout_keep_alive_handler
            )
        else:
            self.transport.close()

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown closes idle connections: a held answer goes out first."""
        if self.held and self.step is not None:
            self.step.flush()
        super().shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None

    # -- parser callbacks -------------------------------------------------------------------------
    held = False  # an answer waits for the end of its event-loop step (``Step``)

    def on_message_begin(self) -> None:
        if self.held and self.step is not None:  # a request pipelined behind it goes after it
            self.step.flush()
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        endpoint = self._lean_endpoint()
        if endpoint is None:
            self.lean = None
            super().on_headers_complete()
            return
        self.lean = endpoint
        self.lean_body = bytearray()

    def on_body(self, body: bytes) -> None:
        if self.lean is None:
            super().on_body(body)
        elif len(self.lean_body) <= MAX_BODY:  # beyond it the endpoint refuses the body anyway
            self.lean_body += body

    def on_message_complete(self) -> None:
        endpoint, self.lean = self.lean, None
        if endpoint is None:
            super().on_message_complete()
        else:
            self._run_lean(endpoint, bytes(self.lean_body))

    # -- the lean path ----------------------------------------------------------------------------
    def _lean_endpoint(self) -> Endpoint | None:
        fast = self.fast
        if (
            fast is None
            or self.expect_100_continue
            or self.limit_concurrency is not None
            or self.parser.should_upgrade()
            or (self.cycle is not None and not self.cycle.response_complete)  # keep the order
        ):
            return None
        try:
            method = self.parser.get_method().decode("ascii")
            parsed = httptools.parse_url(self.url)
            path = parsed.path.decode("ascii")
        except (httptools.HttpParserInvalidURLError, UnicodeDecodeError):
            return None  # uvicorn's own path decides what to answer
        if "%" in path:
            path = urllib.parse.unquote(path)  # as uvicorn does, so both paths route alike
        endpoint = fast.routes.get((method, self.root_path + path))
        if endpoint is None:
            return None
        headers = header_table(self.headers)
        if not _FORWARDED.isdisjoint(headers):
            return None
        # The ASGI scope, as uvicorn would have built it for this request.
        scope = self.scope
        extra: Any = scope
        extra[HEADER_TABLE] = headers  # read by ``server.http.header``
        scope["method"] = method
        version = self.parser.get_http_version()
        if version != "1.1":
            scope["http_version"] = version
        scope["path"] = self.root_path + path
        scope["raw_path"] = self.root_path.encode("ascii") + parsed.path
        scope["query_string"] = parsed.query or b""
        self.lean_keep_alive = version != "1.0" and self.parser.should_keep_alive()
        return endpoint

    def _run_lean(self, endpoint: Endpoint, body: bytes) -> None:
        step = self.step
        assert self.fast is not None and step is not None
        scope: Any = self.scope
        scope["app"] = self.fast.app  # endpoints find their state at request.app.state
        request = Request(scope, _no_receive)
        request._body = body  # what ``await request.body()`` returns, without waiting
        # The request's new rows join its step's transaction. Not on an observed server: there
        # each request writes at once, so an event never reports a token a failed group lost.
        rows: list[NewRows] = []
        collecting = step.state is not None and not step.state.observed
        if collecting:
            ServerState.collect_rows(rows)
        coro: Any = endpoint(request)
        try:
            waiting_on = coro.send(None)
        except StopIteration as done:
            response: Response = done.value
        except Exception:
            response = unexpected_error(scope)
            rows = []  # the request failed: what it had collected is not written
        else:
            if collecting:
                ServerState.collect_rows(None)  # the rest of the request writes as it goes
                failed = self._store_now(rows) if rows else None
                if failed is not None:
                    coro.close()
                    self._hold(failed, [])
                    return
            self._finish_on_task(scope, _resume(coro, waiting_on))
            return
        finally:
            if collecting:
                ServerState.collect_rows(None)
        if not _plain(response):
            response = (self._store_now(rows) if rows else None) or response
            self._finish_on_task(scope, _ready(response))
            return
        self._hold(response, rows)

    def _hold(self, response: Response, rows: list[NewRows]) -> None:
        assert self.step is not None
        self.held = True
        self.step.add(self, rows, response)

    def _store_now(self, rows: list[NewRows]) -> Response | None:
        """Write one request's rows in their own transaction; on failure, the answer it gets."""
        assert self.step is not None and self.step.state is not None
        try:
            self.step.state.store.save_all(rows)
        except Exception:
            scope: Any = self.scope
            return unexpected_error(scope)
        return None

    def _encode(self, response: Response) -> bytes:
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
        parts = [STATUS_LINE[response.status_code]]
        for name, value in self.server_state.default_headers:
            parts += [name, b": ", value, b"\r\n"]
        for name, value in response.raw_headers:
            parts += [name, b": ", value, b"\r\n"]
        if not self.lean_keep_alive:
            parts.append(b"connection: close\r\n")
        parts += [b"\r\n", bytes(response.body)]
        return b"".join(parts)

    def _write(self, response: Response) -> None:
        transport: Any = self.transport
        transport.write_now(self._encode(response))
        if not self.lean_keep_alive:
            self.transport.close()
        self.on_response_complete()

    def _write_held(self, response: Response) -> None:
        """The answer held to the end of its step (``Step``). No other request of this
        connection has started meanwhile (``on_message_begin``), so the scope is still its own."""
        self.held = False
        if not self.transport.is_closing():  # else the client left: it is as if just after this
            self._write(response)

    def _finish_on_task(self, scope: Scope, pending: Awaitable[Response]) -> None:
        """The rest of the request as uvicorn runs any other: a cycle and a task."""

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response = await pending
            await response(scope, receive, send)

        cycle = RequestResponseCycle(
            scope=scope,  # type: ignore[arg-type]
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
        self._start_asgi_task(cycle, NeverLeak(app))  # type: ignore[arg-type]


async def _ready(response: Response) -> Response:
    return response


class Step:
    """The lean answers of one event-loop step, sent together when the step ends (group commit).

    Under load, the requests of one step are those one poll of the sockets delivered. Their answers
    are held and leave together at the start of the next step, before the loop polls again; the
    new rows behind them (codes, grants, tokens) are first written in one ``BEGIN IMMEDIATE ...
    COMMIT``. So no answer leaves before its rows are durable, one transaction and one pass over
    SQLite's pages serve the whole batch, and the server takes the next batch in one wake-up
    instead of one per request. If the shared transaction fails, each request's rows are tried
    again on their own, and only a request whose own write fails gets a ``server_error``.
    """

    def __init__(self, state: ServerState | None, loop: asyncio.AbstractEventLoop) -> None:
        self.state = state  # valetkey's state: None for another app (no rows to write)
        self.loop = loop
        self.waiting: list[tuple[LeanHttpToolsProtocol, list[NewRows], Response]] = []

    def add(self, protocol: LeanHttpToolsProtocol, rows: list[NewRows], response: Response) -> None:
        if not self.waiting:
            self.loop.call_soon(self.flush)
        self.waiting.append((protocol, rows, response))

    def flush(self) -> None:
        waiting, self.waiting = self.waiting, []
        new = [row for _, rows, _ in waiting for row in rows]
        if new:
            assert self.state is not None
            try:
                self.state.store.save_all(new)
            except Exception:
                log.warning("a group commit of %d requests failed; writing each alone", len(waiting))
                for protocol, rows, response in waiting:
                    failed = protocol._store_now(rows) if rows else None
                    _send(protocol, failed or response)
                return
        for protocol, _, response in waiting:
            _send(protocol, response)


def _send(protocol: LeanHttpToolsProtocol, response: Response) -> None:
    """One held answer; a connection that cannot take it is dropped, not the rest of the step."""
    try:
        protocol._write_held(response)
    except Exception:
        log.exception("could not send an answer; closing its connection")
        protocol.transport.abort()


_steps: weakref.WeakKeyDictionary[FastPath, Step] = weakref.WeakKeyDictionary()


def step_for(fast: FastPath, loop: asyncio.AbstractEventLoop) -> Step:
    """The app's ``Step`` on this event loop (one per worker process)."""
    step = _steps.get(fast)
    if step is None or step.loop is not loop:
        step = _steps[fast] = Step(getattr(fast.app.state, "vk", None), loop)
    return step
