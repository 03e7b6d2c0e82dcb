"""Live mode end to end in headless Chromium: the demo client, the real servers and the inspector
drawing each real flow on its canonical steps."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.inspector.conftest import ARTIFACTS, screenshot
from tests.inspector.layout import assert_labels_readable
from tests.inspector.live import (
    flows,
    log_in,
    open_inspector,
    open_step,
    select_flow,
    status,
    step,
    wait_counter,
    wait_title,
)
from tests.inspector.test_learn import assert_detail_visible
from valetkey.cli.demo_stack import DemoStack

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
LANES = ["User", "Browser", "Client App", "Authorization Server", "Resource Server"]
DOCS_SCREENSHOT = Path(__file__).parents[2] / "docs" / "inspector.png"


def sub_names(page: Any, number: int) -> list[str]:
    subs = step(page, number).locator("li.sub")
    return [str(subs.nth(i).get_attribute("data-name")) for i in range(subs.count())]


def test_a_pkce_login_reads_step_11_of_11_with_its_sub_steps_nested(
    context: Any, fresh_demo: DemoStack
) -> None:
    # Its own demo: in the session's, another test's user may have approved this client already
    # (a remembered consent is drawn as skipped, which this test checks only on its second login).
    demo = fresh_demo
    inspector = open_inspector(context, demo)
    app = context.new_page()
    log_in(app, demo, "pkce")  # a new browser: the user signs in and approves
    inspector.bring_to_front()
    wait_title(inspector, "Authorization Code + PKCE")
    wait_counter(inspector, "Step 11 / 11")
    assert inspector.locator("#mode").text_content() == "Live flow"
    assert inspector.locator("#lanes .lane").all_inner_texts() == LANES
    assert inspector.locator("#steps > li.canonical").count() == 11
    assert {status(inspector, n) for n in range(1, 12)} == {"done"}
    assert sub_names(inspector, 4) == ["login.shown"]  # the sign-in page, inside "Signs in"
    assert sub_names(inspector, 5) == ["consent.shown"]
    assert "token.received" in sub_names(inspector, 9)
    assert (
        inspector.locator("#flow-list button[aria-current=true] .badge.status").inner_text()
        == "complete"
    )
    # Front channel through the browser, back channel server to server, each drawn as such.
    code = step(inspector, 6)
    assert (code.get_attribute("data-source"), code.get_attribute("data-target")) == (
        "authorization_server",
        "browser",
    )
    assert (
        code.locator("> .row .arrow").evaluate("e => getComputedStyle(e).borderTopStyle")
        == "dashed"
    )
    token = step(inspector, 8)
    assert (token.get_attribute("data-source"), token.get_attribute("data-channel")) == (
        "client",
        "back",
    )
    assert (
        token.locator("> .row .arrow").evaluate("e => getComputedStyle(e).borderTopStyle")
        == "solid"
    )
    screenshot(inspector, "inspector-pkce-flow")

    # The flow's export buttons: a Mermaid diagram and a HAR file of this very flow.
    assert inspector.locator("#export").is_visible()
    diagram = inspector.evaluate(
        "() => fetch(document.querySelector('#export-mermaid').href).then(r => r.text())"
    )
    assert diagram.startswith("sequenceDiagram\n") and "participant client as Client App" in diagram
    urls = inspector.evaluate(
        "() => fetch(document.querySelector('#export-har').href).then(r => r.json())"
        ".then(b => b.log.entries.map(e => e.request.method + ' ' + e.request.url))"
    )
    assert any(re.match(r"POST http://127\.0\.0\.1:\d+/token$", u) for u in urls), urls

    # The token request: its real HTTP exchange, redacted, its checks, and curl.
    detail = open_step(inspector, 8)
    assert "POST /token with code + code_verifier" in detail
    request = inspector.locator("#http-request").inner_text()
    assert re.search(r"^POST http://127\.0\.0\.1:\d+/token", request)
    assert "code_verifier=" in request and "[redacted]" in request
    rows = inspector.locator("#checks tbody tr").all_inner_texts()
    verifier = next(r for r in rows if "check_code_verifier" in r)
    assert "pass" in verifier and "RFC 7636" in verifier
    curl = inspector.locator("#curl").inner_text()
    assert curl.startswith("curl ") and "$CODE_VERIFIER" in curl and "--data-urlencode" in curl
    detail = open_step(inspector, 9)
    assert "The answer to the request of step 8" in detail
    assert "HTTP 200" in inspector.locator("#http-response").inner_text()
    path = ARTIFACTS / "inspector-docs.png"
    ARTIFACTS.mkdir(exist_ok=True)
    inspector.set_viewport_size({"width": 1440, "height": 1120})  # the whole diagram, no more
    inspector.screenshot(path=str(path))
    inspector.set_viewport_size({"width": 1440, "height": 900})
    if os.environ.get("VALETKEY_UPDATE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(path, DOCS_SCREENSHOT)

    # Keyboard step-through and playback.
    inspector.keyboard.press("Home")
    assert inspector.locator("#step-counter").inner_text() == "Step 1 / 11"
    inspector.keyboard.press("ArrowRight")
    assert "Redirect to /authorize" in inspector.locator("#detail-title").inner_text()
    inspector.click("#play")
    wait_counter(inspector, "Step 3 / 11")
    inspector.click("#play")  # pause

    # Again in the same browser: sign-in and consent are remembered, so skipped, not renumbered.
    app.bring_to_front()
    log_in(app, demo, "pkce")
    inspector.bring_to_front()
    inspector.wait_for_function(
        "() => document.querySelector('#steps > li.canonical[data-number=\"4\"]')"
        ".dataset.status === 'skipped'"
    )
    wait_counter(inspector, "Step 11 / 11")
    # The counter follows the newest step drawn; the page redraws as each event arrives, so wait
    # until every step is drawn (a step that never arrives still fails here, by the timeout).
    inspector.wait_for_function(
        "ns => ns.every(n => document.querySelector("
        "`#steps > li.canonical[data-number=\"${n}\"]`).dataset.status === 'done')",
        arg=[3, 6, 7, 8, 9, 10, 11],
    )
    assert status(inspector, 4) == status(inspector, 5) == "skipped"
    assert "Skipped: sign-in remembered." in open_step(inspector, 4)
    assert [status(inspector, n) for n in (3, 6, 7, 8, 9, 10, 11)] == ["done"] * 7
    screenshot(inspector, "inspector-pkce-remembered")


def test_pkce_toggle_shows_the_live_variant(context: Any, demo: DemoStack) -> None:
    inspector = open_inspector(context, demo)
    app = context.new_page()
    log_in(app, demo, "confidential")
    # The client's own page may reveal its own tokens (this demo's values).
    app.click("details summary >> nth=0")
    assert app.locator("code.reveal").first.inner_text().count(".") == 2  # a JWT
    inspector.bring_to_front()
    wait_title(inspector, "Authorization Code, confidential client", prefix=True)
    wait_counter(inspector, "Step 11 / 11")
    toggle = inspector.locator("#toggle")
    assert not toggle.is_checked() and toggle.is_disabled()  # read-only for a live flow
    assert inspector.locator("#toggle-box").inner_text().strip() == "PKCE off"
    open_step(inspector, 3)
    assert "code_challenge" not in inspector.locator("#http-request").inner_text()
    assert "client_secret" in open_step(inspector, 8)
    request = inspector.locator("#http-request").inner_text()
    assert "authorization: Basi" in request and "code_verifier" not in request
    auth = next(
        r
        for r in inspector.locator("#checks tbody tr").all_inner_texts()
        if "check_client_authentication" in r
    )
    assert "pass" in auth and "client_secret_basic" in auth
    assert '-u "$CLIENT_ID:$CLIENT_SECRET"' in inspector.locator("#curl").inner_text()
    screenshot(inspector, "inspector-confidential-flow")

    log_in(app, demo, "pkce")
    inspector.bring_to_front()
    wait_title(inspector, "Authorization Code + PKCE")
    wait_counter(inspector, "Step 11 / 11")
    assert inspector.locator("#toggle").is_checked()
    open_step(inspector, 3)
    assert "code_challenge_method=S256" in inspector.locator("#http-request").inner_text()


def test_openid_connect_refresh_client_credentials_and_deprecated_grants(
    context: Any, demo: DemoStack
) -> None:
    inspector = open_inspector(context, demo)
    app = context.new_page()
    log_in(app, demo, "pkce", openid=True)
    inspector.bring_to_front()
    wait_title(inspector, "OpenID Connect", prefix=True)
    wait_counter(inspector, "Step 14 / 14")
    assert "Validates the ID token" in open_step(inspector, 10)
    assert '"id_token"' in inspector.locator("#decoded").inner_text()
    nonce = next(
        r
        for r in inspector.locator("#checks tbody tr").all_inner_texts()
        if "check_id_token_nonce" in r
    )
    assert "pass" in nonce
    # The demo API asks /userinfo itself: drawn in the resource server's lane, inside its answer.
    userinfo = step(inspector, 14).locator('li.sub[data-name="userinfo.returned"]')
    assert userinfo.get_attribute("data-source") == "resource_server"
    stray = [f for f in flows(demo) if f["kind"] == "other" and "userinfo" in str(f["extras"])]
    assert stray == []

    app.bring_to_front()
    app.click("#refresh")
    app.wait_for_selector("#message")
    inspector.bring_to_front()
    wait_title(inspector, "Refresh (rotation)")
    wait_counter(inspector, "Step 4 / 6")  # no API call with the new token yet
    # The POST /token comes before the rotation it caused.
    assert step(inspector, 2).get_attribute("data-name") == "token.issued"
    assert step(inspector, 3).get_attribute("data-name") == "refresh_token.rotated"
    assert status(inspector, 5) == "unused"
    screenshot(inspector, "inspector-refresh-flow")

    app.bring_to_front()
    app.click("#client-credentials")
    app.wait_for_selector("#message")
    inspector.bring_to_front()
    wait_title(inspector, "Client Credentials")
    wait_counter(inspector, "Step 5 / 5")
    assert inspector.locator('#steps li[data-status="pending"]').count() == 0

    app.bring_to_front()
    app.click("#password-grant")
    app.wait_for_selector("#message")
    inspector.bring_to_front()
    wait_title(inspector, "Password grant (deprecated)")
    wait_counter(inspector, "Step 5 / 5")
    assert "DEPRECATED" in inspector.locator("#flow-meta").inner_text()
    assert inspector.locator("#flow-list button[aria-current=true] .badge.deprecated").count()
    assert "deprecated" in open_step(inspector, 2)
    assert "password=" in inspector.locator("#http-request").inner_text()
    assert "[redacted]" in inspector.locator("#http-request").inner_text()

    app.bring_to_front()
    app.click("#implicit-grant")
    app.wait_for_selector("button[value=approve], #signed-in")
    if app.locator("button[value=approve]").count():
        app.click("button[value=approve]")
    app.wait_for_selector("#signed-in")
    assert "fragment" in app.locator("#message").inner_text()
    inspector.bring_to_front()
    wait_title(inspector, "Implicit grant (deprecated)")
    wait_counter(inspector, "Step 9 / 9")
    token = step(inspector, 6)  # the token itself in the front channel
    assert (token.get_attribute("data-name"), token.get_attribute("data-channel")) == (
        "token.issued",
        "front",
    )
    screenshot(inspector, "inspector-implicit-flow")


@pytest.mark.parametrize("width", [1024, 1440])
def test_live_labels_are_readable_and_details_stay_in_view(
    chromium: Any, demo: DemoStack, width: int
) -> None:
    context = chromium.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    app = context.new_page()
    log_in(app, demo, "pkce", openid=True)  # the longest flow: 14 steps and sub-steps
    app.goto(demo.urls["client"] + "/attacks")
    app.click('button[data-run="login_csrf-off"]')  # six lanes, the longest step titles
    result = app.locator('li.result[data-name="login_csrf"][data-defence="off"]').first
    result.wait_for()
    attack = result.locator("code").first.inner_text()
    oidc = next(f["flow_id"] for f in flows(demo) if f["kind"] == "oidc")
    inspector = open_inspector(context, demo)
    for flow_id, name in ((oidc, "oidc"), (attack, "attack")):
        select_flow(inspector, flow_id)
        assert_labels_readable(inspector)
        screenshot(inspector, f"inspector-{name}-{width}")
    select_flow(inspector, oidc)
    inspector.mouse.wheel(0, 600)
    step(inspector, 13).locator("> .row").click()
    assert_detail_visible(inspector, "API call with the Bearer token")
    step(inspector, 2).locator("> .row").click()
    assert_detail_visible(inspector, "Redirect to /authorize")
    context.close()
