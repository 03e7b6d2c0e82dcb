"""Cookie signing keys rotate: the first key signs, every key verifies, a removed key verifies nothing.

A browser's session cookie and a form's CSRF token made under key A still work after the server
restarts with [B, A]; after it restarts with [B] alone the session is ignored (the user signs in
again) and the form is refused. The same holds for the key generated and kept in the database
("stored"), the default before any key is configured."""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest

from tests.conftest import ISSUER, InProcess, make_in_process, settings_from
from tests.support.asgi import SyncASGITransport
from tests.support.forms import Form, the_form
from valetkey.asgi import create_app
from valetkey.core import pkce
from valetkey.core.clock import FixedClock
from valetkey.core.events import RecordingSink
from valetkey.server.cookies import Signer, signing_keys
from valetkey.server.pages import SESSION_COOKIE
from valetkey.server.state import ServerState

KEY_A = "key-A-7Qm1r0t4t1onk3yAAAAAAAAAAAAAAAAAAAAAAA"
KEY_B = "key-B-7Qm1r0t4t1onk3yBBBBBBBBBBBBBBBBBBBBBBB"
CALLBACK = "https://web.example/callback"


# -- the signer -----------------------------------------------------------------------------------


def test_the_first_key_signs_and_every_key_verifies() -> None:
    old, both, new = Signer([KEY_A]), Signer([KEY_B, KEY_A]), Signer([KEY_B])
    signed = old.sign("session", "sid")
    assert both.unsign("session", signed) == "sid"
    assert new.unsign("session", signed) is None  # removed key: refused
    assert new.unsign("session", both.sign("session", "sid")) == "sid"
    assert old.unsign("session", both.sign("session", "sid")) is None
    assert both.unsign("other-purpose", signed) is None
    assert both.unsign("session", signed[:-1] + ("A" if signed[-1] != "A" else "B")) is None


def test_csrf_tokens_follow_the_same_keys() -> None:
    old, both, new = Signer([KEY_A]), Signer([KEY_B, KEY_A]), Signer([KEY_B])
    token = old.csrf_token("browser-1", "login")
    assert both.check_csrf("browser-1", "login", token)
    assert not new.check_csrf("browser-1", "login", token)
    assert not both.check_csrf("browser-2", "login", token)
    assert not both.check_csrf("browser-1", "consent", token)
    assert both.csrf_token("browser-1", "login") == new.csrf_token("browser-1", "login")


def test_cookies_signed_before_keys_could_rotate_still_verify() -> None:
    # The MAC as one stored secret made it before rotation existed: upgrading signs nobody out.
    key = hashlib.sha256(b"valetkey-cookies\x00" + KEY_A.encode()).digest()
    mac = hmac.new(key, b"session\x00sid", hashlib.sha256).digest()
    earlier = "sid." + urlsafe_b64encode(mac).rstrip(b"=").decode()
    assert Signer([KEY_B, KEY_A]).unsign("session", earlier) == "sid"


def test_the_stored_key_is_read_only_when_named() -> None:
    reads: list[str] = []

    def stored() -> str:
        reads.append("read")
        return KEY_A

    assert signing_keys(None, stored) == (KEY_A,)
    assert signing_keys((KEY_B, "stored"), stored) == (KEY_B, KEY_A)
    assert len(reads) == 2
    assert signing_keys((KEY_B,), stored) == (KEY_B,)
    assert len(reads) == 2
    with pytest.raises(ValueError):
        Signer([])


# -- a server restarted on the same database with other keys --------------------------------------


class Deployment:
    """One database; each ``restart`` is a new server on it with other cookie keys, reached by the
    same browser (its cookies go along)."""

    def __init__(self, keys: list[str] | None) -> None:
        self.first: InProcess = make_in_process(**_keys(keys))
        self.http = self.first.http
        self._clients = [self.http]

    def restart(self, keys: list[str] | None) -> httpx.Client:
        settings = settings_from(**_keys(keys))
        state = ServerState.build(settings, self.first.store, RecordingSink(), FixedClock())
        http = httpx.Client(
            transport=SyncASGITransport(create_app(state)), base_url=ISSUER, follow_redirects=False
        )
        http.cookies = self.http.cookies
        self.http = http
        self._clients.append(http)
        return http

    def close(self) -> None:
        for http in self._clients:
            http.close()
        self.first.store.close()


def _keys(keys: list[str] | None) -> dict[str, list[str]]:
    return {} if keys is None else {"cookie_keys": keys}


@pytest.fixture
def deployments() -> Iterator[list[Deployment]]:
    made: list[Deployment] = []
    yield made
    for d in made:
        d.close()


def web_authorize() -> str:
    params = {
        "response_type": "code",
        "client_id": "web",
        "redirect_uri": CALLBACK,
        "scope": "read:profile",
        "state": "s",
        "code_challenge": pkce.s256(pkce.new_verifier()),
        "code_challenge_method": "S256",
    }
    return "/authorize?" + urlencode(params)


def sign_in(http: httpx.Client) -> tuple[Form, Form]:
    """Sign in as alice; the login form used and the consent form shown after it."""
    page = http.get(web_authorize())
    login = the_form(page.text, str(page.url))
    r = http.post(login.action, data=dict(login.fields, username="alice", password="wonderland"))
    assert r.status_code == 200 and 'value="approve"' in r.text, r.text
    return login, the_form(r.text, str(r.url))


def approve(http: httpx.Client, consent: Form) -> httpx.Response:
    return http.post(consent.action, data=dict(consent.fields, decision="approve"))


def signed_in(http: httpx.Client) -> bool:
    """Whether the browser's session is honoured: the consent given to ``web`` is remembered, so a
    new request goes straight back to the client; without a session, the login page."""
    r = http.get(web_authorize())
    if r.status_code == 303:
        assert r.headers["location"].startswith(CALLBACK + "?code=")
        return True
    assert r.status_code == 200 and 'name="password"' in r.text, r.text  # a page, not an error
    return False


def test_a_session_and_a_form_made_under_a_removed_key_are_refused(
    deployments: list[Deployment],
) -> None:
    d = Deployment([KEY_A])
    deployments.append(d)
    login, consent = sign_in(d.http)
    session_a = d.http.cookies[SESSION_COOKIE]

    # [B, A]: B signs, A still verifies; the form from before the restart goes through.
    both = d.restart([KEY_B, KEY_A])
    r = approve(both, consent)
    assert r.status_code == 303 and r.headers["location"].startswith(CALLBACK + "?code=")
    assert signed_in(both)
    assert both.cookies[SESSION_COOKIE] == session_a  # nobody had to sign in again

    # [B]: the session made under A is ignored (sign in again), A's forms are refused.
    alone = d.restart([KEY_B])
    assert not signed_in(alone)
    r = alone.post(login.action, data=dict(login.fields, username="alice", password="wonderland"))
    assert r.status_code == 403 and "This form has expired" in r.text
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
    assert approve(alone, consent).status_code == 403
    # Signing in again under B works (consent is remembered), and that session lasts.
    alone.cookies.clear()
    page = alone.get(web_authorize())
    form = the_form(page.text, str(page.url))
    r = alone.post(form.action, data=dict(form.fields, username="alice", password="wonderland"))
    assert r.status_code == 303 and r.headers["location"].startswith(CALLBACK + "?code=")
    assert Signer([KEY_B]).unsign("session", alone.cookies[SESSION_COOKIE])
    assert not Signer([KEY_A]).unsign("session", alone.cookies[SESSION_COOKIE])
    assert signed_in(d.restart([KEY_B]))


def test_sessions_under_the_stored_key_survive_the_move_to_configured_keys(
    deployments: list[Deployment],
) -> None:
    d = Deployment(None)  # today's default: the key generated and kept in the database
    deployments.append(d)
    _, consent = sign_in(d.http)
    approve(d.http, consent)
    assert signed_in(d.http)

    assert signed_in(d.restart([KEY_B, "stored"]))
    assert signed_in(d.restart(["stored", KEY_B]))
    # The stored key dropped: its sessions are over; the stored key is not used unless named.
    assert not signed_in(d.restart([KEY_B]))
