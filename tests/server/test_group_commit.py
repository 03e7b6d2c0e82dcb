"""Group commit on `valetkey serve`'s lean path: the new rows of the requests answered in one
event-loop step are written in one transaction, and no response leaves before its rows are durable.

The protocol is driven directly (one instance per connection, a transport that records writes) on a
real event loop and a real SQLite store, so each step is observable: what has been sent, what is in
the database, and how many transactions wrote it. A last test runs it on real uvicorn and sockets.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import socket
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from uvicorn.config import Config
from uvicorn.server import ServerState as UvicornState

from tests.conftest import BASE_CONFIG, SVC_SECRET, _template_db, settings_from
from tests.server.test_lean_http import read_response
from tests.support.servers import lean_uvicorn_in_thread
from valetkey.asgi import create_app
from valetkey.core.clock import FixedClock
from valetkey.core.errors import StorageUnavailable
from valetkey.core.events import NullSink, RecordingSink
from valetkey.core.models import AccessTokenRecord, Issuance
from valetkey.runtime import Route
from valetkey.runtime.lean import LeanProtocol
from valetkey.server.http import with_rows
from valetkey.server.state import ServerState
from valetkey.store.sql import open_store

FORM = b"grant_type=client_credentials&scope=read%3Afiles"
AUTH = base64.b64encode(f"svc:{SVC_SECRET}".encode()).decode()


def token_request(path: str = "/token", body: bytes = FORM) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nhost: as.test\r\nauthorization: Basic {AUTH}\r\n"
        "content-type: application/x-www-form-urlencoded\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body


class Recorder(asyncio.Transport):
    """What the protocol wrote, and whether the rows behind it were in the database by then."""

    def __init__(self, db: Path) -> None:
        super().__init__()
        self.db = db
        self.sent: list[bytes] = []
        self.rows_when_sent: list[int] = []
        self.closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.sent.append(data)
        with sqlite3.connect(self.db) as conn:  # another connection: only committed rows count
            self.rows_when_sent.append(
                conn.execute("SELECT count(*) FROM access_tokens").fetchone()[0]
            )

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def tokens(self) -> list[dict[str, Any]]:
        return [json.loads(data.partition(b"\r\n\r\n")[2]) for data in self.sent]


class Env:
    def __init__(self, observed: bool = False) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="vk-group-"))
        self.db = self.dir / "valetkey.db"
        shutil.copyfile(_template_db(BASE_CONFIG), self.db)
        self.store = open_store(f"sqlite:///{self.db}")
        sink = RecordingSink() if observed else NullSink()
        self.state = ServerState.build(settings_from(), self.store, sink, FixedClock())
        self.app = create_app(self.state)
        self.transactions: list[int] = []  # rows per save_all call
        save_all = self.store.save_all

        def counted(rows: Any) -> None:
            self.transactions.append(len(rows))
            save_all(rows)

        self.store.save_all = counted  # type: ignore[method-assign]

    def connection(self) -> tuple[LeanProtocol, Recorder]:
        config = Config(self.app, http=LeanProtocol, access_log=False, log_level="error")
        config.load()
        protocol = LeanProtocol(config=config, server_state=UvicornState(), app_state={})
        transport = Recorder(self.db)
        protocol.connection_made(transport)
        return protocol, transport

    def stored(self, jti: str) -> bool:
        return self.store.get_access_token(jti) is not None

    def close(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def env() -> Iterator[Env]:
    e = Env()
    yield e
    e.close()


def jti_of(token: str) -> str:
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"])


async def next_step() -> None:
    await asyncio.sleep(0)  # the write group's flush was scheduled with call_soon: it runs now


def test_requests_of_one_step_share_one_transaction_and_wait_for_it(env: Env) -> None:
    async def scenario() -> None:
        connections = [env.connection() for _ in range(3)]
        for protocol, _ in connections:
            protocol.data_received(token_request())
        # Answered, but held: nothing sent and nothing committed yet.
        assert all(t.sent == [] for _, t in connections)
        assert env.transactions == []
        await next_step()
        assert env.transactions == [3]  # one transaction for the three requests' tokens
        for _, transport in connections:
            assert len(transport.sent) == 1 and transport.sent[0].startswith(b"HTTP/1.1 200 ")
            assert transport.rows_when_sent == [3]  # sent only once all three were durable
            assert env.stored(jti_of(transport.tokens()[0]["access_token"]))

    asyncio.run(scenario())


def test_answers_without_rows_also_leave_together_at_the_end_of_the_step(env: Env) -> None:
    async def scenario() -> None:
        issuer, issued = env.connection()
        issuer.data_received(token_request())
        await next_step()
        token = issued.tokens()[0]["access_token"]
        connections = [env.connection() for _ in range(3)]
        for protocol, _ in connections:
            protocol.data_received(token_request("/introspect", f"token={token}".encode()))
        assert all(t.sent == [] for _, t in connections)
        await next_step()
        assert env.transactions == [1]  # introspection writes nothing
        for _, transport in connections:
            assert transport.tokens() == [transport.tokens()[0]] and transport.tokens()[0]["active"]

    asyncio.run(scenario())


def test_a_failed_group_is_retried_request_by_request(env: Env) -> None:
    save_all = env.store.save_all

    def refuse_groups(rows: Any) -> None:
        if len(rows) > 1 or (rows and rows[0].access and rows[0].access.jti in doomed):
            raise sqlite3.OperationalError("disk I/O error")
        save_all(rows)

    doomed: set[str] = set()
    env.store.save_all = refuse_groups  # type: ignore[method-assign]

    async def scenario() -> None:
        connections = [env.connection() for _ in range(3)]
        for protocol, _ in connections:
            protocol.data_received(token_request())
        # the second request's own write will fail too: mark its token before the flush runs
        step = connections[0][0].step
        assert step is not None and len(step.waiting) == 3
        rows = step.waiting[1][3]
        assert isinstance(rows[0], Issuance) and rows[0].access is not None
        doomed.add(rows[0].access.jti)
        await next_step()
        ok = [connections[0][1], connections[2][1]]
        for transport in ok:
            assert transport.sent[0].startswith(b"HTTP/1.1 200 ")
            assert env.stored(jti_of(transport.tokens()[0]["access_token"]))
        failed = connections[1][1]
        assert failed.sent[0].startswith(b"HTTP/1.1 500 ")
        body = failed.tokens()[0]
        assert body["error"] == "server_error" and "access_token" not in body
        assert "nothing was issued" not in body["error_description"]
        assert "disk" not in failed.sent[0].decode()  # no detail reaches the client
        assert not env.stored(next(iter(doomed)))

    asyncio.run(scenario())


def test_a_connection_that_fails_to_send_does_not_strand_the_others(env: Env) -> None:
    async def scenario() -> None:
        connections = [env.connection() for _ in range(3)]
        broken = connections[0][1]
        aborted: list[bool] = []

        def refuse(data: bytes) -> None:
            raise ConnectionResetError("peer gone")

        broken.write = refuse  # type: ignore[method-assign]
        broken.abort = lambda: aborted.append(True)  # type: ignore[method-assign]
        for protocol, _ in connections:
            protocol.data_received(token_request())
        await next_step()
        assert aborted == [True]
        for _, transport in connections[1:]:
            assert transport.sent[0].startswith(b"HTTP/1.1 200 ")

    asyncio.run(scenario())


def test_a_pipelined_request_waits_for_the_held_answer_before_it(env: Env) -> None:
    async def scenario() -> None:
        protocol, transport = env.connection()
        protocol.data_received(token_request() + token_request())
        # The second request began before the step ended: the first answer was committed and sent
        # first, in its own transaction; the second is held for the next step.
        assert env.transactions == [1] and len(transport.sent) == 1
        await next_step()
        assert env.transactions == [1, 1] and len(transport.sent) == 2
        first, second = transport.tokens()
        assert first["access_token"] != second["access_token"]
        assert transport.rows_when_sent == [1, 2]

    asyncio.run(scenario())


def test_a_client_gone_before_the_commit_gets_nothing_but_its_token_is_stored(env: Env) -> None:
    async def scenario() -> None:
        protocol, transport = env.connection()
        protocol.data_received(token_request())
        transport.closing = True  # the client hung up while the answer was held
        await next_step()
        assert transport.sent == [] and env.transactions == [1]
        count = sqlite3.connect(env.db).execute("SELECT count(*) FROM access_tokens").fetchone()
        assert count[0] == 1

    asyncio.run(scenario())


def test_a_graceful_shutdown_sends_the_held_answer_before_closing(env: Env) -> None:
    async def scenario() -> None:
        protocol, transport = env.connection()
        protocol.data_received(token_request())
        protocol.shutdown()  # uvicorn's shutdown, between the request and the end of its step
        assert transport.closing and len(transport.sent) == 1
        assert transport.sent[0].startswith(b"HTTP/1.1 200 ") and transport.rows_when_sent == [1]

    asyncio.run(scenario())


def test_an_observed_server_commits_in_groups_too() -> None:
    observed = Env(observed=True)

    async def scenario() -> None:
        protocol, transport = observed.connection()
        protocol.data_received(token_request())
        assert observed.transactions == [] and transport.sent == []
        await next_step()
        assert observed.transactions == [1] and transport.rows_when_sent == [1]

    try:
        asyncio.run(scenario())
    finally:
        observed.close()


def add_hot_route(env: Env, path: str, endpoint: Any) -> None:
    env.app.table.hot[("POST", path)] = Route(path, endpoint, ("POST",), hot=("POST",))


def record(jti: str) -> Issuance:
    return Issuance(access=AccessTokenRecord(jti, None, "svc", None, ("read:files",), (), 1.0, 2.0))


@pytest.mark.parametrize("then", ["waits", "streams"])
def test_rows_are_written_before_an_answer_sent_from_a_task(env: Env, then: str) -> None:
    """A hot route that waits, or answers with a stream: its answer goes out on a task, after its
    rows are written (in their own transaction: the step's group has gone by then)."""
    jti = "jti-" + then

    async def endpoint(request: Request) -> Response:
        if then == "waits":
            await asyncio.sleep(0)
            return with_rows(Response(b"answered"), record(jti))

        async def body() -> Any:
            yield b"stored" if env.stored(jti) else b"missing"

        return with_rows(StreamingResponse(body()), record(jti))

    add_hot_route(env, "/" + then, endpoint)

    async def scenario() -> None:
        protocol, transport = env.connection()
        protocol.data_received(token_request("/" + then, b""))
        for _ in range(20):
            await asyncio.sleep(0)
        assert env.transactions == [1] and env.stored(jti)
        assert transport.rows_when_sent[0] == 1
        sent = b"".join(transport.sent)
        assert sent.startswith(b"HTTP/1.1 200 ") and b"missing" not in sent, sent

    asyncio.run(scenario())


def test_a_request_that_fails_writes_nothing_and_the_next_one_writes(env: Env) -> None:
    async def endpoint(request: Request) -> Response:
        with_rows(Response(), record("half"))  # built, then the endpoint fails before answering
        raise RuntimeError("after the rows were made")

    add_hot_route(env, "/half", endpoint)

    async def scenario() -> None:
        protocol, transport = env.connection()
        protocol.data_received(token_request("/half", b"") + token_request())
        await next_step()
        await next_step()
        assert transport.sent[0].startswith(b"HTTP/1.1 500 ")
        assert transport.sent[1].startswith(b"HTTP/1.1 200 ")
        assert env.transactions == [1] and not env.stored("half")

    asyncio.run(scenario())


def test_a_group_that_finds_the_storage_down_answers_503_and_recovers(env: Env) -> None:
    save_all = env.store.save_all
    down = [True]

    def outage(rows: Any) -> None:
        if down[0]:
            raise StorageUnavailable("connection refused", retry_after=7)
        save_all(rows)

    env.store.save_all = outage  # type: ignore[method-assign]

    async def scenario() -> None:
        connections = [env.connection() for _ in range(3)]
        for protocol, _ in connections:
            protocol.data_received(token_request())
        await next_step()
        for _, transport in connections:
            head, _, body = transport.sent[0].partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 503 ") and b"\r\nretry-after: 7" in head.lower()
            assert json.loads(body)["error"] == "temporarily_unavailable"
            assert b"connection: close" not in head.lower()  # the connection goes on
        down[0] = False  # the storage is back: the same connections get tokens again
        for protocol, _ in connections:
            protocol.data_received(token_request())
        await next_step()
        for _, transport in connections:
            assert transport.sent[1].startswith(b"HTTP/1.1 200 ")
            assert env.stored(jti_of(json.loads(transport.sent[1].partition(b"\r\n\r\n")[2])["access_token"]))

    asyncio.run(scenario())


def test_concurrent_clients_on_real_uvicorn_all_get_stored_tokens(env: Env) -> None:
    with lean_uvicorn_in_thread(env.app) as port:
        sockets = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(8)]
        buffers = [bytearray() for _ in sockets]
        tokens: list[str] = []
        for _ in range(5):  # five rounds: all eight send, then all eight read
            for sock in sockets:
                sock.sendall(token_request())
            for sock, buf in zip(sockets, buffers, strict=True):
                status, _, body = read_response(sock, buf)
                assert status == 200, body
                tokens.append(json.loads(body)["access_token"])
        assert len(set(tokens)) == 40
        assert all(env.stored(jti_of(t)) for t in tokens)
        assert sum(env.transactions) == 40
        for sock in sockets:
            sock.close()
