"""The system Chromium through Playwright, and a watch on one browser context: every request its
pages make (also to a private-use scheme no browser can open, where a native app would take over)
and every complaint of a Content Security Policy on their consoles."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Chromium's words for a refused form (or redirect) and for a source it cannot parse.
CSP_CONSOLE = "Content Security Policy"


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (install Debian's chromium: apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install -e '.[dev]')"
    return None


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """Chromium for a module's tests; without it the tests skip, or fail when
    VALETKEY_REQUIRE_BROWSER=1."""
    missing = _missing()
    if missing is not None:
        if os.environ.get("VALETKEY_REQUIRE_BROWSER") == "1":
            pytest.fail(f"VALETKEY_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(f"SKIPPED: browser tests need Chromium: {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Watch:
    """What the pages of one browser context asked for and what their policies refused, in
    arrival order.

    A tab that has just been sent to a private-use scheme may still cancel its next navigation
    while Chromium hands the URL to the (missing) app, so each step of a test opens its own
    page (``new_page``) in the context, sharing its cookies.
    """

    def __init__(self, context: Any) -> None:
        self.context = context
        self.requested: list[str] = []
        self.csp_messages: list[str] = []
        self._searched = 0  # requests before this index were looked at by navigation_to
        context.on("request", lambda request: self.requested.append(request.url))
        context.on("console", self._console)

    def _console(self, message: Any) -> None:
        if CSP_CONSOLE in message.text:
            self.csp_messages.append(message.text)

    def new_page(self) -> Any:
        return self.context.new_page()

    def _wait(self, ms: int) -> None:
        self.context.pages[-1].wait_for_timeout(ms)  # Playwright delivers events while it waits

    def navigation_to(self, prefix: str, timeout: float = 15.0) -> str:
        """The next URL requested (since the last call) that starts with ``prefix``: the browser
        was allowed to go there. Fails at once on a CSP complaint, with the requests seen on a
        timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert not self.csp_messages, f"CSP refused or ignored something: {self.csp_messages}"
            for i in range(self._searched, len(self.requested)):
                if self.requested[i].startswith(prefix):
                    self._searched = i + 1
                    return self.requested[i]
            self._wait(50)
        raise AssertionError(f"no request to {prefix!r} within {timeout}s; saw {self.requested}")

    def assert_quiet(self) -> None:
        self._wait(200)  # a late console message still arrives
        assert not self.csp_messages, f"CSP refused or ignored something: {self.csp_messages}"
