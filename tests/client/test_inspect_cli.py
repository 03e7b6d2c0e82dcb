"""``valetkey token get --inspect`` against valetkey's own ``serve`` (a real process): the client's
side of the flow laid onto the canonical steps in the terminal and exported (Mermaid, HAR, the
view as JSON) with every secret redacted; a tampered callback drawn as a failed check with its
spec section, and nothing sent after it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from tests.client.clirun import deliver, waiting_cli
from tests.client.conftest import SVC_SECRET
from tests.support.flows import login_and_consent
from tests.support.servers import isolated_env

pytestmark = pytest.mark.e2e


def tampered(location: str, **changes: str) -> str:
    parts = urlsplit(location)
    return urlunsplit(parts._replace(query=urlencode(dict(parse_qsl(parts.query)) | changes)))


def inspected_get(
    issuer: str, tmp_path: Path, *extra: str, change: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """``token get --inspect`` as a process; the user signs in; returns the exit code, stderr and
    the callback URL the server sent (before any tampering)."""
    env = {**os.environ, **isolated_env(tmp_path), "COLUMNS": "250"}
    args = ["token", "get", "--no-browser", "--issuer", issuer, "--client-id", "cli",
            "--scope", "openid read:profile", "--timeout", "60", "--inspect", *extra]  # fmt: skip
    with waiting_cli(args, env) as waiting, httpx.Client(timeout=10) as browser:
        location = login_and_consent(browser, waiting.url).headers["location"]
        deliver(browser, tampered(location, **change) if change else location)
        code, _out, err = waiting.finish()
    return code, err, location


def saved_secrets(tmp_path: Path) -> list[str]:
    saved = json.loads((tmp_path / "xdg-data" / "valetkey" / "tokens.json").read_text())
    tokens = saved["default"]["tokens"]
    return [tokens[k] for k in ("access_token", "refresh_token", "id_token")]


def test_a_login_is_drawn_on_its_steps_and_exported_without_secrets(
    issuer: str, tmp_path: Path
) -> None:
    files = [tmp_path / f"flow.{suffix}" for suffix in ("mmd", "har", "json")]
    code, err, location = inspected_get(
        issuer, tmp_path, *(arg for f in files for arg in ("--inspect-export", str(f)))
    )
    assert code == 0, err
    assert "OpenID Connect (Authorization Code + PKCE + ID token)  complete" in err
    for line in (
        "✓ 1. Clicks “Sign in”",
        "✓ 2. Redirect to /authorize with scope=openid + nonce",
        "· 4. Signs in at the server (User → Authorization Server, front): unobserved",
        "✓ 7. Delivers the callback",
        "✓ check_state (RFC 6749 §10.12, RFC 9700 §4.7)",
        f"✓ check_iss (RFC 9207 §2.4): iss={issuer} is the issuer this request went to",
        "✓ 8. POST /token with code + code_verifier",
        "✓ check_token_type (RFC 6749 §7.1)",
        "✓ 10. Validates the ID token",
        "✓ check_id_token_signature (OIDC Core §3.1.3.7 step 6)",
        "✓ check_id_token_nonce (OIDC Core §3.1.3.7 step 11)",
        "✓ check_at_hash (OIDC Core §3.1.3.8)",
        "checks: 10 passed, 0 failed, 0 skipped",
    ):
        assert line in err, line
    mmd, har, view = (f.read_text() for f in files)
    assert mmd.startswith("sequenceDiagram\n") and "browser->>client" in mmd
    entries = json.loads(har)["log"]["entries"]
    token = next(e for e in entries if e["request"]["url"].endswith("/token"))
    sent = {p["name"]: p["value"] for p in token["request"]["postData"]["params"]}
    assert sent["grant_type"] == "authorization_code"
    assert sent["code_verifier"].endswith("[redacted]") and sent["code"].endswith("[redacted]")
    assert ["check_scope_not_wider", "pass", "RFC 6749 §3.3, RFC 9700 §2.3"] in token["_checks"]
    steps = json.loads(view)["flow"]["steps"]
    assert [s["status"] for s in steps[:10]] == ["done"] * 2 + ["unobserved"] * 4 + ["done"] * 4
    code_value = dict(parse_qsl(urlsplit(location).query))["code"]
    for secret in [code_value, *saved_secrets(tmp_path)]:
        for text in (err, mmd, har, view):
            assert secret not in text


def test_a_tampered_state_is_the_failed_check_and_nothing_is_redeemed(
    issuer: str, tmp_path: Path
) -> None:
    code, err, _location = inspected_get(
        issuer, tmp_path, change={"state": "forged-by-an-attacker"}
    )
    assert code != 0
    assert "OpenID Connect (Authorization Code + PKCE + ID token)  invalid_callback" in err
    assert "✗ 7. Delivers the callback (Browser → Client App, front): failed" in err
    assert "✗ check_state (RFC 6749 §10.12, RFC 9700 §4.7): the callback's state does not" in err
    assert "· 8. POST /token with code + code_verifier" in err and ": not_reached" in err
    assert "POST http" not in err  # the code was never sent
    assert "checks: 0 passed, 1 failed, 0 skipped" in err


def test_a_call_is_drawn_with_its_token_masked(issuer: str, tmp_path: Path) -> None:
    code, err, _location = inspected_get(issuer, tmp_path)
    assert code == 0, err
    mmd = tmp_path / "call.mmd"
    env = {**os.environ, **isolated_env(tmp_path), "COLUMNS": "250"}
    called = subprocess.run(
        [sys.executable, "-m", "valetkey", "call", "--token", "default", f"{issuer}/userinfo",
         "--inspect-export", str(mmd)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout)["sub"]  # stdout keeps the API's answer alone
    drawn = called.stderr
    assert "API call with an access token  complete" in drawn
    assert "✓ 1. API call with the Bearer token (Client App → Resource Server, back): done" in drawn
    assert "✓ 2. Checks the token, answers" in drawn and "← 200" in drawn
    assert "authorization: Bear…[redacted]" in drawn
    assert mmd.read_text().count("client-->>resource_server") == 1
    access, _refresh, _id = saved_secrets(tmp_path)
    assert access not in drawn and access not in mmd.read_text()


def test_the_flow_is_shown_on_the_inspector_page_until_ctrl_c(issuer: str, tmp_path: Path) -> None:
    env = {**os.environ, **isolated_env(tmp_path)}
    args = ["token", "get", "--no-browser", "--issuer", issuer, "--client-id", "cli",
            "--scope", "read:profile", "--timeout", "60", "--inspect-page", "0"]  # fmt: skip
    with waiting_cli(args, env) as waiting, httpx.Client(timeout=10) as browser:
        deliver(browser, login_and_consent(browser, waiting.url).headers["location"])
        assert waiting.proc.stderr is not None
        before: list[str] = []
        for line in iter(waiting.proc.stderr.readline, ""):
            before.append(line)
            if line.startswith("http://127.0.0.1:"):
                break
        page = before[-1].strip()
        base, flow_id = page.split("/#flow=")
        assert "<title>" in browser.get(base + "/").text  # the inspector's own page
        view = browser.get(f"{base}/api/flows/{flow_id}").json()
        assert view["kind"] == "pkce" and view["complete"]
        assert view["steps"][6]["status"] == "done"  # the callback, with its checks
        assert {c["rule"] for c in view["steps"][6]["event"]["checks"]} == {
            "check_state", "check_iss",
        }  # fmt: skip
        mermaid = browser.get(f"{base}/api/flows/{flow_id}/mermaid").text
        assert mermaid.startswith("sequenceDiagram")
        # A page that rebinds its own name to 127.0.0.1 still sends that name: not answered.
        rebound = browser.get(f"{base}/api/flows/{flow_id}", headers={"Host": "evil.example"})
        assert rebound.status_code == 400 and flow_id not in rebound.text
        waiting.proc.send_signal(signal.SIGINT)
        code, _out, err = waiting.finish()
    assert code == 0, err
    shown = "".join(before)
    assert shown.index("saved token 'default'") < shown.index("The flow in the inspector")


def test_a_client_credentials_grant_is_drawn_and_its_secret_never_shown(
    issuer: str, tmp_path: Path
) -> None:
    har = tmp_path / "cc.har"
    env = {**os.environ, **isolated_env(tmp_path), "COLUMNS": "250"}
    done = subprocess.run(
        [sys.executable, "-m", "valetkey", "token", "get", "--grant", "client_credentials",
         "--issuer", issuer, "--client-id", "svc", "--client-secret", SVC_SECRET,
         "--scope", "read:files", "--inspect", "--inspect-export", str(har), "--json"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True  # stdout keeps the command's JSON alone
    assert "Client Credentials  complete" in done.stderr
    assert "✓ 2. POST /token grant_type=client_credentials" in done.stderr
    assert "authorization: Basi…[redacted]" in done.stderr
    assert "✓ check_scope_not_wider (RFC 6749 §3.3, RFC 9700 §2.3)" in done.stderr
    access = json.loads((tmp_path / "xdg-data" / "valetkey" / "tokens.json").read_text())
    secrets = [SVC_SECRET, access["default"]["tokens"]["access_token"]]
    for secret in secrets:
        assert secret not in done.stderr and secret not in har.read_text()
