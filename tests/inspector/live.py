"""Driving the inspector and the demo client app in Chromium, for the live-mode browser tests."""

from __future__ import annotations

from typing import Any

import httpx

from valetkey.cli.demo_stack import DemoStack


def open_inspector(context: Any, demo: DemoStack, hash: str = "") -> Any:
    page = context.new_page()
    page.goto(demo.urls["inspector"] + "/" + hash)
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


def step(page: Any, number: int) -> Any:
    return page.locator(f'#steps > li.canonical[data-number="{number}"]')


def status(page: Any, number: int) -> str:
    return str(step(page, number).get_attribute("data-status"))


def open_step(page: Any, number: int) -> str:
    """Select a canonical step; returns the details panel's text."""
    step(page, number).locator("> .row").click()
    page.wait_for_function(
        "n => document.querySelector('#step-counter').textContent.startsWith(`Step ${n} /`)",
        arg=number,
    )
    return str(page.locator("#detail").inner_text())


def wait_counter(page: Any, text: str) -> None:
    page.wait_for_function(
        "t => document.querySelector('#step-counter').textContent === t", arg=text
    )


def wait_title(page: Any, text: str, prefix: bool = False) -> None:
    page.wait_for_function(
        "([t, p]) => { const s = document.querySelector('#flow-title').textContent;"
        " return p ? s.startsWith(t) : s === t; }",
        arg=[text, prefix],
    )


def titles(page: Any) -> list[str]:
    return list(page.locator("#steps > li.canonical > .row .label").all_inner_texts())


def flows(demo: DemoStack) -> list[dict[str, Any]]:
    body = httpx.get(demo.urls["inspector"] + "/api/flows", timeout=10, trust_env=False).json()
    return list(body["flows"])


def select_flow(page: Any, flow_id: str) -> None:
    page.locator(f'#flow-list button[data-flow="{flow_id}"]').click()
    page.wait_for_function(
        "id => document.querySelector('#flow-meta').textContent.includes(id)", arg=flow_id
    )
