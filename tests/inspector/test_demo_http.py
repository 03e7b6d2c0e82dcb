"""The demo over plain HTTP: the SSE stream, the client app's own checks, every attack scenario
against the real servers, and the insecure switches confined to the demo configuration."""

from __future__ import annotations

import ast
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tests.inspector.test_flows import ev
from valetkey.cli import main
from valetkey.cli.demo_stack import DEFAULT_PORTS, DemoStack, demo_settings_text
from valetkey.core.events import FlowEvent
from valetkey.core.settings import SettingsError, build_settings, parse_toml

pytestmark = pytest.mark.e2e
SRC = Path(__file__).parents[2] / "src" / "valetkey"


@pytest.fixture
def session(demo: DemoStack) -> Iterator[tuple[httpx.Client, str]]:
    """A browser session at the demo client: its cookie and its form token."""
    with httpx.Client(base_url=demo.urls["client"], timeout=30.0, trust_env=False) as http:
        page = http.get("/")
        match = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert match, page.text
        yield http, match.group(1)


def events_of(demo: DemoStack, flow_id: str) -> list[FlowEvent]:
    return [e for e in list(demo.sink.events) if e.flow_id == flow_id]


def test_sse_pushes_the_changed_flow(demo: DemoStack) -> None:
    with (
        httpx.Client(timeout=10.0, trust_env=False) as http,
        http.stream("GET", demo.urls["inspector"] + "/events") as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        demo.sink.emit(ev("login.clicked", 0, flow="f-sse-test", time=time.time()))
        for line in lines:
            if line.startswith("data:") and "f-sse-test" in line:
                assert '"name":"login.clicked"' in line
                break


def test_unknown_flow_is_a_clear_404(demo: DemoStack) -> None:
    r = httpx.get(demo.urls["inspector"] + "/api/flows/f-nothing", trust_env=False)
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_client_refuses_a_callback_this_browser_did_not_start(
    demo: DemoStack, session: tuple[httpx.Client, str]
) -> None:
    http, _csrf = session
    r = http.get("/callback", params={"code": "stolen", "state": "never-issued"})
    assert r.status_code == 400
    assert "did not start that login" in r.text
    rejected = [
        e for e in demo.sink.named("callback.rejected") if e.http and "never-issued" in e.http.url
    ]
    assert rejected and rejected[-1].checks[0].outcome == "fail"
    # The code was never sent to the token endpoint.
    assert not [e for e in events_of(demo, rejected[-1].flow_id) if e.name.startswith("token.")]


def test_client_forms_need_the_session_csrf_token(session: tuple[httpx.Client, str]) -> None:
    http, _csrf = session
    r = http.post("/login", data={"mode": "pkce", "csrf": "wrong"})
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("scenario", "defence", "event", "detail"),
    [
        ("code_interception", "on", "token.rejected", "code_verifier is required"),
        ("code_interception", "off", "token.issued", ""),
        ("login_csrf", "on", "callback.rejected", "state does not match"),
        ("login_csrf", "off", "callback.received", "state check is switched off"),
        ("code_replay", "on", "grant.revoked", ""),
        ("refresh_replay", "on", "grant.revoked", ""),
        ("redirect_tampering", "on", "authorization.rejected", ""),
        ("stolen_token", "on", "resource_request.rejected", "DPoP-bound token sent as Bearer"),
        ("stolen_token", "off", "resource_request.authenticated", "Bearer token, not bound"),
    ],
)
def test_attack_scenarios_against_the_real_server(
    demo: DemoStack,
    session: tuple[httpx.Client, str],
    scenario: str,
    defence: str,
    event: str,
    detail: str,
) -> None:
    http, csrf = session
    r = http.post(
        "/attacks/run",
        data={"csrf": csrf, "scenario": scenario, "defence": defence},
        follow_redirects=True,
    )
    assert r.status_code == 200
    item = re.search(
        rf'data-name="{scenario}" data-defence="{defence}" data-as-expected="(\w+)">(.*?)</li>',
        r.text,
        re.S,
    )
    assert item, r.text
    assert item.group(1) == "true", item.group(2)
    flow_id = re.search(r"Flow <code>([^<]+)</code>", item.group(2)).group(1)  # type: ignore[union-attr]
    names = [e.name for e in events_of(demo, flow_id)]
    assert names[0] == "attack.started" and names[-1] == "attack.finished"
    found = [e for e in events_of(demo, flow_id) if e.name == event]
    assert found, names
    if detail:
        assert any(detail in c.detail for e in found for c in e.checks), found


def test_redirect_tampering_never_redirects(demo: DemoStack) -> None:
    r = httpx.get(
        demo.urls["server"] + "/authorize",
        params={
            "response_type": "code",
            "client_id": "demo-web",
            "state": "s",
            "redirect_uri": "https://attacker.example/callback",
        },
        trust_env=False,
    )
    assert r.status_code == 400 and "location" not in r.headers


def test_the_defence_cannot_be_switched_off_where_the_server_has_no_switch(
    session: tuple[httpx.Client, str],
) -> None:
    http, csrf = session
    r = http.post(
        "/attacks/run",
        data={"csrf": csrf, "scenario": "code_replay", "defence": "off"},
        follow_redirects=True,
    )
    assert "cannot run with the defence off" in r.text
    assert 'data-name="code_replay" data-defence="off"' not in r.text


def test_public_client_without_pkce_needs_the_demo_insecure_table() -> None:
    client = """
[[clients]]
client_id = "p"
token_endpoint_auth_method = "none"
redirect_uris = ["http://localhost:9002/callback"]
require_pkce = false
"""
    with pytest.raises(SettingsError) as err:
        build_settings(parse_toml(client))
    assert any("only a confidential client may turn PKCE off" in p for p in err.value.problems)
    settings = build_settings(parse_toml(client + "\n[demo]\ninsecure = true\n"))
    assert settings.clients[0].require_pkce is False
    # Anything but the boolean true keeps the rule.
    with pytest.raises(SettingsError):
        build_settings(parse_toml(client + '\n[demo]\ninsecure = "yes"\n'))


def test_serve_refuses_the_demo_configuration(tmp_path: Path) -> None:
    config = tmp_path / "demo.toml"
    config.write_text(demo_settings_text(DEFAULT_PORTS))
    result = CliRunner().invoke(main, ["serve", "--config", str(config)])
    assert result.exit_code != 0
    assert "[demo] insecure = true" in result.output


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_inspector_depends_on_core_events_only_and_the_client_app_on_core_only() -> None:
    for path in (SRC / "inspector").rglob("*.py"):
        for name in _imports(path):
            if name.startswith("valetkey."):
                assert name == "valetkey.core.events" or name.startswith("valetkey.inspector"), (
                    path,
                    name,
                )
    for path in (SRC / "demo").rglob("*.py"):
        for name in _imports(path):
            assert not name.startswith(
                ("valetkey.server", "valetkey.store", "valetkey.resource")
            ), (path, name)


def test_inspector_answers_only_requests_naming_its_host(demo: DemoStack) -> None:
    """The demo's inspector has no credential and shows every flow: a web page open in the same
    browser that rebinds its own name to 127.0.0.1 still sends that name, and is not answered."""
    base = demo.urls["inspector"]
    with httpx.Client(timeout=10.0, trust_env=False) as http:
        assert http.get(f"{base}/api/flows").status_code == 200
        rebound = http.get(f"{base}/api/flows", headers={"Host": "evil.example"})
        assert rebound.status_code == 400 and "flow" not in rebound.text.lower()
        named = http.get(f"{base}/api/flows", headers={"Host": "localhost"})
        assert named.status_code == 200
