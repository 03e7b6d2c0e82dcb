"""Learn mode in headless Chromium: an inspector that has seen no traffic at all opens on the
canonical Authorization Code + PKCE diagram, playable, with its toggle and its sections."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from tests.inspector.conftest import screenshot
from tests.inspector.layout import assert_labels_readable
from tests.support.servers import free_port
from valetkey.inspector import EventBus, create_inspector_app
from valetkey.inspector.catalog import CATALOG

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
LANES = ["User", "Browser", "Client App", "Authorization Server", "Resource Server"]
SECTIONS = [
    "What problem does this solve?",
    "Why PKCE?",
    "Things to notice in the flow",
    "Common pitfalls",
]


@pytest.fixture(scope="module")
def quiet_inspector() -> Iterator[str]:
    """An inspector on an event bus nothing feeds: no flow has ever happened."""
    bus = EventBus()
    port = free_port()
    config = uvicorn.Config(
        create_inspector_app(bus), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(url + "/api/flows", timeout=1.0).json() == {"flows": []}:
                break
        except httpx.TransportError:
            threading.Event().wait(0.05)
    yield url
    bus.close()
    server.should_exit = True
    thread.join(10)


def open_page(chromium: Any, url: str, width: int = 1440) -> Any:
    context = chromium.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_selector("#steps li.canonical")
    return page


def counter(page: Any) -> str:
    return str(page.locator("#step-counter").inner_text())


def step_titles(page: Any) -> list[str]:
    return list(page.locator("#steps > li.canonical > .row .label").all_inner_texts())


def test_the_pkce_flow_is_there_before_any_traffic(chromium: Any, quiet_inspector: str) -> None:
    page = open_page(chromium, quiet_inspector)
    assert page.locator("#flow-title").inner_text() == "Authorization Code + PKCE"
    assert page.locator("#mode").inner_text().lower().startswith("learn")
    assert page.locator("#no-flows").is_visible()
    assert not page.locator("#export").is_visible()  # a canonical flow has nothing to export
    assert page.locator("#lanes .lane").all_inner_texts() == LANES
    legend = page.locator(".legend").inner_text()
    assert "Front channel (via browser)" in legend and "Back channel (server-to-server)" in legend
    steps = page.locator("#steps > li.canonical")
    assert steps.count() == 11 and counter(page) == "Step 1 / 11"
    first = steps.first
    assert (first.get_attribute("data-source"), first.get_attribute("data-target")) == (
        "user",
        "client",
    )
    detail = page.locator("#detail").inner_text()
    assert "Clicks “Log in”" in detail and "User → Client App" in detail
    assert "code_challenge = BASE64URL(SHA-256(code_verifier))" in detail
    assert page.locator("#about .about-section h3").all_inner_texts() == SECTIONS
    channels = [steps.nth(i).get_attribute("data-channel") for i in range(11)]
    assert channels == ["front"] * 7 + ["back"] * 4
    arrow = page.locator('#steps > li.canonical[data-number="6"] .arrow')
    assert arrow.evaluate("e => getComputedStyle(e).borderTopStyle") == "dashed"
    screenshot(page, "inspector-learn-pkce")

    # Playable with the keyboard and the buttons.
    page.keyboard.press("ArrowRight")
    assert counter(page) == "Step 2 / 11"
    assert "Redirect to /authorize" in page.locator("#detail-title").inner_text()
    page.keyboard.press("End")
    assert counter(page) == "Step 11 / 11"
    page.click("#prev")
    assert counter(page) == "Step 10 / 11"
    page.keyboard.press("Home")
    page.click("#next")
    assert counter(page) == "Step 2 / 11"
    page.locator('#steps > li.canonical[data-number="8"] > .row').click()
    assert (
        counter(page) == "Step 8 / 11" and "code_verifier" in page.locator("#detail").inner_text()
    )
    page.click("#play")
    page.wait_for_function(
        "() => document.querySelector('#step-counter').textContent === 'Step 2 / 11'"
    )
    page.click("#play")  # pause
    page.context.close()


def test_the_pkce_toggle_rewrites_the_steps(chromium: Any, quiet_inspector: str) -> None:
    page = open_page(chromium, quiet_inspector)
    toggle = page.locator("#toggle")
    assert toggle.is_checked() and page.locator("#toggle-box").inner_text().strip() == "PKCE on"
    with_pkce = step_titles(page)
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert counter(page) == "Step 8 / 11"
    page.locator("#toggle-box").click()
    page.wait_for_function(
        "() => document.querySelector('#flow-title').textContent.includes('confidential')"
    )
    without = step_titles(page)
    assert len(without) == 11 and not toggle.is_checked()
    assert counter(page) == "Step 8 / 11"  # the same place in the rewritten flow
    assert without[7] == "POST /token with code + client_secret"
    assert not any("code_verifier" in t or "verifier" in t for t in without)
    changed = [i + 1 for i, (a, b) in enumerate(zip(with_pkce, without, strict=True)) if a != b]
    assert changed == [2, 8, 9]
    detail = page.locator("#detail").inner_text()
    assert "client_secret" in detail and "code_verifier" not in detail
    why = page.locator("#about .about-section").nth(1).inner_text()
    assert "Why PKCE?" in why and "injection" in why
    screenshot(page, "inspector-learn-confidential")
    page.locator("#toggle-box").click()
    page.wait_for_function(
        "() => document.querySelector('#flow-title').textContent === 'Authorization Code + PKCE'"
    )
    assert step_titles(page) == with_pkce
    page.keyboard.press("ArrowRight")  # the focus is on the switch: the arrow keys still step
    assert counter(page) == "Step 9 / 11"
    page.context.close()


def test_the_pkce_flow_links_to_openid_connect(chromium: Any, quiet_inspector: str) -> None:
    page = open_page(chromium, quiet_inspector)
    link = page.locator('#about a[data-learn="oidc"]')
    assert "OpenID Connect" in link.inner_text()
    link.click()
    page.wait_for_function(
        "() => document.querySelector('#flow-title').textContent.startsWith('OpenID Connect')"
    )
    assert page.url.endswith("#learn=oidc")
    titles = step_titles(page)
    assert counter(page) == f"Step 1 / {len(titles)}"
    assert "Validates the ID token" in titles and "GET /userinfo with the access token" in titles
    about = page.locator("#about").inner_text()
    assert "nonce" in about and "ID token" in about
    screenshot(page, "inspector-learn-oidc")
    # Back to the code flow from OpenID Connect's own pointer, then the other flows in the list.
    page.locator('#related a[data-learn="pkce"]').click()
    page.wait_for_function(
        "() => document.querySelector('#flow-title').textContent === 'Authorization Code + PKCE'"
    )
    for spec, title in (
        ("refresh", "Refresh (rotation)"),
        ("client_credentials", "Client Credentials"),
    ):
        page.locator(f'#learn-list button[data-learn="{spec}"]').click()
        assert page.locator("#flow-title").inner_text() == title
        assert page.locator("#about .about-section").count() == 4
    page.context.close()


@pytest.mark.parametrize("width", [1024, 1440])
def test_learn_labels_are_readable(chromium: Any, quiet_inspector: str, width: int) -> None:
    page = open_page(chromium, quiet_inspector, width)
    learnable = [spec.id for spec in CATALOG.values() if spec.learn]
    assert "device" in learnable
    for spec in learnable:  # every flow the learn list offers, the Device flow included
        page.goto(f"{quiet_inspector}/#learn={spec}")
        page.reload()
        page.wait_for_selector("#steps li.canonical")
        assert_labels_readable(page)
    page.goto(f"{quiet_inspector}/#learn=pkce")
    page.reload()
    page.wait_for_selector("#steps li.canonical")
    # Selecting a step far down still shows its details on screen (the panel stays in view).
    page.locator('#steps > li.canonical[data-number="11"] > .row').click()
    assert_detail_visible(page, "Checks the token, answers")
    page.keyboard.press("ArrowLeft")  # the keys still step the flow
    assert "Step 10 / 11" in page.locator("#detail-title").inner_text()
    page.evaluate("() => window.scrollTo(0, 0)")  # a full-page picture draws sticky parts here
    screenshot(page, f"inspector-learn-{width}")
    page.context.close()


def assert_detail_visible(page: Any, title: str) -> None:
    heading = page.locator("#detail-title")
    assert title in heading.inner_text()
    box = heading.bounding_box()
    height = page.evaluate("() => window.innerHeight")
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, box
