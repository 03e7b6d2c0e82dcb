"""``valetkey audit`` against a real ``valetkey serve``: every check passes for a public and a
confidential client (valetkey is strict), and the command exits 0 with its JSON, JUnit and HTML."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.serveproc import ServeProcess
from valetkey.audit import CHECKS

pytestmark = pytest.mark.e2e  # real server processes on loopback ports

SECRET = "audit-web-secret-0123456789abcdefghijklmnop"
REDIRECT = "https://client.example/cb"  # not loopback: the port check runs too
CONFIG = f"""
authorization_code_ttl = 2

[[resources]]
identifier = "https://api.valetkey.test"
scopes = ["read:profile"]

[[clients]]
client_id = "audit-public"
token_endpoint_auth_method = "none"
redirect_uris = ["{REDIRECT}"]
grant_types = ["authorization_code", "refresh_token"]
scope = "openid read:profile"

[[clients]]
client_id = "audit-web"
client_secret = "{SECRET}"
redirect_uris = ["{REDIRECT}"]
grant_types = ["authorization_code", "refresh_token"]
scope = "openid read:profile"

[[users]]
username = "alice"
password = "wonderland"
"""
LOGIN = ["--login-field", "username=alice", "--login-field", "password=wonderland",
         "--consent-button", "decision=approve"]  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    workdir = tmp_path_factory.mktemp("audit-valetkey")
    proc = ServeProcess(f'database = "sqlite:///{workdir / "v.db"}"\n' + CONFIG, workdir).start()
    yield proc
    proc.stop()


def audit(server: ServeProcess, tmp_path: Path, *args: str) -> tuple[int, dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-m", "valetkey", "audit", server.base, "--redirect-uri", REDIRECT,
         "--scope", "read:profile", *LOGIN, "--json", "--junit", str(tmp_path / "a.xml"),
         "--html", str(tmp_path / "a.html"), *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout)


def test_every_check_passes_for_a_public_client(server: ServeProcess, tmp_path: Path) -> None:
    # authorization_code_ttl is 2 s: a code held 3 s must be refused.
    code, report = audit(server, tmp_path, "--client-id", "audit-public", "--code-wait", "3")
    findings = {f["check"]: f for f in report["findings"]}  # type: ignore[attr-defined]
    assert list(findings) == [c.id for c in CHECKS]
    confidential_only = {"pkce.required_confidential"}
    assert {k: f["status"] for k, f in findings.items()} == {
        c.id: "skip" if c.id in confidential_only else "pass" for c in CHECKS
    }
    assert code == 0
    assert "iss=" + server.base in findings["response.iss"]["evidence"]
    assert "X-Frame-Options: DENY" in findings["page.not_framable"]["evidence"]
    junit = ET.parse(tmp_path / "a.xml").getroot()
    assert junit.find("testsuite").get("failures") == "0"  # type: ignore[union-attr]
    assert len(list(junit.iter("testcase"))) == len(CHECKS)
    assert "metadata.consistent" in (tmp_path / "a.html").read_text()


def test_every_check_passes_for_a_confidential_client(server: ServeProcess, tmp_path: Path) -> None:
    code, report = audit(server, tmp_path, "--client-id", "audit-web", "--client-secret", SECRET)
    statuses = {f["check"]: f["status"] for f in report["findings"]}  # type: ignore[attr-defined]
    not_run = {"code.short_lived", "pkce.required"}  # no --code-wait; pkce.required: public only
    assert statuses == {c.id: "skip" if c.id in not_run else "pass" for c in CHECKS}
    assert report["client_type"] == "confidential" and code == 0
