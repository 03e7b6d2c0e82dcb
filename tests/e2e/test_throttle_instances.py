"""The guessing defences across instances: two `valetkey serve` processes on one PostgreSQL
database count failures together (RFC 6749 §10.10), so spreading guesses over a load balancer's
instances earns an attacker nothing."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import httpx

from tests.conftest import SVC_SECRET
from tests.lifecycle.conftest import FAST_BASE
from tests.support.forms import the_form
from tests.support.serveproc import ServeProcess
from valetkey.core import pkce

READY_SECONDS = 120.0
# Two free failures, then a minute: long enough that no window ends while the test runs.
TOP = (
    'issuer = "http://valetkey.test"\n'
    "throttle_free_failures = 2\nthrottle_first_delay = 60\nthrottle_account_cap = 60\n"
)


def _login_fields(http: httpx.Client, base: str) -> dict[str, str]:
    query = {
        "response_type": "code",
        "client_id": "cli",
        "redirect_uri": "http://127.0.0.1:9999/callback",
        "scope": "read:profile",
        "state": "s",
        "code_challenge": pkce.s256(pkce.new_verifier()),
        "code_challenge_method": "S256",
    }
    page = http.get(f"{base}/authorize?" + urlencode(query))
    assert page.status_code == 200, page.text
    return the_form(page.text, base).fields


def _from(address: str) -> httpx.Client:
    """A client whose requests come from ``address`` (any 127.0.0.0/8 address reaches loopback)."""
    return httpx.Client(timeout=30, transport=httpx.HTTPTransport(local_address=address))


def test_failures_spread_over_two_instances_count_together(tmp_path: Path, pg_url: str) -> None:
    config = f'database = "{pg_url}"\n{TOP}{FAST_BASE}'
    servers = [ServeProcess(config, tmp_path) for _ in range(2)]
    try:
        for server in servers:
            server.start()
        a, b = (s.base for s in servers)
        with _from("127.0.0.2") as http:
            # Client authentication: one failure on A, one on B, one on A; then B refuses the next
            # guess, unchecked. Alone, neither instance saw more than two.
            wrong, right = ("svc", "wrong"), ("svc", SVC_SECRET)
            data = {"grant_type": "client_credentials"}
            statuses = [
                http.post(f"{base}/token", data=data, auth=wrong).status_code for base in (a, b, a)
            ]
            assert statuses == [401, 401, 401]
            refused = http.post(f"{b}/token", data=data, auth=wrong)
            assert refused.status_code == 429, refused.text
            assert 0 < int(refused.headers["retry-after"]) <= 60
            assert refused.json()["error"] == "invalid_client"
            assert http.post(f"{a}/token", data=data, auth=wrong).status_code == 429
            # svc's secret is too long to guess: the right one is never refused.
            assert http.post(f"{a}/token", data=data, auth=right).status_code == 200

        with _from("127.0.0.3") as http:  # another address: its own count
            # Sign-in: the same across the two instances' forms.
            forms = {base: _login_fields(http, base) for base in (a, b)}
            for base in (b, a, b):
                r = http.post(f"{base}/login", data=dict(forms[base], username="bob", password="x"))
                assert r.status_code == 401, r.text
            page = http.post(
                f"{a}/login", data=dict(forms[a], username="bob", password="builder-bob")
            )
            assert page.status_code == 429
            assert (
                f"Too many attempts: try again in {page.headers['retry-after']} seconds"
                in page.text
            )
    finally:
        for server in servers:
            server.stop()
