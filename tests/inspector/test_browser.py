"""End to end in headless Chromium: the demo client, the real servers and the live inspector."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.inspector.conftest import screenshot
from valetkey.cli.demo_stack import DemoStack

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
LANES = ["User", "Browser", "Client App", "Authorization Server", "Resource Server"]
DOCS_SCREENSHOT = Path(__file__).parents[2] / "docs" / "inspector.png"


def open_inspector(context: Any, demo: DemoStack) -> Any:
    page = context.new_page()
    page.goto(demo.urls["inspector"] + "/")
    page.wait_for_selector("#live.on")
    return page


def log_in(app: Any, demo: DemoStack, mode: str = "pkce", openid: bool = False) -> None:
    app.goto(demo.urls["client"] + "/")
    if app.locator("#logout").count():
        app.click("#logout")
    app.check(f"input[name=mode][value={mode}]")
    if openid:
        app.check("#openid")
    app.click("#login")
    for _ in range(3):
        app.wait_for_selector("#username, button[value=approve], #signed-in")
        if app.locator("#username").count():
            app.fill("#username", "demo")
            app.fill("#password", "valetkey-demo")
            app.click("button[type=submit]")
        elif app.locator("button[value=approve]").count():
            app.click("button[value=approve]")
        else:
            return
    app.wait_for_selector("#signed-in")


def wait_step(page: Any, name: str, status: str = "done") -> Any:
    step = page.locator(f'#steps li[data-name="{name}"][data-status="{status}"]').first
    step.wait_for()
    return step


def open_step(page: Any, name: str, status: str = "done") -> None:
    wait_step(page, name, status).locator("button").click()
    page.wait_for_selector("#detail-title")


def test_login_fills_the_diagram_to_its_last_step(context: Any, demo: DemoStack) -> None:
    inspector = open_inspector(context, demo)
    app = context.new_page()
    log_in(app, demo, "pkce")
    inspector.bring_to_front()
    wait_step(inspector, "api.responded")
    assert inspector.locator(".lane").all_inner_texts() == LANES
    assert inspector.locator("#flow-title").inner_text() == "Authorization Code + PKCE"
    steps = inspector.locator("#steps li")
    names = [steps.nth(i).get_attribute("data-name") for i in range(steps.count())]
    assert names[:3] == ["login.clicked", "authorization.redirected", "authorization.requested"]
    for expected in (
        "login.shown",
        "login.succeeded",
        "authorization_code.issued",
        "callback.received",
        "token.issued",
        "token.received",
        "resource_request.authenticated",
        "api.responded",
    ):
        assert expected in names
    assert all(steps.nth(i).get_attribute("data-status") == "done" for i in range(steps.count()))
    n = steps.count()
    assert inspector.locator("#step-counter").inner_text() == f"Step {n} / {n}"
    # Front channel through the browser, back channel server to server, each drawn as such.
    code = inspector.locator('#steps li[data-name="authorization_code.issued"]')
    assert code.get_attribute("data-channel") == "front"
    assert code.locator(".arrow").evaluate("e => getComputedStyle(e).borderTopStyle") == "dashed"
    token = inspector.locator('#steps li[data-name="token.issued"]')
    assert (token.get_attribute("data-source"), token.get_attribute("data-target")) == (
        "client",
        "authorization_server",
    )
    assert token.get_attribute("data-channel") == "back"
    assert token.locator(".arrow").evaluate("e => getComputedStyle(e).borderTopStyle") == "solid"
    screenshot(inspector, "inspector-pkce-flow")

    # The token exchange: its real HTTP request and response, redacted, its checks, and curl.
    open_step(inspector, "token.issued")
    request = inspector.locator("#http-request").inner_text()
    assert re.search(r"^POST http://127\.0\.0\.1:\d+/token", request)
    assert "code_verifier=" in request and "[redacted]" in request
    assert "HTTP 200" in inspector.locator("#http-response").inner_text()
    rows = inspector.locator("#checks tbody tr").all_inner_texts()
    verifier = next(r for r in rows if "check_code_verifier" in r)
    assert "pass" in verifier and "RFC 7636" in verifier
    curl = inspector.locator("#curl").inner_text()
    assert curl.startswith("curl ") and "$CODE_VERIFIER" in curl and "--data-urlencode" in curl
    path = screenshot(inspector, "inspector-token-step")
    if os.environ.get("VALETKEY_UPDATE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(path, DOCS_SCREENSHOT)

    # Keyboard step-through and playback.
    inspector.keyboard.press("Home")
    assert inspector.locator("#step-counter").inner_text() == f"Step 1 / {n}"
    inspector.keyboard.press("ArrowRight")
    assert inspector.locator("#step-counter").inner_text() == f"Step 2 / {n}"
    assert "Redirect to /authorize" in inspector.locator("#detail-title").inner_text()
    inspector.click("#play")
    inspector.wait_for_function(
        "() => document.querySelector('#step-counter').textContent.startsWith('Step 3 /')"
    )
    inspector.click("#play")  # pause


def test_pkce_toggle_off_and_on(context: Any, demo: DemoStack) -> None:
    inspector = open_inspector(context, demo)
    app = context.new_page()
    log_in(app, demo, "confidential")
    # The client's own page may reveal its own tokens (this demo's values).
    app.click("details summary >> nth=0")
    assert app.locator("code.reveal").first.inner_text().count(".") == 2  # a JWT
    inspector.bring_to_front()
    wait_step(inspector, "api.responded")
    assert "confidential client" in inspector.locator("#flow-title").inner_text()
    open_step(inspector, "authorization.requested")
    assert "code_challenge" not in inspector.locator("#http-request").inner_text()
    open_step(inspector, "token.issued")
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
    inspector.wait_for_function(
        "() => document.querySelector('#flow-title').textContent === 'Authorization Code + PKCE'"
    )
    wait_step(inspector, "api.responded")
    open_step(inspector, "authorization.requested")
    assert "code_challenge_method=S256" in inspector.locator("#http-request").inner_text()


def test_openid_connect_refresh_and_client_credentials(context: Any, demo: DemoStack) -> None:
    inspector = open_inspector(context, demo)
    app = context.new_page()
    log_in(app, demo, "pkce", openid=True)
    inspector.bring_to_front()
    wait_step(inspector, "api.responded")
    assert inspector.locator("#flow-title").inner_text().startswith("OpenID Connect")
    wait_step(inspector, "userinfo.received")
    open_step(inspector, "token.received")
    assert '"id_token"' in inspector.locator("#decoded").inner_text()
    nonce = next(
        r
        for r in inspector.locator("#checks tbody tr").all_inner_texts()
        if "check_id_token_nonce" in r
    )
    assert "pass" in nonce

    app.bring_to_front()
    app.click("#refresh")
    app.wait_for_selector("#message")
    inspector.bring_to_front()
    inspector.wait_for_function(
        "() => document.querySelector('#flow-title').textContent === 'Refresh (rotation)'"
    )
    wait_step(inspector, "refresh_token.rotated")
    wait_step(inspector, "token.received")
    screenshot(inspector, "inspector-refresh-flow")

    app.bring_to_front()
    app.click("#client-credentials")
    app.wait_for_selector("#message")
    inspector.bring_to_front()
    inspector.wait_for_function(
        "() => document.querySelector('#flow-title').textContent === 'Client Credentials'"
    )
    wait_step(inspector, "api.responded")
    assert inspector.locator('#steps li[data-status="pending"]').count() == 0

    app.bring_to_front()
    app.click("#password-grant")
    app.wait_for_selector("#message")
    inspector.bring_to_front()
    inspector.wait_for_function(
        "() => document.querySelector('#flow-title').textContent === 'Legacy grant (deprecated)'"
    )
    wait_step(inspector, "api.responded")
    assert "DEPRECATED" in inspector.locator("#flow-meta").inner_text()
    assert inspector.locator("#flow-list button[aria-current=true] .badge.deprecated").count()
    open_step(inspector, "token.issued")
    assert "deprecated" in inspector.locator("#detail").inner_text()
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
    inspector.wait_for_function(
        "() => document.querySelector('#flow-title').textContent === 'Implicit grant (deprecated)'"
    )
    wait_step(inspector, "api.responded")
    token = inspector.locator('#steps li[data-name="token.issued"]')
    assert token.get_attribute("data-channel") == "front"  # the token itself in the front channel
    assert inspector.locator("#flow-list button[aria-current=true] .badge.deprecated").count()
    screenshot(inspector, "inspector-implicit-flow")


ATTACKS = [
    # (scenario, defence, step that shows the outcome, its status, text in the step's detail)
    ("code_interception", "on", "token.rejected", "failed", "invalid_grant"),
    ("code_interception", "off", "token.received", "done", "malicious app"),
    ("login_csrf", "on", "callback.rejected", "failed", "state does not match"),
    ("login_csrf", "off", "callback.received", "done", "state NOT checked"),
    ("code_replay", "on", "grant.revoked", "done", "Code replay"),
    ("refresh_replay", "on", "grant.revoked", "done", "Refresh token reuse"),
    ("redirect_tampering", "on", "authorization.rejected", "failed", "invalid_request"),
]


def test_attack_scenarios_reach_their_expected_outcomes(context: Any, demo: DemoStack) -> None:
    inspector = open_inspector(context, demo)
    app = context.new_page()
    app.goto(demo.urls["client"] + "/attacks")
    assert app.locator("#insecure-label").is_visible()
    for scenario, defence, step, status, text in ATTACKS:
        app.bring_to_front()
        app.click(f'button[data-run="{scenario}-{defence}"]')
        result = app.locator(f'li.result[data-name="{scenario}"][data-defence="{defence}"]').first
        result.wait_for()
        assert result.get_attribute("data-as-expected") == "true", result.inner_text()
        flow_id = result.locator("code").first.inner_text()
        inspector.bring_to_front()
        inspector.wait_for_function(
            "id => document.querySelector('#flow-meta').textContent.includes(id)", arg=flow_id
        )
        wait_step(inspector, "attack.finished")
        open_step(inspector, step, status)
        assert text in inspector.locator("#detail").inner_text()
        if defence == "off":
            assert inspector.locator("#flow-list button[aria-current=true] .badge.insecure").count()
        screenshot(inspector, f"inspector-attack-{scenario}-{defence}")
