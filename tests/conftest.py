"""Shared fixtures: a standard configuration, an in-process server, PostgreSQL databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.asgi import SyncASGITransport
from tests.support.servers import LoopbackTransport
from valetkey.asgi import create_app
from valetkey.core.clock import FixedClock
from valetkey.core.events import RecordingSink
from valetkey.core.settings import Settings, build_settings, parse_toml
from valetkey.server.bootstrap import build_state
from valetkey.server.state import ServerState
from valetkey.store.sql import SQLStore, open_store

# -- the user's own data is never touched -------------------------------------------------------
# Every test, and every process a test starts, gets XDG directories under a temporary directory of
# the session; the real ones are fingerprinted before the run and checked after it.
_REAL_DIRS = [
    Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "valetkey",
    Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "valetkey",
]


def _fingerprint(path: Path) -> list[tuple[str, int, int]]:
    if not path.exists():
        return []
    return sorted(
        (str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in [path, *path.rglob("*")]
    )


def pytest_configure(config: pytest.Config) -> None:
    import tempfile

    config.stash[_REAL_KEY] = {str(p): _fingerprint(p) for p in _REAL_DIRS}
    isolated = Path(tempfile.mkdtemp(prefix="vk-xdg-"))
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        os.environ[name] = str(isolated / name.lower())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_REAL_KEY, None)
    if before is None:
        return
    touched = [p for p in _REAL_DIRS if _fingerprint(p) != before[str(p)]]
    if touched:
        session.config.get_terminal_writer().line(
            f"FAILED: the test run wrote into the user's own data: {', '.join(map(str, touched))}",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_REAL_KEY = pytest.StashKey[dict[str, list[tuple[str, int, int]]]]()

ISSUER = "http://as.test"
PG_ADMIN_URL = os.environ.get("VALETKEY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
# A high-entropy secret (stored as a SHA-256 digest) and a short one (stored with Argon2id).
WEB_SECRET = "web-secret-0123456789abcdefghijklmnopqrstuvwxyz"
SVC_SECRET = "svc-secret-0123456789abcdefghijklmnopqrstuvwxyz"

BASE_CONFIG = f"""
[[resources]]
identifier = "https://api.valetkey.test"
name = "Demo API"
scopes = ["read:profile", "read:files", "write:files"]

[[clients]]
client_id = "cli"
client_name = "Command-line app"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1/callback", "com.example.app:/callback"]
grant_types = ["authorization_code", "refresh_token"]
scope = "openid profile email read:profile read:files write:files offline_access"

[[clients]]
client_id = "web"
client_name = "Web app"
client_secret = "{WEB_SECRET}"
redirect_uris = ["https://web.example/callback", "https://web.example/other"]
grant_types = ["authorization_code", "refresh_token"]
scope = "openid profile email read:profile read:files"

[[clients]]
client_id = "legacy-web"
client_name = "Confidential client without PKCE"
client_secret = "short-secret"
token_endpoint_auth_method = "client_secret_post"
redirect_uris = ["https://legacy.example/cb"]
grant_types = ["authorization_code"]
require_pkce = false
scope = "read:profile"

[[clients]]
client_id = "plain-client"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1/cb"]
pkce_methods = ["S256", "plain"]
scope = "read:profile"

[[clients]]
client_id = "svc"
client_secret = "{SVC_SECRET}"
grant_types = ["client_credentials"]
scope = "read:files"

[[users]]
username = "alice"
password = "wonderland"
name = "Alice Liddell"
email = "alice@example.test"
email_verified = true

[[users]]
username = "bob"
password = "builder-bob"
name = "Bob"
"""


def settings_from(text: str = BASE_CONFIG, **overrides: Any) -> Settings:
    data = parse_toml(text)
    data.update(overrides)
    return build_settings(data, {}).with_issuer(overrides.get("issuer", ISSUER))


@dataclass
class InProcess:
    state: ServerState
    http: httpx.Client
    sink: RecordingSink
    clock: FixedClock
    store: SQLStore

    @property
    def base(self) -> str:
        return ISSUER


_TEMPLATES: dict[str, Path] = {}


def _template_db(text: str) -> Path:
    """A migrated database with the config applied and keys generated, built once per session:
    Argon2 hashing and RSA key generation are slow by design, so tests copy this file."""
    if text not in _TEMPLATES:
        import tempfile

        path = Path(tempfile.mkdtemp(prefix="vk-template-")) / "template.db"
        store = open_store(f"sqlite:///{path}")
        build_state(settings_from(text), store=store)
        store.close()
        _TEMPLATES[text] = path
    return _TEMPLATES[text]


HTTP_PATHS = ("asgi", "lean")


@pytest.fixture
def http_path(request: pytest.FixtureRequest) -> str:
    """How an in-process server is reached: "asgi" (httpx's ASGI transport, in this thread) or
    "lean" (real uvicorn with ``valetkey serve``'s protocol on a loopback port, the path users get).
    tests/server and tests/lifecycle run each test that uses it both ways (``both_paths``)."""
    return str(getattr(request, "param", "asgi"))


def both_paths(metafunc: pytest.Metafunc) -> None:
    """``pytest_generate_tests`` for a test directory: every test there that reaches an in-process
    server (through ``http_path``) runs on both HTTP paths."""
    if "http_path" in metafunc.fixturenames:
        metafunc.parametrize("http_path", HTTP_PATHS, indirect=True)


def make_in_process(
    text: str = BASE_CONFIG,
    store: SQLStore | None = None,
    *,
    http_path: str = "asgi",
    **overrides: Any,
) -> InProcess:
    settings = settings_from(text, **overrides)
    sink, clock = RecordingSink(), FixedClock()
    if store is None:
        import shutil
        import tempfile

        copy = Path(tempfile.mkdtemp(prefix="vk-test-")) / "valetkey.db"
        shutil.copyfile(_template_db(text), copy)
        store = open_store(f"sqlite:///{copy}")
        state = ServerState.build(settings, store, sink, clock)
    else:
        state = build_state(settings, store=store, sink=sink, clock=clock)
    app = create_app(state)
    transport = SyncASGITransport(app) if http_path == "asgi" else LoopbackTransport(app)
    http = httpx.Client(transport=transport, base_url=ISSUER, follow_redirects=False)
    return InProcess(state, http, sink, clock, store)


@pytest.fixture
def server(http_path: str) -> Iterator[InProcess]:
    env = make_in_process(http_path=http_path)
    with env.http:
        yield env
    env.store.close()


def _postgres_or_skip() -> None:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:
        if os.environ.get("VALETKEY_REQUIRE_POSTGRES") == "1":
            pytest.fail(
                f"PostgreSQL is required here (CI) but unreachable at {PG_ADMIN_URL}: {exc}"
            )
        pytest.skip(f"SKIPPED: PostgreSQL not reachable at {PG_ADMIN_URL} ({type(exc).__name__})")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    _postgres_or_skip()
    import sqlalchemy as sa

    name = f"vk_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))
