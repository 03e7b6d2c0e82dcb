"""uvicorn's httptools protocol, bounded: no request past a limit is read into memory.

The request line, each header field, the head as a whole and the body are counted as the parser
delivers them (``runtime.limits``); past a limit the request is refused with its status (414, 431,
413, 400) as a JSON ``invalid_request`` with ``Connection: close``, and nothing more of it is read.
A request that is not HTTP/1.1 at all gets the same JSON shape (400) instead of uvicorn's text.
Answers already owed on the connection (a pipelined request before the refused one) are sent
first. Hot routes are answered by the subclass (``runtime.lean``) through ``dispatch``.
"""

from __future__ import annotations

import sys
from typing import Any

import httptools
from starlette.responses import Response
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from valetkey.runtime.answers import builtin_page, json_answer, refused
from valetkey.runtime.app import ORIGIN, Runtime, find_runtime
from valetkey.runtime.limits import (
    FORM,
    LIMITS,
    Refused,
    body_too_large,
    check_head,
    headers_too_large,
    target_too_long,
    too_many_params,
)
from valetkey.runtime.requestids import HEADER, NOTED_KEY
from valetkey.runtime.transport import CoalescingHttpToolsProtocol, encode

NOT_HTTP = Refused(400, "the request is not valid HTTP/1.1")
LINGER_SECONDS = 2.0  # a refused connection is closed this long after its answer at most
_IN_BODY = sys.maxsize  # the head room while a body is read: heads are not counted then

# Header fields the connection notes as they arrive (any other is only counted and kept).
_NOTED = frozenset(
    (b"content-length", b"origin", HEADER, b"expect", b"x-forwarded-for", b"x-forwarded-proto")
)


class BoundedProtocol(CoalescingHttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.runtime: Runtime | None = find_runtime(self.app)
        limits = self.limits = self.runtime.limits if self.runtime is not None else LIMITS
        self.max_head, self.max_headers = limits.head, limits.headers
        self.max_header_bytes, self.max_target = limits.header_bytes, limits.target
        self.max_body = limits.body
        self.max_separators = limits.params  # n fields have n - 1 separators
        self.length_digits = len(str(limits.body))  # a Content-Length this long may be too large
        # Bytes a head may still take before it is refused (``_IN_BODY`` between a head and the
        # end of its request): each chunk that arrives while a head is read counts in full.
        self.head_room = self.max_head
        # Bytes received on the connection, and where the chunk being parsed began: the bytes from
        # the start of the chunk in which the previous head ended bound the size of this head.
        self.received = self.chunk_start = 0
        self.header_bytes_end = self.max_header_bytes  # past it, the head's fields are counted
        self.refusing: bytes | None = None  # a refusal waiting for the answers owed before it
        # Noted from the head being read, and reset once it is complete:
        self.long_length: bytes | None = None  # a Content-Length long enough to be too large
        self.for_uvicorn = False  # a header uvicorn handles itself (Expect, X-Forwarded-*)
        self.body_seen = self.separators = 0

    @property
    def in_body(self) -> bool:
        """Between a request's head and its end."""
        return self.head_room > self.max_head

    # -- the bytes as they arrive -------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self.refusing is not None:
            return  # refused: nothing more of this connection is read
        self.idle_since = None  # busy (see the keep-alive timer below)
        size = len(data)
        self.head_room -= size
        self.chunk_start = self.received
        self.received += size
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # as uvicorn
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            self.refuse(cause if isinstance(cause, Refused) else NOT_HTTP)
            return
        if self.head_room < 0:
            self.refuse(headers_too_large(self.limits))  # one field still being read is too large

    def send_400_response(self, msg: str) -> None:
        self.refuse(NOT_HTTP)  # uvicorn's own calls answer alike

    # -- parser callbacks ---------------------------------------------------------------------------
    def on_url(self, url: bytes) -> None:
        url = self.url = self.url + url
        if len(url) > self.max_target:
            raise target_too_long(self.limits)

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name in _NOTED:
            self._note(name, value)
        self.headers.append((name, value))  # how many: counted once the head is in

    def _note(self, name: bytes, value: bytes) -> None:
        if name == b"content-length":
            if len(value) >= self.length_digits:
                self.long_length = value
        elif name == b"origin":
            scope: Any = self.scope
            scope.setdefault(ORIGIN, value)
        elif name == HEADER:
            scope = self.scope
            scope.setdefault(NOTED_KEY, value)
        elif name == b"expect":
            if value.lower() == b"100-continue":
                self.expect_100_continue = self.for_uvicorn = True
        else:
            self.for_uvicorn = True  # uvicorn's proxy-header middleware rewrites the request

    def on_headers_complete(self) -> None:
        parsed = httptools.parse_url(self.url)
        query = parsed.query
        length, self.long_length = self.long_length, None  # noted for this head only
        for_uvicorn, self.for_uvicorn = self.for_uvicorn, False
        if (
            self.received > self.header_bytes_end  # bounds the head's size
            or len(self.headers) > self.max_headers
            or (query is not None and query.count(b"&") >= self.max_separators)
            or length is not None
        ):
            refusal = check_head(self.limits, len(self.url), query or b"", self.headers, length)
            if refusal is not None:
                raise refusal
        self.head_room = _IN_BODY
        self.header_bytes_end = self.chunk_start + self.max_header_bytes
        self.dispatch(parsed, for_uvicorn)

    def dispatch(self, parsed: Any, for_uvicorn: bool) -> None:
        """Start answering the request whose head is complete (uvicorn: a cycle and a task).
        ``parsed``: its target (``httptools.parse_url``); ``for_uvicorn``: it has a header that
        uvicorn handles itself (``Expect: 100-continue``, ``X-Forwarded-*``)."""
        self.body_seen = self.separators = 0
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self.count_body(body)
        super().on_body(body)

    def count_body(self, body: bytes) -> None:
        """Raises ``Refused`` once the body passes its limits (bytes, and fields of a form)."""
        seen = self.body_seen = self.body_seen + len(body)
        if seen > self.max_body:
            raise body_too_large(self.limits)
        self.separators += body.count(b"&")
        if self.separators >= self.max_separators and self.is_form():
            raise too_many_params(self.limits)

    def is_form(self) -> bool:
        """Whether the request being read has a form body (only asked when it has many fields)."""
        for name, value in self.headers:
            if name == b"content-type":
                return value.lower().startswith(FORM)
        return False

    def on_message_complete(self) -> None:
        self.head_room = self.max_head  # the next head is counted from here
        super().on_message_complete()

    # -- refusals -----------------------------------------------------------------------------------
    def refuse(self, refusal: Refused) -> None:
        """Answer ``refusal`` and close; after the answers owed before it, if there are any."""
        owed = self._owes_answers()
        if self.in_body and not self.on_lean_path():
            # The refused request has its cycle (uvicorn's): end it for the app.
            cycle: RequestResponseCycle = self.cycle
            if cycle.response_started:  # the app answered it already: close after that answer
                cycle.keep_alive = False
                self.refusing = b""
                return
            cycle.disconnected = True
            cycle.message_event.set()
            owed = bool(self.pipeline) and self.pipeline[0][0] is cycle  # queued behind another
            if owed:
                self.pipeline.popleft()
        answer = self._refusal_answer(refusal)
        self.refusing = encode(answer, self.server_state.default_headers, close=False)
        self.flow.pause_reading()
        if not owed:
            self._send_refusal()

    def on_lean_path(self) -> bool:
        return False

    def _refusal_answer(self, refusal: Refused) -> Response:
        """JSON on a protocol endpoint; on a browser page (when the path is known by now) a page
        that needs nothing that could be failing."""
        path = self.url.split(b"?", 1)[0].decode("latin-1") if self.url else ""
        if self.runtime is not None and path and self.runtime.table.is_page(path):
            return builtin_page(refused(refusal))
        return json_answer(refused(refusal))

    def _owes_answers(self) -> bool:
        cycle = self.cycle
        return bool(self.pipeline) or (cycle is not None and not cycle.response_complete)

    def _send_refusal(self) -> None:
        """The refusal, then a lingering close: our side is shut, and what the client still sends
        (the body it was refused) is read and dropped for a moment, so that the client reads the
        answer before the connection ends (closing with unread input would reset it instead)."""
        data, self.refusing = self.refusing, b""
        transport: Any = self.transport
        if transport.is_closing():
            return
        if data:
            transport.write_now(data)
        if not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        self.flow.resume_reading()  # data_received drops it
        self.loop.call_later(LINGER_SECONDS, transport.close)

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
        if self.pipeline:  # a request that waited behind this one
            cycle, app = self.pipeline.pop()
            if self.refusing is None:
                self.flow.resume_reading()
            self._start_asgi_task(cycle, app)
            return
        if self.refusing is not None:
            self._send_refusal()  # the answers owed before the refusal are out
            return
        if self.flow.read_paused:  # by uvicorn's path (pipelining, a body), never the fast one
            self.flow.resume_reading()
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

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
