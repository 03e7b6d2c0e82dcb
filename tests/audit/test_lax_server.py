"""Each audit check can fail: the audit against a deliberately lax server (tests/audit/lax_server.py)
finds every missing defence, and the defences the server does have pass."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.audit.lax_server import REDIRECT, Lax
from tests.support.servers import lean_uvicorn_in_thread
from valetkey.audit import AuditConfig, InBrowser, Report, Scripted, Target, audit
from valetkey.audit.navigate import Navigator

pytestmark = pytest.mark.e2e  # real server processes on loopback ports

LOGIN = (("username", "alice"), ("password", "wonderland"))


@contextmanager
def lax_server(lax: Lax) -> Iterator[str]:
    with lean_uvicorn_in_thread(lax.app(), lifespan="off") as port:
        lax.issuer = f"http://127.0.0.1:{port}"
        yield lax.issuer


def run_audit(
    issuer: str, *, code_wait: float = 0.0, secret: str | None = None, person: bool = False
) -> dict[str, str]:
    config = AuditConfig(issuer, "lax-client", REDIRECT, secret, code_wait=code_wait)
    with httpx.Client(timeout=10) as http, httpx.Client(timeout=10) as browser:
        navigate: Navigator = Scripted(http, LOGIN)
        if person:  # --browser: a person signs in; here another cookie jar plays them
            navigate = in_browser(browser)
        report: Report = audit(Target(config, http, navigate))
    return {f.check.id: f.status for f in report.findings}


def in_browser(browser: httpx.Client) -> InBrowser:
    """--browser's navigator, the person reading the URL shown and typing back where they ended."""
    shown: list[str] = []

    def ask(prompt: str) -> str:
        url = shown[-1].rsplit("\n", 1)[-1]
        landing = Scripted(browser, LOGIN)(url, REDIRECT)
        return landing.location or ""

    return InBrowser(ask, shown.append)


def test_every_missing_defence_is_a_failure() -> None:
    with lax_server(Lax()) as issuer:
        found = run_audit(issuer, code_wait=0.1)
    assert found == {
        "setup.code_flow": "pass",  # the flow itself works
        "pkce.required": "fail",
        "pkce.required_confidential": "skip",  # the client is public
        "pkce.plain_refused": "fail",
        "pkce.verifier_without_challenge": "fail",
        "pkce.verifier_checked": "fail",
        "redirect.exact_path": "fail",
        "redirect.exact_query": "fail",
        "redirect.exact_port": "fail",
        "redirect.exact_scheme": "fail",
        "redirect.never_foreign": "fail",
        "code.single_use": "fail",
        "code.replay_revokes": "skip",  # the replay itself worked: nothing to revoke
        "code.short_lived": "fail",
        "refresh.rotation": "fail",
        "refresh.reuse_refused": "skip",  # no rotation, so no reuse to refuse
        "refresh.reuse_revokes": "skip",
        "response.iss": "fail",
        "response.state": "fail",
        "errors.authorization": "fail",
        "errors.token": "fail",
        "errors.invalid_client": "fail",  # 400 invalid_request for an unknown client
        "token.no_store": "fail",
        "page.not_framable": "fail",
        "grant.implicit_refused": "fail",
        "metadata.consistent": "fail",
    }


def test_single_use_codes_without_revocation_and_rotation_without_reuse_detection() -> None:
    with lax_server(Lax(single_use=True, rotate=True, refuse_old=True)) as issuer:
        found = run_audit(issuer)
    assert found["code.single_use"] == "pass"
    assert found["code.replay_revokes"] == "fail"  # the first exchange's refresh token still works
    assert found["refresh.rotation"] == "pass"
    assert found["refresh.reuse_refused"] == "pass"
    assert found["refresh.reuse_revokes"] == "fail"  # the newest token survives the replay
    assert found["code.short_lived"] == "skip"  # no --code-wait: not run


def test_a_rotated_out_refresh_token_that_still_works_fails() -> None:
    with lax_server(Lax(single_use=True, rotate=True)) as issuer:
        found = run_audit(issuer)
    assert found["refresh.rotation"] == "pass"
    assert found["refresh.reuse_refused"] == "fail"
    assert found["refresh.reuse_revokes"] == "skip"


def test_a_confidential_client_is_judged_by_the_confidential_rules() -> None:
    with lax_server(Lax()) as issuer:
        found = run_audit(issuer, secret="lax-secret")
    assert found["pkce.required"] == "skip"
    assert found["pkce.required_confidential"] == "fail"
    assert found["refresh.rotation"] == "skip"  # RFC 9700 section 4.14.2 asks it of public clients
    assert found["errors.invalid_client"] == "fail"  # a wrong secret: 400, no WWW-Authenticate


def test_a_server_that_crashes_has_not_refused() -> None:
    with lax_server(Lax(crash=True)) as issuer:
        found = run_audit(issuer)
    for check in ("pkce.required", "pkce.verifier_without_challenge", "redirect.exact_path",
                  "redirect.exact_query", "redirect.exact_port", "redirect.exact_scheme",
                  "redirect.never_foreign"):  # fmt: skip
        assert found[check] == "skip", check
    assert found["pkce.plain_refused"] == "fail"  # has a challenge: no crash


def test_in_a_browser_the_same_defects_are_found() -> None:
    with lax_server(Lax()) as issuer:
        found = run_audit(issuer, person=True)
    assert found["setup.code_flow"] == "pass"
    assert found["redirect.never_foreign"] == "fail"
    assert found["pkce.required"] == "fail"
    assert found["response.state"] == "fail"
    assert found["errors.authorization"] == "fail"  # the person saw an error page, no redirect


def test_the_command_exits_non_zero_and_writes_junit_and_html(tmp_path: Path) -> None:
    junit, page = tmp_path / "audit.xml", tmp_path / "audit.html"
    with lax_server(Lax()) as issuer:
        done = subprocess.run(
            [sys.executable, "-m", "valetkey", "audit", issuer, "--client-id", "lax-client",
             "--redirect-uri", REDIRECT, "--login-field", "username=alice",
             "--login-field", "password=wonderland", "--junit", str(junit), "--html", str(page),
             "--check", "pkce.required", "--check", "token.no_store", "--check", "code.short_lived"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "HIGH SEVERITY: pkce.required" in done.stderr
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert cases["pkce.required"].find("failure") is not None
    assert cases["token.no_store"].find("failure") is not None
    assert cases["code.short_lived"].find("skipped") is not None
    html = page.read_text()
    assert (
        "pkce.required" in html
        and "<script" not in html
        and "http" + "s://" not in html.split("<table>")[0]
    )


@pytest.mark.parametrize("wrong", ["http://127.0.0.1:9/", "not a url"])
def test_an_issuer_that_cannot_be_discovered_exits_2(wrong: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "valetkey", "audit", wrong, "--client-id", "x",
         "--redirect-uri", REDIRECT],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "cannot audit" in done.stderr
