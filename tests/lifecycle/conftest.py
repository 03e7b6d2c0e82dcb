"""A real authorization server process for the lifecycle tests (one per session: start-up is the cost)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import BASE_CONFIG, InProcess, both_paths, make_in_process
from tests.support.servers import auth_server
from valetkey.server.passwords import hash_password


def _prehashed(text: str) -> str:
    """The users' passwords as Argon2id hashes: each server start then skips two slow hashes."""
    for password in ("wonderland", "builder-bob"):
        text = text.replace(
            f'password = "{password}"', f'password_hash = "{hash_password(password)}"'
        )
    return text


FAST_BASE = _prehashed(BASE_CONFIG)

RP_CLIENT = """
[[clients]]
client_id = "rp"
client_name = "Relying party"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1/rp/callback"]
post_logout_redirect_uris = ["http://127.0.0.1/rp/signed-out"]
grant_types = ["authorization_code", "refresh_token"]
scope = "openid profile email"
"""


def config_with_database(database: str, *, top: str = "", extra: str = "") -> str:
    """BASE_CONFIG with a database (top-level keys must precede the tables)."""
    return f'database = "{database}"\n{top}\n{FAST_BASE}\n{RP_CLIENT}\n{extra}'


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    both_paths(metafunc)


@pytest.fixture
def server(http_path: str) -> Iterator[InProcess]:
    """The shared in-process server, with the same users and clients, started faster."""
    env = make_in_process(FAST_BASE, http_path=http_path)
    with env.http:
        yield env
    env.store.close()


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a real `valetkey serve` process on a random loopback port (SQLite)."""
    workdir = tmp_path_factory.mktemp("live")
    with auth_server(config_with_database(f"sqlite:///{workdir / 'as.db'}"), workdir) as base:
        yield base


@pytest.fixture
def browser(live: str) -> Iterator[httpx.Client]:
    """A fresh cookie jar (one browser) talking to the live server."""
    with httpx.Client(follow_redirects=False, timeout=10) as client:
        yield client
