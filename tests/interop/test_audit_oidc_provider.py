"""``valetkey audit`` against oidc-provider (npm) in its default configuration, as real processes:
what it finds there, asserted so that a change in either shows (docs/audit.md states the same).

- Public client: every check passes but one: the dev interaction pages (the sign-in page) send
  neither X-Frame-Options nor a CSP frame-ancestors, so any site can frame them.
- Confidential client: PKCE is not required of it (oidc-provider requires PKCE only of clients
  without authentication, as RFC 9700 section 2.1.1 permits; OAuth 2.1 wants it of all), and its
  refresh tokens are not rotated (RFC 9700 asks rotation of public clients only).

Without Node.js the tests are skipped; on CI they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.node_peers import require_node_packages
from valetkey.audit import CHECKS

pytestmark = pytest.mark.e2e

NODE_DIR = Path(__file__).parent / "audit_node"
SECRET = "audit-web-secret-0123456789abcdefghijklmnop"
REDIRECT = "https://client.example/cb"
LOGIN = ["--login-field", "login=alice", "--login-field", "password=any"]  # dev logins take any


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_node_packages(tmp_path_factory, NODE_DIR, "the oidc-provider audit interop tests")
    log = tmp_path_factory.mktemp("oidc-provider") / "oidc-provider.log"
    env = os.environ | {"AUDIT_WEB_SECRET": SECRET, "AUDIT_CODE_TTL": "1"}
    with log.open("w") as errors:
        proc = subprocess.Popen(
            ["node", str(NODE_DIR / "server.mjs")], stdout=subprocess.PIPE, stderr=errors,
            stdin=subprocess.DEVNULL, text=True, env=env,
        )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, f"oidc-provider did not start:\n{log.read_text()}"
        yield str(json.loads(line)["issuer"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()


def audit(issuer: str, *args: str) -> tuple[int, dict[str, dict[str, str]]]:
    done = subprocess.run(
        [sys.executable, "-m", "valetkey", "audit", issuer, "--redirect-uri", REDIRECT,
         "--scope", "openid", *LOGIN, "--json", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    report = json.loads(done.stdout)
    return done.returncode, {f["check"]: f for f in report["findings"]}


def test_a_public_client_every_check_passes_but_framing(issuer: str) -> None:
    code, found = audit(issuer, "--client-id", "audit-public", "--code-wait", "2")
    expected = {c.id: "pass" for c in CHECKS}
    expected |= {"pkce.required_confidential": "skip", "page.not_framable": "fail"}
    assert {k: f["status"] for k, f in found.items()} == expected
    assert code == 0  # page.not_framable is of medium severity
    assert "/interaction/" in found["page.not_framable"]["evidence"]
    assert "PKCE" in found["pkce.required"]["evidence"]  # its own error_description
    assert "iss=" + issuer in found["response.iss"]["evidence"]


def test_a_confidential_client_may_skip_pkce_and_keeps_its_refresh_token(issuer: str) -> None:
    code, found = audit(issuer, "--client-id", "audit-web", "--client-secret", SECRET)
    expected = {c.id: "pass" for c in CHECKS}
    expected |= {
        "pkce.required": "skip",  # public clients only
        "pkce.required_confidential": "fail",
        "code.short_lived": "skip",  # no --code-wait
        "refresh.rotation": "skip",
        "refresh.reuse_refused": "skip",
        "refresh.reuse_revokes": "skip",
        "page.not_framable": "fail",
    }
    assert {k: f["status"] for k, f in found.items()} == expected
    assert code == 0  # both failures are below high severity
    # No challenge, and a verifier sent anyway: the code is refused at the token endpoint.
    assert "its exchange refused" in found["pkce.verifier_without_challenge"]["evidence"]
