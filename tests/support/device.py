"""The device flow's test configuration and a person at ``/device``, driving the real forms."""

from __future__ import annotations

import httpx

from tests.conftest import BASE_CONFIG
from tests.support.forms import the_form
from valetkey.core.device import DEVICE_CODE_GRANT

CONSOLE_SECRET = "console-secret-0123456789abcdef0123456789"
DEVICE_CONFIG = (
    BASE_CONFIG
    + f"""
[[clients]]
client_id = "tv"
client_name = "Living-room TV"
token_endpoint_auth_method = "none"
grant_types = ["{DEVICE_CODE_GRANT}", "refresh_token"]
scope = "openid profile read:files offline_access"

[[clients]]
client_id = "console"
client_name = "Game console"
client_secret = "{CONSOLE_SECRET}"
grant_types = ["{DEVICE_CODE_GRANT}"]
scope = "read:files"
"""
)


def enter_code(http: httpx.Client, typed: str, url: str = "/device") -> httpx.Response:
    """Open the entry page (``url`` may carry ``?user_code=``) and send ``typed``."""
    page = http.get(url)
    assert page.status_code == 200, page.text
    form = the_form(page.text, str(page.url))
    return http.post(form.action, data=dict(form.fields, user_code=typed))


def sign_in(
    http: httpx.Client, page: httpx.Response, password: str = "wonderland"
) -> httpx.Response:
    form = the_form(page.text, str(page.url))
    assert "password" in form.fields, page.text
    return http.post(form.action, data=dict(form.fields, username="alice", password=password))


def decide(http: httpx.Client, page: httpx.Response, decision: str) -> httpx.Response:
    form = the_form(page.text, str(page.url))
    assert ("decision", decision) in form.buttons, page.text
    return http.post(form.action, data=dict(form.fields, decision=decision))


def approve(http: httpx.Client, user_code: str, decision: str = "approve") -> httpx.Response:
    """A person who is not signed in yet: code, sign-in, then allow (or deny)."""
    return decide(http, sign_in(http, enter_code(http, user_code)), decision)
