"""Attack scenarios in headless Chromium: each drawn with an Attacker lane of its own, ending with
its outcome and the defence that decided it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.inspector.conftest import screenshot
from tests.inspector.layout import assert_labels_readable
from tests.inspector.live import open_inspector, open_step, step, titles, wait_counter
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
    "stolen_token": "DPoP",
}


def run_and_draw(app: Any, inspector: Any, scenario: str, defence: str) -> list[str]:
    """Run a scenario from the attacks page; once the inspector draws its outcome, check what
    every attack shares (Attacker lane, outcome last, nothing faint) and return the step titles."""
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
    return drawn


def check_step(inspector: Any, drawn: list[str], title: str, status: str, text: str) -> str:
    number = drawn.index(title) + 1
    detail = open_step(inspector, number)
    assert step(inspector, number).get_attribute("data-status") == status
    assert text in detail, detail
    return detail


def test_attacks_have_an_attacker_lane_and_end_with_their_outcome(
    context: Any, demo: DemoStack
) -> None:
    inspector = open_inspector(context, demo)
    app = context.new_page()
    app.goto(demo.urls["client"] + "/attacks")
    assert app.locator("#insecure-label").is_visible()
    for scenario, defence, title, status, text in ATTACKS:
        drawn = run_and_draw(app, inspector, scenario, defence)
        check_step(inspector, drawn, title, status, text)
        screenshot(inspector, f"inspector-attack-{scenario}-{defence}")


@pytest.mark.parametrize("width", [1024, 1440])
def test_a_stolen_token_works_as_bearer_and_is_refused_when_dpop_bound(
    chromium: Any, demo: DemoStack, width: int
) -> None:
    context = chromium.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    inspector = open_inspector(context, demo)
    app = context.new_page()
    app.goto(demo.urls["client"] + "/attacks")
    # Bearer: the stolen token works from the attacker's machine, drawn as the missing defence.
    drawn = run_and_draw(app, inspector, "stolen_token", "off")
    assert drawn[2:5] == [
        "The attacker copies the access token",
        "Replays the token from another machine",
        "Answers with the victim's data",
    ]
    detail = check_step(inspector, drawn, "Answers with the victim's data", "done", "200")
    assert "cannot tell the attacker from the client" in detail
    check_step(inspector, drawn, drawn[-1], "done", "sender-constrained token")
    assert_labels_readable(inspector)
    screenshot(inspector, f"inspector-attack-stolen_token-off-{width}")
    # DPoP: refused at the resource, as Bearer and with the attacker's own proof.
    drawn = run_and_draw(app, inspector, "stolen_token", "on")
    assert len(drawn) == 8
    first = check_step(
        inspector, drawn, "Refuses: the token is bound to a DPoP key", "failed", "invalid_token"
    )
    assert "check_token_scheme_binding" in first and "RFC 9449 §7.1, §7.2" in first
    answer = step(inspector, drawn.index("Refuses: the token is bound to a DPoP key") + 1)
    sub = answer.locator("li.sub").first  # the API's 401, drawn in the Attacker lane
    assert sub.get_attribute("data-target") == "attacker", sub.evaluate("e => e.outerHTML")
    second = check_step(
        inspector, drawn, "Refuses: the proof's key is not the token's", "failed", "invalid_token"
    )
    assert "check_proof_key_binding" in second
    assert_labels_readable(inspector)
    screenshot(inspector, f"inspector-attack-stolen_token-on-{width}")
    context.close()
