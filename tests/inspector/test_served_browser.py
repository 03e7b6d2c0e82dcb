"""The served inspector (``valetkey serve --inspector``) in headless Chromium: HTTP Basic opens the
page and its live stream, and the filter form narrows the live flows to one client or user."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.inspector.test_serve_inspector import (
    TOKEN,
    alice_login,
    client_credentials,
    config,
    flows_when,
)
from tests.support.serveproc import ServeProcess

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    workdir = Path(tmp_path_factory.mktemp("served-browser"))
    server = ServeProcess(config(f"sqlite:///{workdir / 'vk.db'}"), workdir, args=("--inspector",))
    server.start()
    try:
        client_credentials(server.base)
        alice_login(server.base)
        flows_when(server.base, lambda shown: {f["user"] for f in shown} >= {"alice"})
        yield server
    finally:
        server.stop()


def listed(page: Any) -> list[str]:
    return [str(b.get_attribute("data-flow")) for b in page.locator("#flow-list button").all()]


def test_basic_credentials_open_the_page_and_its_live_stream(
    chromium: Any, served: ServeProcess
) -> None:
    ctx = chromium.new_context(http_credentials={"username": "admin", "password": TOKEN})
    try:
        page = ctx.new_page()
        page.goto(served.base + "/inspector/")
        page.wait_for_function("() => document.querySelector('#live').textContent === 'live'")
        page.wait_for_function("() => document.querySelectorAll('#flow-list button').length >= 2")
        page.fill("#flow-filter input[name=client_id]", "svc")
        page.click("#flow-filter button")
        page.wait_for_url("**/inspector/?client_id=svc&user=")
        page.wait_for_function("() => document.querySelectorAll('#flow-list button').length >= 1")
        svc = [f["flow_id"] for f in flows_when(served.base, bool, "?client_id=svc")]
        assert sorted(listed(page)) == sorted(svc)
        assert page.locator("#flow-filter input[name=client_id]").input_value() == "svc"
        page.goto(served.base + "/inspector/?user=alice")
        page.wait_for_function("() => document.querySelectorAll('#flow-list button').length >= 1")
        alice = [f["flow_id"] for f in flows_when(served.base, bool, "?user=alice")]
        assert sorted(listed(page)) == sorted(alice) and not set(alice) & set(svc)
    finally:
        ctx.close()


def test_without_credentials_the_page_does_not_open(chromium: Any, served: ServeProcess) -> None:
    ctx = chromium.new_context()  # a browser that cannot answer the Basic challenge
    try:
        with pytest.raises(Exception, match="ERR_INVALID_AUTH_CREDENTIALS"):
            ctx.new_page().goto(served.base + "/inspector/")
    finally:
        ctx.close()


def test_a_filter_value_is_text_in_the_page_never_markup(
    chromium: Any, served: ServeProcess
) -> None:
    ctx = chromium.new_context(http_credentials={"username": "admin", "password": TOKEN})
    try:
        page = ctx.new_page()
        page.goto(served.base + '/inspector/?user="><b id=injected>x</b>')
        assert page.locator("#injected").count() == 0
        assert (
            page.locator("#flow-filter input[name=user]").input_value() == '"><b id=injected>x</b>'
        )
    finally:
        ctx.close()
