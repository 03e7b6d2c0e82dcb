"""A real authorization server process for the lifecycle tests (one per module: start-up is the cost)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import BASE_CONFIG
from tests.support.servers import auth_server

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
    return f'database = "{database}"\n{top}\n{BASE_CONFIG}\n{RP_CLIENT}\n{extra}'


@pytest.fixture(scope="module")
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
