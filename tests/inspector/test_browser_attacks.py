"""Attack scenarios in headless Chromium: each drawn with an Attacker lane of its own, ending with
its outcome and the defence that decided it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.inspector.conftest import screenshot
from tests.inspector.live import open_inspector, open_step, titles, wait_counter
from valetkey.cli.demo_stack import DemoStack

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ATTACKS = [
    # (scenario, defence, the step that shows what happened, its status, text in its details)
    ("code_interception", "on", "Refuses: no code_verifier", "failed", "invalid_grant"),
    ("code_interception", "off", "Returns the victim's tokens", "done", "malicious app"),
    (
        "login_csrf",
        "on",
        "The victim's browser delivers the callback",
        "failed",
        "state does not match",
    ),
    (
        "login_csrf",
        "off",
        "The victim's browser delivers the callback",
        "done",
        "state NOT checked",
    ),
    ("code_replay", "on", "Refuses, revokes the grant", "done", "Code replay"),
    ("refresh_replay", "on", "Reuse detected: the grant is revoked", "done", "Refresh token reuse"),
    (
        "redirect_tampering",
        "on",
        "GET /authorize with the attacker's redirect_uri",
        "failed",
        "invalid_request",
    ),
]
DEFENCES = {
    "code_interception": "PKCE",
    "login_csrf": "the state check",
    "code_replay": "one-time codes",
    "refresh_replay": "refresh token rotation",
    "redirect_tampering": "exact redirect URI matching",
}


def test_attacks_have_an_attacker_lane_and_end_with_their_outcome(
    context: Any, demo: DemoStack
) -> None:
    inspector = open_inspector(context, demo)
    app = context.new_page()
    app.goto(demo.urls["client"] + "/attacks")
    assert app.locator("#insecure-label").is_visible()
    for scenario, defence, title, status, text in ATTACKS:
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
        inspector.wait_for_function(
            "() => [...document.querySelectorAll('#steps > li.canonical .label')].some("
            "(e) => e.textContent.startsWith('Outcome:'))"
        )
        drawn = titles(inspector)
        n = len(drawn)
        wait_counter(inspector, f"Step {n} / {n}")  # the outcome is the last step
        lanes = inspector.locator("#lanes .lane").all_inner_texts()
        assert lanes[0] == "Attacker" and "User" in lanes, lanes
        outcome = drawn[-1]
        if defence == "on":
            assert outcome == f"Outcome: stopped by {DEFENCES[scenario]}"
        else:
            assert outcome == f"Outcome: got through, {DEFENCES[scenario]} was off"
            assert inspector.locator("#flow-list button[aria-current=true] .badge.insecure").count()
        faint = inspector.locator(
            '#steps li[data-status="pending"], #steps li[data-status="not_reached"], '
            '#steps li[data-status="unused"]'
        )
        assert faint.count() == 0
        sources = inspector.locator("#steps > li.canonical").evaluate_all(
            "els => els.map((e) => [e.dataset.source, e.dataset.target])"
        )
        assert any("attacker" in pair for pair in sources)
        number = drawn.index(title) + 1
        detail = open_step(inspector, number)
        assert (
            inspector.locator(f'#steps > li.canonical[data-number="{number}"]').get_attribute(
                "data-status"
            )
            == status
        )
        assert text in detail, detail
        screenshot(inspector, f"inspector-attack-{scenario}-{defence}")
