"""The demo client runs the client library we ship: it refuses what the library refuses, its
insecure switches are rules skipped on record, and the inspector shows them as skipped."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pytest

from tests.inspector.test_demo_http import events_of
from tests.support.flows import login_and_consent, redirect_params
from valetkey.cli.demo_stack import DemoStack, _client_config
from valetkey.core.clock import FixedClock
from valetkey.core.events import Check, FlowEvent, RecordingSink
from valetkey.demo.app import create_demo_client_app

pytestmark = pytest.mark.e2e
T = TypeVar("T")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def session(demo: DemoStack) -> Iterator[tuple[httpx.Client, str]]:
    with httpx.Client(base_url=demo.urls["client"], timeout=30.0, trust_env=False) as http:
        match = CSRF.search(http.get("/").text)
        assert match
        yield http, match.group(1)


def authorized(
    demo: DemoStack, http: httpx.Client, csrf: str, mode: str, openid: bool = False
) -> dict[str, str]:
    """Log in at the demo client and approve at the server; the callback's parameters."""
    form = {"csrf": csrf, "mode": mode, **({"openid": "on"} if openid else {})}
    start = http.post("/login", data=form)
    assert start.status_code == 303, start.text
    with httpx.Client(timeout=30.0, trust_env=False) as browser:
        back = login_and_consent(
            browser, start.headers["location"], username="demo", password="valetkey-demo"
        )
    assert back.headers["location"].startswith(demo.urls["client"] + "/callback?")
    return redirect_params(back.headers["location"])


def callback_event(demo: DemoStack, name: str, state: str) -> FlowEvent:
    found = [e for e in list(demo.sink.events) if e.name == name and e.http and state in e.http.url]
    assert found, name
    return found[-1]


def outcomes(checks: tuple[Check, ...]) -> list[tuple[str, str]]:
    return [(c.rule, c.outcome) for c in checks]


@pytest.mark.parametrize(
    ("change", "why"),
    [({"iss": "https://evil.example"}, "comes from issuer"), ({"iss": None}, "has no iss")],
)
def test_a_callback_from_another_issuer_is_refused_before_the_token_request(
    demo: DemoStack, session: tuple[httpx.Client, str], change: dict[str, Any], why: str
) -> None:
    http, csrf = session
    params = authorized(demo, http, csrf, "pkce")
    forged = {k: v for k, v in {**params, **change}.items() if v is not None}
    r = http.get("/callback", params=forged)
    assert r.status_code == 400
    assert "another authorization server" in r.text and why in r.text
    rejected = callback_event(demo, "callback.rejected", params["state"])
    assert outcomes(rejected.checks) == [("check_state", "pass"), ("check_iss", "fail")]
    assert rejected.checks[-1].spec == "RFC 9207 §2.4"
    assert not [e for e in events_of(demo, rejected.flow_id) if e.name.startswith("token.")]


def test_an_id_token_with_another_logins_nonce_is_refused(
    demo: DemoStack, session: tuple[httpx.Client, str]
) -> None:
    """A code from one login injected into another's callback (confidential client, no PKCE):
    the server issues tokens, and the ID token's nonce is what gives the injection away."""
    http, csrf = session
    mine = authorized(demo, http, csrf, "confidential", openid=True)
    other = authorized(demo, http, csrf, "confidential", openid=True)
    page = http.get("/callback", params={**mine, "code": other["code"]}, follow_redirects=True)
    assert "the ID token was refused" in page.text and "nonce" in page.text
    assert 'id="signed-in"' not in page.text  # the client kept no tokens
    flow_id = callback_event(demo, "callback.received", mine["state"]).flow_id
    names = [e.name for e in events_of(demo, flow_id)]
    assert "token.issued" in names  # the server said yes; the client's own check said no
    received = [e for e in events_of(demo, flow_id) if e.name == "token.received"]
    assert received[-1].error == "invalid_id_token"
    last = received[-1].checks[-1]
    assert (last.rule, last.outcome) == ("check_id_token", "fail") and "nonce" in last.detail
    assert "userinfo.received" not in names and "api.responded" not in names


def test_the_id_token_passes_each_check_in_the_inspector(
    demo: DemoStack, session: tuple[httpx.Client, str]
) -> None:
    http, csrf = session
    params = authorized(demo, http, csrf, "pkce", openid=True)
    page = http.get("/callback", params=params, follow_redirects=True)
    assert 'id="signed-in"' in page.text and 'id="userinfo"' in page.text
    flow_id = callback_event(demo, "callback.received", params["state"]).flow_id
    received = [e for e in events_of(demo, flow_id) if e.name == "token.received"][-1]
    assert received.error is None
    assert outcomes(received.checks) == [
        ("check_id_token_signature", "pass"),
        ("check_id_token_issuer", "pass"),
        ("check_id_token_audience", "pass"),
        ("check_id_token_expiry", "pass"),
        ("check_id_token_nonce", "pass"),
        ("check_at_hash", "pass"),
    ]


def run_scenario(http: httpx.Client, csrf: str, scenario: str, defence: str) -> str:
    r = http.post(
        "/attacks/run",
        data={"csrf": csrf, "scenario": scenario, "defence": defence},
        follow_redirects=True,
    )
    item = re.search(
        rf'data-name="{scenario}" data-defence="{defence}" data-as-expected="true">.*?'
        r"Flow <code>([^<]+)</code>",
        r.text,
        re.S,
    )
    assert item, r.text
    return item.group(1)


def test_the_insecure_switches_are_rules_skipped_on_record(
    demo: DemoStack, session: tuple[httpx.Client, str]
) -> None:
    http, csrf = session
    csrf_off = events_of(demo, run_scenario(http, csrf, "login_csrf", "off"))
    received = next(e for e in csrf_off if e.name == "callback.received")
    state, iss = received.checks
    assert (state.rule, state.outcome, state.spec) == (
        "check_state",
        "skip",
        "RFC 6749 §10.12, RFC 9700 §4.7",
    )
    assert "INSECURE" in state.detail and "switched off" in state.detail
    assert (iss.rule, iss.outcome) == ("check_iss", "pass")  # only the named rule is skipped

    pkce_off = events_of(demo, run_scenario(http, csrf, "code_interception", "off"))
    clicked = next(e for e in pkce_off if e.name == "login.clicked")
    assert outcomes(clicked.checks) == [("use_pkce", "skip")]
    assert "public client without PKCE" in clicked.checks[0].detail

    for scenario in ("login_csrf", "code_interception"):
        defended = events_of(demo, run_scenario(http, csrf, scenario, "on"))
        assert not [c for e in defended for c in e.checks if c.outcome == "skip"], scenario


def in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Own thread, own loop: Playwright's sync API may hold a running loop in the main thread."""
    result: list[T] = []
    runner = threading.Thread(target=lambda: result.append(asyncio.run(coro)))
    runner.start()
    runner.join(60)
    assert result, "the scenario did not finish"
    return result[0]


async def login_with_clock(demo: DemoStack, clock: FixedClock) -> tuple[str, RecordingSink]:
    """The demo client app in process, with its own clock, against the demo's real server."""
    sink = RecordingSink()
    config = _client_config(demo.settings, demo.urls)
    async with httpx.AsyncClient(timeout=30.0, trust_env=False) as out:
        app = create_demo_client_app(config, sink, out, clock)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=config.base_url) as http:
            csrf = CSRF.search((await http.get("/")).text)
            assert csrf
            start = await http.post(
                "/login", data={"csrf": csrf.group(1), "mode": "pkce", "openid": "on"}
            )
            location = await asyncio.to_thread(approve, start.headers["location"])
            callback = urlsplit(location)
            await http.get(f"{callback.path}?{callback.query}")
            return (await http.get("/")).text, sink


def approve(url: str) -> str:
    with httpx.Client(timeout=30.0, trust_env=False) as browser:
        back = login_and_consent(browser, url, username="demo", password="valetkey-demo")
    return str(back.headers["location"])


def test_the_id_token_expiry_uses_the_demos_clock_with_the_librarys_leeway(
    demo: DemoStack,
) -> None:
    ttl = demo.settings.id_token_ttl
    late = FixedClock(time.time() + ttl + 30)  # past exp, within the allowed clock skew
    page, sink = in_thread(login_with_clock(demo, late))
    assert 'id="signed-in"' in page
    assert sink.named("token.received")[-1].error is None
    much_later = FixedClock(time.time() + ttl + 3600)
    page, sink = in_thread(login_with_clock(demo, much_later))
    assert "the ID token was refused" in page and "expired" in page
    refused = sink.named("token.received")[-1]
    assert refused.error == "invalid_id_token" and refused.time == much_later.now()
