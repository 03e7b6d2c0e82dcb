"""In Chromium, every redirect a sign-in, consent or sign-out form answers with is allowed by the
page's Content-Security-Policy (form-action governs those redirects): a native app's private-use
scheme (RFC 8252 §7.1), a loopback port other than the registered one (RFC 8252 §7.3) and the
registered post_logout_redirect_uri all receive the browser, and the console stays free of CSP
complaints."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.support.chromium import Watch, launched_chromium
from tests.support.flows import authorize_url, redirect_params
from tests.support.servers import auth_server
from valetkey.core import pkce

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

NATIVE_CB = "com.example.app:/callback"  # the README's example
NATIVE_LOGOUT = "com.example.app:/signed-out"
REGISTERED_LOOPBACK = "http://127.0.0.1:8400/callback"  # the app listens on another port

CONFIG = """
[[resources]]
identifier = "https://api.valetkey.test"
name = "Demo API"
scopes = ["read:profile"]

[[clients]]
client_id = "native-app"
client_name = "Example native app"
token_endpoint_auth_method = "none"
redirect_uris = ["{native_cb}"]
post_logout_redirect_uris = ["{native_logout}"]
grant_types = ["authorization_code"]
scope = "openid read:profile"

[[clients]]
client_id = "loopback-app"
client_name = "Example loopback app"
token_endpoint_auth_method = "none"
redirect_uris = ["{loopback}"]
post_logout_redirect_uris = ["{app}/signed-out"]
grant_types = ["authorization_code"]
scope = "openid read:profile"

[[clients]]
client_id = "ipv6-app"
client_name = "Example IPv6 loopback app"
token_endpoint_auth_method = "none"
redirect_uris = ["http://[::1]/callback"]
post_logout_redirect_uris = ["{app6}/signed-out"]
grant_types = ["authorization_code"]
scope = "openid read:profile"

[[users]]
username = "alice"
password = "wonderland"
"""


class _App(BaseHTTPRequestHandler):
    """The loopback app: answers every request with a page, so the browser really lands."""

    def do_GET(self) -> None:
        body = b"<!doctype html><title>app</title><p id=app>Back in the app</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def app() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _App)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(10)


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


@pytest.fixture(scope="module")
def app6() -> Iterator[str]:
    """The same app on the IPv6 loopback address, which no CSP source can name."""
    server = _V6Server(("::1", 0), _App)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://[::1]:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(10)


@pytest.fixture(scope="module")
def base(app: str, app6: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = CONFIG.format(
        native_cb=NATIVE_CB,
        native_logout=NATIVE_LOGOUT,
        loopback=REGISTERED_LOOPBACK,
        app=app,
        app6=app6,
    )
    with auth_server(config, tmp_path_factory.mktemp("csp-as")) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def watch(chromium: Any) -> Iterator[Watch]:
    """A fresh browser profile (no session, no cookies) for each test, watched."""
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    yield Watch(context)
    context.close()


def start(base: str, client_id: str, redirect_uri: str, **extra: str) -> tuple[str, str]:
    """An authorization URL with PKCE, and its verifier."""
    verifier = pkce.new_verifier()
    url = authorize_url(
        base,
        response_type="code",
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope="openid read:profile",
        state="st-1",
        nonce="n-1",
        code_challenge=pkce.s256(verifier),
        code_challenge_method="S256",
        **extra,
    )
    return url, verifier


def sign_in(page: Any, url: str) -> Any:
    page.goto(url)
    page.fill("#username", "alice")
    page.fill("#password", "wonderland")
    page.click("button[type=submit]")
    return page


def redeem(base: str, code: str, redirect_uri: str, client_id: str, verifier: str) -> Any:
    r = httpx.post(
        f"{base}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_private_scheme_client_receives_its_code_after_consent_and_after_signing_in_again(
    watch: Watch, base: str
) -> None:
    url, verifier = start(base, "native-app", NATIVE_CB, prompt="consent")
    sign_in(watch.new_page(), url).click("button[value=approve]")  # the consent page
    got = redirect_params(watch.navigation_to(NATIVE_CB + "?"))
    assert got["state"] == "st-1" and got["iss"] == base
    tokens = redeem(base, got["code"], NATIVE_CB, "native-app", verifier)
    assert tokens["access_token"] and tokens["id_token"]

    # Signing in again: a public client on a private-use scheme cannot prove which app it is, so
    # remembered consent is not applied (RFC 8252 §8.6): the user approves again, and the app gets
    # its code through the consent form that followed the sign-in form.
    url, verifier = start(base, "native-app", NATIVE_CB, prompt="login")
    sign_in(watch.new_page(), url).click("button[value=approve]")
    again = redirect_params(watch.navigation_to(NATIVE_CB + "?code="))
    assert again["code"] != got["code"]
    assert redeem(base, again["code"], NATIVE_CB, "native-app", verifier)["access_token"]
    watch.assert_quiet()


def test_denied_consent_reaches_the_private_scheme_with_access_denied(
    watch: Watch, base: str
) -> None:
    url, _verifier = start(base, "native-app", NATIVE_CB, prompt="consent")
    sign_in(watch.new_page(), url).click("button[value=deny]")
    got = redirect_params(watch.navigation_to(NATIVE_CB + "?"))
    assert got["error"] == "access_denied" and got["state"] == "st-1" and got["iss"] == base
    assert "code" not in got
    watch.assert_quiet()


def test_loopback_client_on_another_port_than_registered(watch: Watch, base: str, app: str) -> None:
    redirect_uri = f"{app}/callback"
    assert redirect_uri != REGISTERED_LOOPBACK
    url, verifier = start(base, "loopback-app", redirect_uri, prompt="consent")
    page = sign_in(watch.new_page(), url)
    page.click("button[value=approve]")
    got = redirect_params(watch.navigation_to(redirect_uri + "?"))
    page.wait_for_selector("#app")  # the browser landed in the app
    assert page.url.startswith(redirect_uri + "?") and got["iss"] == base
    assert redeem(base, got["code"], redirect_uri, "loopback-app", verifier)["access_token"]
    watch.assert_quiet()


@pytest.mark.parametrize("client_id", ["native-app", "loopback-app"])
def test_logout_confirmation_returns_to_the_registered_uri(
    watch: Watch, base: str, app: str, client_id: str
) -> None:
    native = client_id == "native-app"
    redirect_uri = NATIVE_CB if native else f"{app}/callback"
    target = NATIVE_LOGOUT if native else f"{app}/signed-out"
    url, _verifier = start(base, client_id, redirect_uri, prompt="consent")
    sign_in(watch.new_page(), url).click("button[value=approve]")
    watch.navigation_to(redirect_uri + "?")

    page = watch.new_page()
    query = {"client_id": client_id, "post_logout_redirect_uri": target, "state": "bye"}
    page.goto(f"{base}/logout?{urlencode(query)}")
    page.click("button[value=logout]")  # no id_token_hint: the user confirms
    assert redirect_params(watch.navigation_to(target + "?")) == {"state": "bye"}
    if not native:
        page.wait_for_selector("#app")
    # Signed out: the next authorization asks for the password again.
    again = watch.new_page()
    again.goto(url)
    again.wait_for_selector("#password")
    watch.assert_quiet()


def test_an_ipv6_loopback_client_is_sent_on_by_a_page(watch: Watch, base: str, app6: str) -> None:
    """CSP has no source for ``[::1]``: the consent form answers with a page that sends the browser
    on (a navigation, which form-action does not govern) instead of a redirect the policy blocks."""
    redirect_uri = f"{app6}/callback"
    url, verifier = start(base, "ipv6-app", redirect_uri, prompt="consent")
    page = sign_in(watch.new_page(), url)
    page.click("button[value=approve]")
    got = redirect_params(watch.navigation_to(redirect_uri + "?"))
    page.wait_for_selector("#app")  # the browser landed in the app
    assert got["iss"] == base
    assert redeem(base, got["code"], redirect_uri, "ipv6-app", verifier)["access_token"]
    watch.assert_quiet()
