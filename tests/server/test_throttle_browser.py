"""In Chromium, the sign-in page of a real `valetkey serve` after too many wrong passwords: the
form again with "Too many attempts: try again in N seconds", answered 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.lifecycle.conftest import FAST_BASE
from tests.support.chromium import launched_chromium
from tests.support.flows import authorize_url
from tests.support.servers import auth_server
from valetkey.core import pkce

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

# One free failure, then a minute: no window ends while the test runs.
TOP = "throttle_free_failures = 1\nthrottle_first_delay = 60\nthrottle_account_cap = 60\n"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with auth_server(TOP + FAST_BASE, tmp_path_factory.mktemp("throttle-as")) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with launched_chromium() as browser:
        yield browser


def test_the_sign_in_page_says_how_long_to_wait(base: str, chromium: Any) -> None:
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(
        authorize_url(
            base,
            response_type="code",
            client_id="cli",
            redirect_uri="http://127.0.0.1/callback",
            scope="read:profile",
            state="st",
            code_challenge=pkce.s256(pkce.new_verifier()),
            code_challenge_method="S256",
        )
    )
    statuses = []
    for password in ("nope", "still-nope", "wonderland"):
        page.fill("#password", password)
        page.fill("#username", "alice")
        with page.expect_response(lambda r: r.url.endswith("/login")) as answer:
            page.click("button[type=submit], input[type=submit]")
        statuses.append(answer.value.status)
    assert statuses == [401, 401, 429]
    assert answer.value.headers["retry-after"] == "60"
    alert = page.locator("[role=alert]").inner_text()
    assert alert == "Too many attempts: try again in 60 seconds."
    assert page.input_value("#username") == "alice"  # the form is there to try again later
    assert not any(c["name"] == "vk_session" for c in context.cookies())
    context.close()
