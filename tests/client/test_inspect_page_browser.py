"""``token get --inspect-page`` in headless Chromium: the CLI (a real process, against ``valetkey
serve``) serves the inspector's own page with the one flow it recorded; a tampered callback is
drawn there as step 7 failed, its failed check with its spec section, the steps the client cannot
see as such, and nothing after the refusal as happened."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client.clirun import deliver, waiting_cli
from tests.client.test_inspect_cli import tampered
from tests.inspector.conftest import screenshot
from tests.inspector.live import open_step, status, wait_counter, wait_title
from tests.support.chromium import launched_chromium
from tests.support.flows import login_and_consent
from tests.support.servers import isolated_env

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with launched_chromium() as browser:
        yield browser


def test_a_refused_callback_is_drawn_on_the_inspector_page(
    chromium: Any, issuer: str, tmp_path: Path
) -> None:
    env = {**os.environ, **isolated_env(tmp_path)}
    args = ["token", "get", "--no-browser", "--issuer", issuer, "--client-id", "cli",
            "--scope", "read:profile", "--timeout", "60", "--inspect-page", "0"]  # fmt: skip
    with waiting_cli(args, env) as waiting, httpx.Client(timeout=10) as browser:
        location = login_and_consent(browser, waiting.url).headers["location"]
        deliver(browser, tampered(location, state="planted-by-an-attacker"))
        assert waiting.proc.stderr is not None
        for line in iter(waiting.proc.stderr.readline, ""):
            if line.startswith("http://127.0.0.1:"):
                break
        context = chromium.new_context(viewport={"width": 1440, "height": 900})
        context.set_default_timeout(15_000)
        try:
            page = context.new_page()
            page.goto(line.strip())
            page.wait_for_selector("#live.on")
            wait_title(page, "Authorization Code + PKCE")
            # the last thing drawn: the discovery request, listed after the canonical steps
            wait_counter(page, "After step 11: +1")
            assert status(page, 7) == "failed"
            assert [status(page, n) for n in (1, 2)] == ["done", "done"]
            assert [status(page, n) for n in (3, 4, 5, 6)] == ["unobserved"] * 4
            assert [status(page, n) for n in (8, 9)] == ["not_reached"] * 2
            detail = open_step(page, 7)
            assert "check_state" in detail and "RFC 6749 §10.12" in detail
            assert "Not seen by the client" in open_step(page, 4)
            screenshot(page, "inspector-cli-inspect-page")
        finally:
            context.close()
        waiting.proc.send_signal(signal.SIGINT)
        code, _out, err = waiting.finish()
    assert code != 0 and "state does not match" in err
