"""In headless Chromium: a rule the demo client skipped on purpose reads SKIPPED in the inspector,
drawn apart from the rules that passed or failed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.inspector.conftest import screenshot
from tests.inspector.live import open_inspector, open_step, titles
from valetkey.cli.demo_stack import DemoStack

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def run_attack(context: Any, demo: DemoStack, inspector: Any, scenario: str) -> None:
    app = context.new_page()
    app.goto(demo.urls["client"] + "/attacks")
    app.click(f'button[data-run="{scenario}-off"]')
    result = app.locator(f'li.result[data-name="{scenario}"][data-defence="off"]').first
    result.wait_for()
    flow_id = result.locator("code").first.inner_text()
    inspector.bring_to_front()
    inspector.wait_for_function(
        "id => document.querySelector('#flow-meta').textContent.includes(id)", arg=flow_id
    )
    inspector.wait_for_function(  # the attack's outcome is drawn: the flow is complete
        "() => [...document.querySelectorAll('#steps > li.canonical .label')].some("
        "(e) => e.textContent.startsWith('Outcome:'))"
    )


def open_titled(inspector: Any, prefix: str) -> None:
    """Select the canonical step whose label starts with ``prefix``."""
    drawn = titles(inspector)
    number = next(i for i, t in enumerate(drawn, 1) if t.startswith(prefix))
    open_step(inspector, number)


def cell_style(row: Any) -> tuple[str, str]:
    cell = row.locator("td").nth(1)
    return (
        cell.evaluate("e => getComputedStyle(e).color"),
        cell.evaluate("e => getComputedStyle(e).backgroundColor"),
    )


def test_skipped_rules_are_labelled_and_styled_apart(context: Any, demo: DemoStack) -> None:
    inspector = open_inspector(context, demo)
    run_attack(context, demo, inspector, "login_csrf")
    open_titled(inspector, "The victim's browser delivers the callback")
    rows = inspector.locator("#checks tbody tr")
    state = rows.filter(has_text="check_state")
    iss = rows.filter(has_text="check_iss")
    assert state.locator("td").nth(1).inner_text() == "SKIPPED"
    assert state.locator("td.skip").count() == 1
    assert "switched off" in state.inner_text()
    assert iss.locator("td").nth(1).inner_text() == "pass"
    assert cell_style(state) != cell_style(iss)  # not drawn like a pass
    screenshot(inspector, "inspector-skipped-state-check")

    run_attack(context, demo, inspector, "code_interception")
    open_titled(inspector, "Clicks")
    pkce = inspector.locator("#checks tbody tr").filter(has_text="use_pkce")
    assert pkce.locator("td.skip").inner_text() == "SKIPPED"
    assert "public client without PKCE" in pkce.inner_text()
