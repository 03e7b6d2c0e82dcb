"""``valetkey token get --inspect`` against a third-party server: oidc-provider (npm) as a real
process. The client's side of an OpenID Connect login is drawn on the canonical steps with every
check passed (state, iss, token type and scope, ID token signature, claims, nonce); a callback
whose ``iss`` was tampered with is drawn as the failed check, with its spec section, and no code
is redeemed. Without Node.js the tests are skipped; on CI they fail."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from tests.client.clirun import deliver, waiting_cli
from tests.interop.node_peers import Peer, oidc_provider, require_node_packages
from tests.support.forms import forms_in
from tests.support.servers import isolated_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    require_node_packages(tmp_path_factory, what="the oidc-provider --inspect interop tests")
    with oidc_provider(tmp_path_factory.mktemp("oidc-provider")) as running:
        yield running


def callback_location(browser: httpx.Client, url: str) -> str:
    """Play the user on oidc-provider's dev pages (any login, consent) until the server
    redirects to the CLI's loopback redirect URI; return that location."""
    redirect_uri = dict(parse_qsl(urlsplit(url).query))["redirect_uri"]
    page = browser.get(url)
    for _ in range(12):
        if page.status_code in (302, 303):
            location = str(page.url.join(page.headers["location"]))
            if location.startswith(redirect_uri):
                return location
            page = browser.get(location)
            continue
        form = forms_in(page.text, str(page.url))[0]
        data = dict(form.fields)
        if "password" in data:
            data.update(login="alice", password="any")  # dev interactions take any login
        page = browser.post(form.action, data=data)
    raise AssertionError("oidc-provider's pages did not finish:\n" + page.text[:500])


def inspected_get(
    peer: Peer, tmp_path: Path, *extra: str, change: dict[str, str] | None = None
) -> tuple[int, str, str]:
    env = {**os.environ, **isolated_env(tmp_path), "COLUMNS": "250"}
    args = ["token", "get", "--no-browser", "--issuer", peer.issuer, "--client-id",
            "inspect-cli", "--scope", "openid", "--timeout", "60", "--inspect", *extra]  # fmt: skip
    with waiting_cli(args, env) as waiting, httpx.Client(timeout=10) as browser:
        location = callback_location(browser, waiting.url)
        if change:
            parts = urlsplit(location)
            query = urlencode(dict(parse_qsl(parts.query)) | change)
            deliver(browser, urlunsplit(parts._replace(query=query)))
        else:
            deliver(browser, location)
        code, _out, err = waiting.finish()
    return code, err, location


def test_an_oidc_provider_login_passes_every_client_check(peer: Peer, tmp_path: Path) -> None:
    har = tmp_path / "flow.har"
    code, err, location = inspected_get(peer, tmp_path, "--inspect-export", str(har))
    assert code == 0, err
    assert "OpenID Connect (Authorization Code + PKCE + ID token)  complete" in err
    for line in (
        "✓ 7. Delivers the callback",
        "✓ check_state (RFC 6749 §10.12, RFC 9700 §4.7)",
        f"✓ check_iss (RFC 9207 §2.4): iss={peer.issuer} is the issuer this request went to",
        "✓ 8. POST /token with code + code_verifier",
        "✓ check_token_type (RFC 6749 §7.1)",
        "✓ check_id_token_signature (OIDC Core §3.1.3.7 step 6): ES256",
        "✓ check_id_token_audience (OIDC Core §3.1.3.7 steps 3-5): aud=inspect-cli",
        "✓ check_id_token_nonce (OIDC Core §3.1.3.7 step 11)",
        "checks: 9 passed, 0 failed, 0 skipped",
    ):
        assert line in err, line
    assert "✗" not in err
    code_value = dict(parse_qsl(urlsplit(location).query))["code"]
    saved = json.loads((tmp_path / "xdg-data" / "valetkey" / "tokens.json").read_text())
    tokens = saved["default"]["tokens"]
    exported = har.read_text()
    for secret in (code_value, tokens["access_token"], tokens["id_token"]):
        assert secret not in err and secret not in exported
    urls = [e["request"]["url"] for e in json.loads(exported)["log"]["entries"]]
    assert urls[0].startswith(f"{peer.issuer}/.well-known/")  # discovery, then the flow
    assert urls[1].startswith(f"{peer.issuer}/auth?response_type=code")  # the redirect sent
    assert "/callback?code=" in urls[2]  # the callback received
    assert urls[3:] == [f"{peer.issuer}/token", f"{peer.issuer}/jwks"]


def test_a_callback_from_another_issuer_is_refused_and_drawn_failed(
    peer: Peer, tmp_path: Path
) -> None:
    code, err, _location = inspected_get(
        peer, tmp_path, change={"iss": "https://mix-up.attacker.example"}
    )
    assert code != 0
    assert "✗ 7. Delivers the callback (Browser → Client App, front): failed" in err
    assert "✓ check_state (RFC 6749 §10.12, RFC 9700 §4.7)" in err
    assert (
        "✗ check_iss (RFC 9207 §2.4): the callback comes from issuer "
        "'https://mix-up.attacker.example'" in err
    )
    assert "POST http" not in err  # the code was never sent
    assert "checks: 1 passed, 1 failed, 0 skipped" in err
