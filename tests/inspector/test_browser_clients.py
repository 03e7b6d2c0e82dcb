"""Flows started by other clients than the demo's, drawn in headless Chromium: the valetkey CLI
and a third-party library (Authlib) against the demo's authorization server. Neither sends events
or names its flow; the flow is complete when the server issues the token, and a later call with
that token joins it."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client.clirun import deliver, waiting_cli
from tests.inspector.conftest import screenshot
from tests.inspector.live import flows, open_inspector, open_step, select_flow, status, wait_counter
from tests.support.flows import login_and_consent
from tests.support.servers import isolated_env
from valetkey.cli.demo_stack import DemoStack

with warnings.catch_warnings():
    # Authlib warns at import about its own httpx integration and installs an "always" filter for
    # its warnings; both stay inside this block.
    import authlib.deprecate  # noqa: F401  (installs the filter now, inside the block)

    warnings.simplefilter("ignore")
    from authlib.common.security import generate_token
    from authlib.integrations.httpx_client import OAuth2Client

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
USER = {"username": "demo", "password": "valetkey-demo"}


def flow_of(demo: DemoStack, scope: list[str], token: bool = True) -> dict[str, Any]:
    """The newest demo-native flow whose authorization request asked for ``scope``."""
    for flow in sorted(flows(demo), key=lambda f: -f["last_seq"]):
        request = flow["steps"][2]["event"] if flow["kind"] == "pkce" else None
        if flow["client_id"] == "demo-native" and request and request["data"]["scope"] == scope:
            return flow
    raise AssertionError(f"no flow for {scope}")


def test_a_cli_flow_completes_and_its_call_joins_it(
    context: Any, demo: DemoStack, tmp_path: Path
) -> None:
    env = {**os.environ, **isolated_env(tmp_path)}
    scope = ["read:profile", "read:files"]
    args = [
        "token",
        "get",
        "--no-browser",
        "--issuer",
        demo.urls["server"],
        "--client-id",
        "demo-native",
        "--scope",
        " ".join(scope),
        "--name",
        "inspected",
        "--timeout",
        "60",
    ]
    with (
        waiting_cli(args, env) as waiting,
        httpx.Client(follow_redirects=False, timeout=10) as browser,
    ):
        redirect = login_and_consent(browser, waiting.url, **USER)
        deliver(browser, redirect.headers["location"])
        code, _out, err = waiting.finish()
    assert code == 0, err
    flow = flow_of(demo, scope)
    assert flow["complete"] and flow["badge"] == ["complete", "ok"]
    inspector = open_inspector(context, demo)
    select_flow(inspector, flow["flow_id"])
    wait_counter(inspector, "Step 9 / 11")
    assert [status(inspector, n) for n in (1, 2, 7)] == ["unobserved"] * 3  # the CLI's own steps
    assert [status(inspector, n) for n in (3, 6, 8, 9)] == ["done"] * 4
    assert [status(inspector, n) for n in (10, 11)] == ["unused"] * 2
    assert inspector.locator('#steps li[data-status="pending"]').count() == 0
    assert "No component reported this step" in open_step(inspector, 1)

    called = subprocess.run(
        [
            sys.executable,
            "-m",
            "valetkey",
            "call",
            "--token",
            "inspected",
            demo.urls["resource"] + "/api/profile",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert called.returncode == 0, called.stderr
    inspector.wait_for_function(
        "() => document.querySelector('#steps > li.canonical[data-number=\"11\"]')"
        ".dataset.status === 'done'"
    )
    assert status(inspector, 10) == "done"
    inspector.keyboard.press("End")
    wait_counter(inspector, "Step 11 / 11")
    assert "joined flow" in inspector.locator("#flow-meta").inner_text()
    assert "Joined to this flow" in open_step(inspector, 10)
    screenshot(inspector, "inspector-cli-flow")


def test_a_third_party_client_flow_completes(context: Any, demo: DemoStack) -> None:
    server = demo.urls["server"]
    with (
        OAuth2Client(
            "demo-native",
            redirect_uri="http://127.0.0.1:40123/callback",
            scope="read:profile",
            code_challenge_method="S256",
            token_endpoint_auth_method="none",
        ) as client,
        httpx.Client(follow_redirects=False, timeout=10) as browser,
    ):
        verifier = generate_token(64)
        url, state = client.create_authorization_url(f"{server}/authorize", code_verifier=verifier)
        callback = login_and_consent(browser, url, **USER).headers["location"]
        token = client.fetch_token(
            f"{server}/token", authorization_response=callback, code_verifier=verifier, state=state
        )
    assert token["token_type"] == "Bearer"
    flow = flow_of(demo, ["read:profile"])
    inspector = open_inspector(context, demo)
    select_flow(inspector, flow["flow_id"])
    wait_counter(inspector, "Step 9 / 11")
    assert (
        inspector.locator("#flow-list button[aria-current=true] .badge.status").inner_text()
        == "complete"
    )
    assert status(inspector, 8) == status(inspector, 9) == "done"
    assert inspector.locator('#steps li[data-status="pending"]').count() == 0
    assert "HTTP 200" in (
        open_step(inspector, 9) and inspector.locator("#http-response").inner_text()
    )
    screenshot(inspector, "inspector-authlib-flow")
