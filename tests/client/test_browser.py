"""The headless path driven by a real browser: the system Chromium through Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.client.clirun import cli, waiting_cli
from tests.support.chromium import launched_chromium
from valetkey.client.tokenstore import TokenStore

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with launched_chromium() as browser:
        yield browser


def sign_in(page: Any, url: str) -> None:
    page.goto(url)
    page.fill("#username", "alice")
    page.fill("#password", "wonderland")
    page.click("button[type=submit]")
    done_or_consent = page.locator("text=Signed in").or_(page.locator("button[value=approve]"))
    done_or_consent.first.wait_for(timeout=15_000)
    if page.locator("button[value=approve]").count():
        page.click("button[value=approve]")
    page.wait_for_selector("text=Signed in", timeout=15_000)


CASES = [
    ("authorization_code", "conf-post", "openid read:profile", []),
    ("implicit", "spa-implicit", "openid profile read:profile", []),
    # A body parameter turns the authorization request into a form POST from a local page.
    (
        "authorization_code",
        "conf-post",
        "openid read:profile",
        ["--auth-param", "body:ui_locales=fr"],
    ),
]


@pytest.mark.parametrize(
    ("grant", "client_id", "scope", "extra"), CASES, ids=["code", "implicit", "code-form-post"]
)
def test_no_browser_flow_completed_in_chromium(
    chromium: Any,
    issuer: str,
    xdg: dict[str, str],
    grant: str,
    client_id: str,
    scope: str,
    extra: list[str],
) -> None:
    from tests.client.conftest import WEB_SECRET

    secret = ["--client-secret", WEB_SECRET, "--client-auth", "body"] if grant != "implicit" else []
    args = ["token", "get", "--no-browser", "--grant", grant, "--issuer", issuer,
            "--client-id", client_id, *secret, "--scope", scope, "--name", grant,
            "--timeout", "60", *extra]  # fmt: skip
    context = chromium.new_context()
    try:
        with waiting_cli(args, xdg) as waiting:
            assert ("/start/" in waiting.url) == bool(extra)
            page = context.new_page()
            sign_in(page, waiting.url)
            assert "close this tab" in page.content()
            code, _out, err = waiting.finish()
    finally:
        context.close()
    assert code == 0, err
    saved = TokenStore().get(grant).tokens
    assert saved.id_token and saved.access_token
    shown = cli("token", "show", grant)
    assert "ID token claims" in shown.output and saved.access_token not in shown.output
