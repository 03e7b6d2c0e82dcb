"""The fuzz suite's targets and Hypothesis profiles.

Profiles, chosen by ``VALETKEY_FUZZ``: ``ci`` (the default, in ``make test``: a fixed seed, a
bounded number of examples, the known failures of ``known.py`` set aside), ``long`` (``make fuzz``:
random seeds, many more examples, no filter) and ``explore`` (as long, with the filter: new failures
only). ``VALETKEY_FUZZ_EXAMPLES`` sets the number of examples per test. No example database is written:
a failure prints the example (and, in the long run, a blob to reproduce it with ``@reproduce_failure``).

Targets: the app in process (every byte of the ASGI scope chosen by the test, events observed as
the inspector observes them) and ``valetkey serve`` as a real process (its lean HTTP path, raw
sockets), each on SQLite and on PostgreSQL. They are built once per session and shared.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

from tests.conftest import BASE_CONFIG, ISSUER, SVC_SECRET, make_in_process
from tests.fuzz.known import MODE, unexplained
from tests.fuzz.strategies import Endpoint
from tests.fuzz.world import World, build_world
from tests.support.hostile import Answer, Problem, problems
from tests.support.pgdb import scratch_database
from tests.support.rawasgi import AsgiCaller, RawRequest
from tests.support.servers import auth_server
from tests.support.wire import Connection, encode
from valetkey.asgi import create_app
from valetkey.store.sql import open_store

_SLOW_IS_FINE = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
    HealthCheck.function_scoped_fixture,  # the targets are session-wide; nothing is per example
]
settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("VALETKEY_FUZZ_EXAMPLES", "60")),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=_SLOW_IS_FINE,
    print_blob=False,
)
settings.register_profile(
    "long",
    max_examples=int(os.environ.get("VALETKEY_FUZZ_EXAMPLES", "3000")),
    derandomize=False,
    database=None,
    deadline=None,
    suppress_health_check=_SLOW_IS_FINE,
    print_blob=True,
)
settings.register_profile("explore", settings.get_profile("long"))
settings.load_profile(MODE if MODE in ("long", "explore") else "ci")


@pytest.fixture(scope="session", autouse=True)
def _hypothesis_home() -> None:
    """Hypothesis keeps a cache of its own (.hypothesis/ in the working directory by default):
    here it goes under the run's temporary XDG cache directory (tests/conftest.py)."""
    set_hypothesis_home_dir(str(Path(os.environ["XDG_CACHE_HOME"]) / "hypothesis"))


PARSER_REJECTED = b"Invalid HTTP request received."  # uvicorn's answer to bytes that are not HTTP


@dataclass
class Target:
    """A server to fuzz: how to send it a request, and what a legitimate client holds."""

    name: str  # e.g. "in-process/sqlite"
    backend: str  # sqlite | postgresql
    world: World
    http: httpx.Client
    base: str
    send: Callable[[RawRequest], tuple[Answer | None, list[Problem]]]
    seen: list[str] = field(default_factory=list)

    def check(self, endpoint: Endpoint, request: RawRequest, kind: str | None = None) -> Answer:
        """The answer, asserting it has no problem that a known failure class does not explain."""
        return self._judge(endpoint, request, kind, filtered=True)

    def exact(self, endpoint: Endpoint, request: RawRequest, kind: str | None = None) -> Answer:
        """The answer, asserting it has no problem at all (the explicit regression cases)."""
        return self._judge(endpoint, request, kind, filtered=False)

    def _judge(
        self, endpoint: Endpoint, request: RawRequest, kind: str | None, *, filtered: bool
    ) -> Answer:
        answer, found = self.send(request)
        assert answer is not None, f"no answer at all to {request!r}"
        if answer.status == 400 and answer.body == PARSER_REJECTED:
            kind = "any"  # not HTTP: no endpoint saw it
        found += problems(kind or endpoint.kind, answer)
        left = unexplained(found, request, self.backend) if filtered else found
        assert not left, (
            f"{self.name}: {[str(p) for p in left]}\n  request: {request!r}\n"
            f"  answer: {answer.status} {answer.headers!r:.300} {answer.body[:300]!r}"
        )
        return answer

    def assert_healthy(self) -> None:
        """After the hostile requests, the server still serves a client's correct requests."""
        meta = self.http.get("/.well-known/oauth-authorization-server")
        assert meta.status_code == 200, meta.text
        token = self.http.post(
            "/token",
            data={"grant_type": "client_credentials", "scope": "read:files"},
            auth=("svc", SVC_SECRET),
        )
        assert token.status_code == 200, token.text
        active = self.http.post(
            "/introspect", data={"token": token.json()["access_token"]}, auth=("svc", SVC_SECRET)
        )
        assert active.json()["active"] is True, active.text


def _in_process(stack: ExitStack, backend: str) -> Target:
    store = None
    if backend == "postgresql":
        store = open_store(stack.enter_context(scratch_database("vk_fuzz")))
    env = make_in_process(store=store)
    stack.callback(env.store.close)
    stack.enter_context(env.http)
    world = build_world(env.http, ISSUER)
    caller = AsgiCaller(create_app(env.state))
    stack.callback(caller.loop.close)

    def send(request: RawRequest) -> tuple[Answer | None, list[Problem]]:
        caller.escaped.clear()
        return caller(request), []

    return Target(f"in-process/{backend}", backend, world, env.http, ISSUER, send)


PROBE = RawRequest("GET", b"/jwks.json")


def wire_send(port: int) -> Callable[[RawRequest], tuple[Answer | None, list[Problem]]]:
    """Each request on a new connection, followed at once (pipelined) by a small GET: unless the
    answer said ``Connection: close``, the connection must stay usable and the probe be answered."""

    def send(request: RawRequest) -> tuple[Answer | None, list[Problem]]:
        with Connection(port) as conn:
            conn.send(encode(request) + encode(PROBE))
            answer = conn.read_answer()
            if answer is None or (answer.header("connection") or "").lower() == "close":
                return answer, []
            probe = conn.read_answer()
        if probe is None:
            return answer, [Problem("dropped", "the connection closed without Connection: close")]
        if probe.status != 200:
            return answer, [Problem("status", f"the request after it got {probe.status}")]
        return answer, []

    return send


def _serve(stack: ExitStack, backend: str) -> Target:
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vk-fuzz-")))
    config = BASE_CONFIG
    if backend == "postgresql":
        config = f'database = "{stack.enter_context(scratch_database("vk_fuzz"))}"\n' + config
    base = stack.enter_context(auth_server(config, workdir))
    http = stack.enter_context(httpx.Client(base_url=base, follow_redirects=False, timeout=20))
    world = build_world(http, base)
    port = int(base.rsplit(":", 1)[1])
    return Target(f"serve/{backend}", backend, world, http, base, wire_send(port))


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session", params=BACKENDS)
def in_process(request: pytest.FixtureRequest) -> Iterator[Target]:
    with ExitStack() as stack:
        yield _in_process(stack, request.param)


@pytest.fixture(scope="session", params=BACKENDS)
def served(request: pytest.FixtureRequest) -> Iterator[Target]:
    with ExitStack() as stack:
        yield _serve(stack, request.param)
