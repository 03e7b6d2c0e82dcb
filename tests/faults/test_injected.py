"""Store failures injected into a running app, endpoint by endpoint, on both HTTP paths.

The store is wrapped so that, on demand, every call raises: ``StorageUnavailable`` (what the store
raises for an outage: the answer must be 503 with ``Retry-After``, JSON on protocol endpoints and
an error page on browser pages) or an unexpected ``RuntimeError`` (a JSON ``server_error`` on
protocol endpoints, an error page on browser pages; never a plain-text 500 or a traceback). Each
endpoint gets a correct request that needs the store. Both paths users get are driven: the ASGI
app in process, and ``valetkey serve``'s lean HTTP protocol on a socket, where the connection must
also stay usable unless the answer said ``Connection: close``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import ISSUER, SVC_SECRET, WEB_SECRET, make_in_process
from tests.fuzz.world import World, build_world
from tests.support.hostile import Answer, problems
from tests.support.rawasgi import AsgiCaller, RawRequest
from tests.support.servers import lean_uvicorn_in_thread
from tests.support.wire import Connection, encode
from valetkey.asgi import create_app
from valetkey.core.errors import StorageUnavailable
from valetkey.store.sql import open_store

pytestmark = pytest.mark.faults


class FaultyStore:
    """The real store, except that while ``fault`` is set every method raises it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.fault: Exception | None = None

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.fault is not None:
                raise self.fault
            return attr(*args, **kwargs)

        return call


@dataclass
class App:
    store: FaultyStore
    world: World
    asgi: AsgiCaller
    serve_port: int  # the same app on valetkey serve's HTTP protocol


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    path = tmp_path_factory.mktemp("injected") / "valetkey.db"
    store = FaultyStore(open_store(f"sqlite:///{path}"))
    env = make_in_process(store=store)  # type: ignore[arg-type]
    with env.http:
        world = build_world(env.http, ISSUER)
    asgi = AsgiCaller(create_app(env.state))
    with lean_uvicorn_in_thread(create_app(env.state)) as port:
        yield App(store, world, asgi, port)
    asgi.loop.close()
    store.inner.close()


FORM = (b"content-type", b"application/x-www-form-urlencoded")


def _basic(client: str, secret: str) -> tuple[bytes, bytes]:
    return (b"authorization", b"Basic " + base64.b64encode(f"{client}:{secret}".encode()))


KINDS = {
    "token-cc": "json",
    "token-refresh": "json",
    "token-code": "json",
    "introspect": "json",
    "revoke": "json",
    "userinfo": "json",
    "metadata": "json",
    "authorize": "page",
    "login": "page",
    "consent": "page",
    "logout": "page",
}
CASES = sorted(KINDS)


def requests_for(world: World) -> dict[str, tuple[str, RawRequest]]:
    """A correct request to each endpoint that reads or writes the store: (kind, request)."""
    browser = (b"cookie", b"vk_browser=" + world.cookies["vk_browser"])
    session = (
        b"cookie",
        b"vk_browser=%s; vk_session=%s"
        % (world.cookies["vk_browser"], world.cookies["vk_session"]),
    )
    request_field = quote(world.authz_query).encode()
    return {
        "token-cc": (KINDS["token-cc"], RawRequest("POST", b"/token", b"", [FORM, _basic("svc", SVC_SECRET)], b"grant_type=client_credentials&scope=read%3Afiles")),
        "token-refresh": (KINDS["token-refresh"], RawRequest("POST", b"/token", b"", [FORM], b"grant_type=refresh_token&client_id=cli&refresh_token=" + world.tokens["refresh"])),
        "token-code": (KINDS["token-code"], RawRequest("POST", b"/token", b"", [FORM], b"grant_type=authorization_code&client_id=cli&code=abc&redirect_uri=http%3A%2F%2F127.0.0.1%3A9999%2Fcallback&code_verifier=" + world.verifier)),
        "introspect": (KINDS["introspect"], RawRequest("POST", b"/introspect", b"", [FORM, _basic("web", WEB_SECRET)], b"token=" + world.tokens["access"])),
        "revoke": (KINDS["revoke"], RawRequest("POST", b"/revoke", b"", [FORM, _basic("svc", SVC_SECRET)], b"token=" + world.tokens["svc_access"])),
        "userinfo": (KINDS["userinfo"], RawRequest("GET", b"/userinfo", b"", [(b"authorization", b"Bearer " + world.tokens["access"])])),
        "metadata": (KINDS["metadata"], RawRequest("GET", b"/.well-known/oauth-authorization-server")),
        "authorize": (KINDS["authorize"], RawRequest("GET", b"/authorize", world.authz_query, [session])),
        "login": (KINDS["login"], RawRequest("POST", b"/login", b"", [FORM, browser], b"csrf_token=%s&request=%s&username=alice&password=wonderland" % (world.csrf["login"], request_field))),
        "consent": (KINDS["consent"], RawRequest("POST", b"/consent", b"", [FORM, session], b"csrf_token=%s&request=%s&decision=approve" % (world.csrf["consent"], request_field))),
        "logout": (KINDS["logout"], RawRequest("GET", b"/logout", b"client_id=cli", [session])),
    }  # fmt: skip


LEAN = {"token-cc", "token-refresh", "token-code", "introspect", "authorize", "login", "consent"}


def _send(app: App, path: str, request: RawRequest) -> tuple[Answer | None, str]:
    """The answer, and what is wrong with the connection after it (socket path only)."""
    if path == "asgi":
        return app.asgi(request), ""
    with Connection(app.serve_port) as conn:
        conn.send(encode(request) + encode(RawRequest("GET", b"/.well-known/openid-configuration")))
        answer = conn.read_answer()
        if answer is None or (answer.header("connection") or "").lower() == "close":
            return answer, ""
        app.store.fault = None  # the request behind it finds the store back
        return answer, "" if conn.read_answer() is not None else "closed without Connection: close"


@pytest.fixture
def faulty(app: App) -> Iterator[App]:
    yield app
    app.store.fault = None


@pytest.mark.parametrize("path", ["asgi", "serve"])
@pytest.mark.parametrize("case", CASES)
def test_storage_unavailable_is_503(faulty: App, path: str, case: str) -> None:
    kind, request = requests_for(faulty.world)[case]
    faulty.store.fault = StorageUnavailable("injected by the test")
    answer, connection = _send(faulty, path, request)
    assert answer is not None, "no answer"
    assert answer.status == 503, (answer.status, answer.body[:200])
    assert not problems(kind, answer, outage=True), problems(kind, answer, outage=True)
    assert not connection, connection


@pytest.mark.parametrize("path", ["asgi", "serve"])
@pytest.mark.parametrize("case", CASES)
def test_unexpected_error_is_a_clean_500(faulty: App, path: str, case: str) -> None:
    kind, raw = requests_for(faulty.world)[case]
    faulty.store.fault = RuntimeError("injected by the test: must not reach the client")
    answer, connection = _send(faulty, path, raw)
    assert answer is not None, "no answer"
    assert answer.status == 500, (answer.status, answer.body[:200])
    assert b"injected by the test" not in answer.body
    found = [p for p in problems(kind, answer) if p.code != "status"]
    assert not found, [str(p) for p in found]
    if kind == "json":
        assert answer.json() == {  # type: ignore[comparison-overlap]
            "error": "server_error",
            "error_description": answer.json()["error_description"],  # type: ignore[index]
        }
    assert not connection, connection


def test_the_app_serves_again_once_the_store_is_back(faulty: App) -> None:
    faulty.store.fault = StorageUnavailable("injected by the test")
    request = requests_for(faulty.world)["token-cc"][1]
    faulty.asgi(request)
    faulty.store.fault = None
    for path in ("asgi", "serve"):
        answer, _ = _send(faulty, path, request)
        assert answer is not None and answer.status == 200, answer
