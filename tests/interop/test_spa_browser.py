"""A single-page app on another loopback origin, with a third-party browser OAuth library
(oauth4webapi from npm, loaded as an ES module without a build step), in headless Chromium
against a real ``valetkey serve``: discovery, Authorization Code + PKCE, userinfo, refresh with
rotation and revocation all from the page's script (CORS, issue 17); the same page on an origin no
client registered reads the public metadata but is refused the token endpoint."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from tests.interop.node_packages import require_packages
from tests.support.chromium import launched_chromium
from tests.support.serveproc import ServeProcess
from tests.support.servers import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SPA_DIR = Path(__file__).with_name("spa")
LIBRARY = SPA_DIR / "node_modules" / "oauth4webapi" / "build" / "index.js"


class Pages(BaseHTTPRequestHandler):
    """The SPA's own static server: the page at / and /callback, the library as a module."""

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path in ("/", "/callback"):
            body, kind = (SPA_DIR / "app.html").read_bytes(), "text/html; charset=utf-8"
        elif path == "/oauth4webapi.js":
            body, kind = LIBRARY.read_bytes(), "text/javascript"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def spa_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    require_packages(SPA_DIR, tmp_path_factory.mktemp("npm-cache"), "oauth4webapi (SPA)")
    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), partial(Pages))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield port
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def issuer(spa_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = f"""
[[resources]]
identifier = "https://api.valetkey.test"
scopes = ["read:profile"]

[[clients]]
client_id = "spa"
client_name = "Single-page app"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1:{spa_port}/callback"]
grant_types = ["authorization_code", "refresh_token"]
scope = "openid profile read:profile offline_access"

[[users]]
username = "alice"
password = "wonderland"
name = "Alice Liddell"
"""
    server = ServeProcess(config, tmp_path_factory.mktemp("spa-serve")).start()
    try:
        yield server.base
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as chromium:
        yield chromium


def _result(page: Any) -> dict[str, Any]:
    page.wait_for_function("window.result && window.result.done", timeout=30_000)
    result: dict[str, Any] = page.evaluate("window.result")
    return result


def test_a_browser_app_signs_in_refreshes_and_revokes_from_its_own_origin(
    browser: Any, spa_port: int, issuer: str
) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        query = urlencode({"issuer": issuer, "client_id": "spa"})
        page.goto(f"http://127.0.0.1:{spa_port}/?{query}")
        page.wait_for_url(f"{issuer}/authorize*")
        page.fill("#username", "alice")
        page.fill("#password", "wonderland")
        page.click("button[type=submit]")
        page.click("button[value=approve]")
        page.wait_for_url(f"http://127.0.0.1:{spa_port}/callback*")
        result = _result(page)
    finally:
        context.close()
    assert "error" not in result, result
    assert result["sub"] and result["userinfo_sub"] == result["sub"]
    assert result["name"] == "Alice Liddell"
    assert result["token_type"].lower() == "bearer"
    assert result["rotated"] is True and result["refreshed_access"] is True
    assert result["after_revocation"] == "invalid_grant"


def test_the_same_app_on_an_unregistered_origin_is_refused_the_token_endpoint(
    browser: Any, spa_port: int, issuer: str
) -> None:
    context = browser.new_context()
    console: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda message: console.append(message.text))
        query = urlencode({"issuer": issuer, "client_id": "spa", "probe": "1"})
        page.goto(f"http://localhost:{spa_port}/?{query}")  # another origin, same files
        result = _result(page)
    finally:
        context.close()
    assert result.get("metadata") == "read", result  # public: any origin
    assert result["token_endpoint"] == "refused: TypeError", result
    assert any("CORS" in line for line in console), console
