"""Cookie-key rotation with a real `valetkey serve`, restarted on the same SQLite database, every
secret kept out of the configuration file: cookie keys, the client secret and the password come
from files and environment variables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import WEB_SECRET
from tests.lifecycle.helpers import code_tokens
from tests.server.test_cookie_rotation import CALLBACK, KEY_A, KEY_B, web_authorize
from tests.support.flows import run_code_flow
from tests.support.serveproc import ServeProcess

TABLES = f"""
[[resources]]
identifier = "https://api.valetkey.test"
scopes = ["read:profile"]

[[clients]]
client_id = "web"
client_secret_file = "{{dir}}/web-secret"
redirect_uris = ["{CALLBACK}"]
grant_types = ["authorization_code"]
scope = "read:profile"

[[users]]
username = "alice"
password_env = "VK_TEST_ALICE_PASSWORD"
"""


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServeProcess]:
    (tmp_path / "web-secret").write_text(WEB_SECRET + "\n")
    (tmp_path / "web-secret").chmod(0o600)
    monkeypatch.setenv("VK_TEST_ALICE_PASSWORD", "wonderland")
    proc = ServeProcess("", tmp_path)
    yield proc
    proc.stop()


def restart(server: ServeProcess, keys_line: str) -> None:
    """Stop (if running) and start again on the same port and database with other cookie keys."""
    server.stop()
    tables = TABLES.replace("{dir}", str(server.workdir))
    database = f'database = "sqlite:///{server.workdir / "valetkey.db"}"\n'
    server.config_path.write_text(database + keys_line + "\n" + tables)
    server.start()


def signed_in(http: httpx.Client) -> bool:
    r = http.get(web_authorize())
    assert r.status_code in (200, 303), r.text
    return r.status_code == 303 and r.headers["location"].startswith(CALLBACK + "?code=")


def test_sessions_survive_a_rotation_and_end_when_the_old_key_is_dropped(
    server: ServeProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    restart(server, f'cookie_keys = ["{KEY_A}"]')
    with httpx.Client(base_url=server.base, timeout=20) as http:
        # The web client authenticates with WEB_SECRET, which the server read from its file.
        assert code_tokens(http, server.base, client_id="web", scope="read:profile")
        assert signed_in(http)

        # Step 1 and 2 at once (one instance): B first, A still verifies; keys from a file.
        keys = server.workdir / "cookie-keys"
        keys.write_text(f"{KEY_B}\n{KEY_A}\n")
        keys.chmod(0o600)
        restart(server, f'cookie_keys_file = "{keys}"')
        assert signed_in(http)

        # Step 3: A dropped (keys from a variable now): the browser signs in again.
        monkeypatch.setenv("VK_TEST_COOKIE_KEYS", KEY_B)
        restart(server, 'cookie_keys_env = "VK_TEST_COOKIE_KEYS"')
        assert not signed_in(http)
        run_code_flow(http, server.base, client_id="web", redirect_uri=CALLBACK)
        assert signed_in(http)
