"""``valetkey serve --inspector``: the inspector on a real server process, behind its credential."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import SVC_SECRET, WEB_SECRET
from tests.lifecycle.conftest import FAST_BASE
from tests.support.flows import run_code_flow
from tests.support.serveproc import ServeProcess
from tests.support.servers import isolated_env
from valetkey.core import pkce
from valetkey.core.flows import authorization_flow_id, token_flow_id

pytestmark = [pytest.mark.e2e]

TOKEN = "inspector-admin-0123456789abcdef"


def config(database: str, token: str | None = TOKEN) -> str:
    line = f'inspector_token = "{token}"\n' if token else ""
    return f'database = "{database}"\n{line}{FAST_BASE}'


def basic(password: str, user: str = "admin") -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


BEARER = {"Authorization": f"Bearer {TOKEN}"}


def flows(base: str, query: str = "") -> list[dict[str, Any]]:
    r = httpx.get(f"{base}/inspector/api/flows{query}", headers=BEARER, timeout=10)
    assert r.status_code == 200, r.text
    return list(r.json()["flows"])


def flows_when(
    base: str, ready: Callable[[list[dict[str, Any]]], bool], query: str = ""
) -> list[dict[str, Any]]:
    """The flows, once ``ready`` holds: the events reach the inspector through the database."""
    deadline = time.monotonic() + 30
    while not ready(shown := flows(base, query)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return shown


def client_credentials(base: str) -> str:
    r = httpx.post(
        f"{base}/token",
        data={"grant_type": "client_credentials", "scope": "read:files"},
        auth=("svc", SVC_SECRET),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def alice_login(base: str) -> None:
    with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as http:
        result = run_code_flow(http, base)
        assert result.params.get("code"), result


WEB_CALLBACK = "https://web.example/callback"


def web_login(http: httpx.Client, base: str, state: str, **user: str) -> tuple[str, str]:
    """A login at the confidential client ``web`` (its consent is remembered) in the browser
    ``http``, signing in only if that browser has no session: the flow's id (as the server derives
    it from the request) and the refresh token."""
    result = run_code_flow(
        http, base, client_id="web", redirect_uri=WEB_CALLBACK, state=state, **user
    )
    assert result.params.get("code") and result.verifier, result
    r = http.post(
        f"{base}/token",
        data={
            "grant_type": "authorization_code",
            "code": result.params["code"],
            "redirect_uri": WEB_CALLBACK,
            "code_verifier": result.verifier,
        },
        auth=("web", WEB_SECRET),
    )
    assert r.status_code == 200, r.text
    challenge = pkce.challenge_for(result.verifier, "S256")
    flow_id = authorization_flow_id("web", WEB_CALLBACK, state, challenge, None)
    return flow_id, str(r.json()["refresh_token"])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    workdir = Path(tmp_path_factory.mktemp("serve-inspector"))
    server = ServeProcess(config(f"sqlite:///{workdir / 'vk.db'}"), workdir, args=("--inspector",))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_page_api_and_stream_refuse_requests_without_the_credential(served: ServeProcess) -> None:
    for path in ("/inspector/", "/inspector/api/flows", "/inspector/events"):
        for headers in ({}, basic("wrong-password-0123456789"), {"Authorization": "Bearer x"}):
            r = httpx.get(served.base + path, headers=headers, timeout=10)
            assert r.status_code == 401, (path, headers)
            assert r.headers["www-authenticate"].startswith("Basic realm=")
            assert r.json()["error"] == "invalid_token"
            assert "inspector_token" in r.json()["error_description"]


def test_the_credential_opens_page_api_and_stream(served: ServeProcess) -> None:
    page = httpx.get(served.base + "/inspector/", headers=basic(TOKEN), timeout=10)
    assert page.status_code == 200
    assert "/inspector/static/inspector.js" in page.text
    with httpx.stream(
        "GET", served.base + "/inspector/events", headers=basic(TOKEN, "any-user"), timeout=10
    ) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert next(stream.iter_text()).startswith("retry:")


def test_flows_filter_by_client_and_user_and_show_no_secret(served: ServeProcess) -> None:
    access_token = client_credentials(served.base)
    alice_login(served.base)
    svc = flows_when(served.base, bool, "?client_id=svc")
    assert svc and {f["client_id"] for f in svc} == {"svc"}
    alice = flows_when(served.base, bool, "?user=alice")
    assert alice and {f["user"] for f in alice} == {"alice"}
    assert {f["client_id"] for f in alice} == {"cli"}
    assert flows(served.base, "?user=alice&client_id=svc") == []
    shown = json.dumps(flows(served.base))
    assert SVC_SECRET not in shown and access_token not in shown
    assert "wonderland" not in shown  # alice's password, typed on the sign-in page


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServeProcess]:
    """A server of its own: its flows leave the shared one's users as the other tests expect."""
    server = ServeProcess(
        config(f"sqlite:///{tmp_path / 'vk.db'}"), tmp_path, args=("--inspector",)
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_users_remembered_logins_and_refreshes_are_under_their_name(
    own_server: ServeProcess,
) -> None:
    base = own_server.base
    with (
        httpx.Client(follow_redirects=False, timeout=30) as alice,
        httpx.Client(follow_redirects=False, timeout=30) as bob,
    ):
        signed_in, _ = web_login(alice, base, "alice-signs-in")
        remembered, refresh_token = web_login(alice, base, "alice-remembered")  # no sign-in now
        bobs, _ = web_login(bob, base, "bob-signs-in", username="bob", password="builder-bob")
        r = alice.post(
            f"{base}/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=("web", WEB_SECRET),
        )
        assert r.status_code == 200, r.text
    refreshed = token_flow_id(refresh_token)  # a client naming no flow: the refresh's own
    client_credentials(base)
    mine = {signed_in, remembered, refreshed}

    def all_there(shown: list[dict[str, Any]]) -> bool:
        return mine <= {f["flow_id"] for f in shown}

    by_alice = {f["flow_id"]: f for f in flows_when(base, all_there, "?user=alice")}
    assert set(by_alice) == mine, sorted(by_alice)  # not bob's, not the client's own
    assert all(f["user"] == "alice" and f["client_id"] == "web" for f in by_alice.values())
    assert by_alice[refreshed]["kind"] == "refresh" and by_alice[refreshed]["complete"]
    second = json.dumps(by_alice[remembered])
    assert "login.succeeded" not in second and "login.shown" not in second  # remembered
    assert by_alice[remembered]["complete"]
    assert [f["flow_id"] for f in flows_when(base, bool, "?user=bob")] == [bobs]
    (svc,) = flows_when(base, bool, "?client_id=svc")
    assert svc["user"] is None and svc["kind"] == "client_credentials"
    shown = json.dumps(list(by_alice.values()))
    assert refresh_token not in shown and WEB_SECRET not in shown


def test_refusals_are_events_naming_the_rule(served: ServeProcess) -> None:
    httpx.get(served.base + "/inspector/api/flows", timeout=10)

    def refusal_shown(shown: list[dict[str, Any]]) -> bool:
        return "Inspector request rejected: no credential" in json.dumps(shown)

    assert refusal_shown(flows_when(served.base, refusal_shown))


def test_serve_without_the_flag_has_no_inspector(tmp_path: Path) -> None:
    server = ServeProcess(config(f"sqlite:///{tmp_path / 'vk.db'}"), tmp_path).start()
    try:
        r = httpx.get(server.base + "/inspector/api/flows", headers=BEARER, timeout=10)
        assert r.status_code == 404
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("token", "says"), [(None, "needs an admin credential"), ("short", "16 or more")]
)
def test_serve_refuses_to_start_without_a_credential(
    tmp_path: Path, token: str | None, says: str
) -> None:
    path = tmp_path / "vk.toml"
    path.write_text(config(f"sqlite:///{tmp_path / 'vk.db'}", token))
    done = subprocess.run(
        [sys.executable, "-m", "valetkey", "serve", "--config", str(path), "--port", "0",
         "--inspector"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**isolated_env(tmp_path), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("valetkey: ") and says in lines[0], done.stderr
    assert "inspector_token" in lines[0] or "16" in lines[0]


def test_a_flow_exports_as_mermaid_and_har_behind_the_credential(served: ServeProcess) -> None:
    access_token = client_credentials(served.base)
    flow = flows_when(served.base, bool, "?client_id=svc")[-1]
    url = f"{served.base}/inspector/api/flows/{flow['flow_id']}"
    assert httpx.get(url + "/har", timeout=10).status_code == 401
    diagram = httpx.get(url + "/mermaid", headers=BEARER, timeout=10)
    assert diagram.status_code == 200
    assert diagram.text.startswith("sequenceDiagram\n")
    assert (
        "    client-->>authorization_server: 1. Tokens issued (client_credentials)" in diagram.text
    )
    exported = httpx.get(url + "/har", headers=BEARER, timeout=10)
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    (entry,) = exported.json()["log"]["entries"]
    assert entry["request"]["url"].endswith("/token") and entry["response"]["status"] == 200
    assert SVC_SECRET not in exported.text and access_token not in exported.text
    for missing in ("/inspector/api/flows/no-such-flow/har", url[len(served.base) :] + "/pdf"):
        assert httpx.get(served.base + missing, headers=BEARER, timeout=10).status_code == 404


def test_events_still_waiting_when_a_worker_stops_are_written(tmp_path: Path) -> None:
    server = ServeProcess(
        config(f"sqlite:///{tmp_path / 'vk.db'}"), tmp_path, args=("--inspector", "--workers", "2")
    ).start()
    try:
        client_credentials(server.base)
        server.stop()  # at once: the worker writes its queue as it stops (it skips atexit)
        server.start()
        assert [f["client_id"] for f in flows(server.base)] == ["svc"]
    finally:
        server.stop()
