"""valetkey's CLI completes DPoP (RFC 9449) and PAR (RFC 9126) against oidc-provider (npm), a real
process on a loopback port that requires its DPoP nonce at every endpoint that checks a proof
(token, PAR, userinfo): `token get --dpop` (client credentials, and the code flow), `call` on
oidc-provider's userinfo with the saved DPoP token and key, `token refresh` with a proof, and
`token get --par` (alone, with --dpop, and for a client that must push).

oidc-provider is installed into tests/interop/dpop_par_node/node_modules (git-ignored) on first
use; without Node.js these tests say SKIPPED, on CI they fail (tests/interop/node_packages.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.client.clirun import deliver, waiting_cli
from tests.interop.node_packages import require_packages
from tests.interop.test_client_assertion_oidc_provider import _dev_interactions
from tests.support.servers import free_port, isolated_env, wait_until_ready
from valetkey.client.tokenstore import TokenStore

pytestmark = pytest.mark.e2e

NODE_DIR = Path(__file__).parent / "dpop_par_node"
SVC_SECRET = "dpop-svc-secret-" + "0123456789abcdef" * 3


@dataclass
class Peer:
    issuer: str
    redirect_uri: str
    log: Path

    def requests(self) -> list[dict[str, Any]]:
        """What oidc-provider was sent and how it answered (provider.mjs logs one JSON a line)."""
        lines = self.log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    require_packages(NODE_DIR, tmp_path_factory.mktemp("npm-cache"), "oidc-provider")
    tmp = tmp_path_factory.mktemp("oidc-provider")
    port = free_port()
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    log = tmp / "oidc-provider.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["node", str(NODE_DIR / "provider.mjs"), str(port), redirect],
            stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
            env=os.environ | {"SVC_SECRET": SVC_SECRET},
        )  # fmt: skip
    issuer = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{issuer}/.well-known/openid-configuration", proc, log)
        yield Peer(issuer, redirect, log)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # provider.mjs exits when its stdin ends, even if we are killed
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The CLI's environment: its own token store for each test."""
    return os.environ | isolated_env(tmp_path)


def vk(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "valetkey", *args, "--json"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def saved(env: dict[str, str], name: str) -> Any:
    """The token the CLI saved under ``name``, read from its store in ``env``'s XDG directories."""
    xdg = {k: env[k] for k in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    previous = {k: os.environ[k] for k in xdg}
    os.environ.update(xdg)
    try:
        return TokenStore().get(name)
    finally:
        os.environ.update(previous)


def sign_in(peer: Peer, env: dict[str, str], *args: str) -> tuple[str, dict[str, Any]]:
    """``token get ARGS`` through the code flow: the user on oidc-provider's dev pages. Returns
    the URL the CLI printed and its JSON answer."""
    command = ["token", "get", "--issuer", peer.issuer, "--redirect-uri", peer.redirect_uri,
               "--no-browser", "--json", *args]  # fmt: skip
    with waiting_cli(command, env) as waiting, httpx.Client(timeout=10) as browser:
        page = _dev_interactions(browser, waiting.url)
        assert page.status_code == 200
        code, out, err = waiting.finish()
    assert code == 0, err + peer.log.read_text()[-3000:]
    return waiting.url, json.loads(out)


def nonce_then_success(requests: list[dict[str, Any]], path: str) -> None:
    """The DPoP requests to ``path``: at least one refused use_dpop_nonce, the last accepted."""
    seen = [r for r in requests if r["path"] == path]
    assert seen and all(r["dpop"] for r in seen), seen
    assert any(r["error"] == "use_dpop_nonce" for r in seen), seen
    assert seen[-1]["status"] < 300, seen


def test_client_credentials_with_dpop_and_the_nonce(peer: Peer, env: dict[str, str]) -> None:
    before = len(peer.requests())
    got = vk(
        env, "token", "get", "--grant", "client_credentials", "--issuer", peer.issuer,
        "--client-id", "dpop-svc", "--client-secret", SVC_SECRET, "--scope", "read", "--dpop",
        "--name", "svc",
    )  # fmt: skip
    assert got["ok"] and got["scope"] == "read"
    token = saved(env, "svc")
    assert token.tokens.token_type == "DPoP" and token.config.dpop_key
    nonce_then_success(peer.requests()[before:], "/token")


def test_code_flow_with_dpop_then_call_userinfo_and_refresh(
    peer: Peer, env: dict[str, str]
) -> None:
    url, got = sign_in(
        peer, env, "--client-id", "dpop-cli", "--scope", "openid offline_access read", "--dpop",
        "--auth-param", "prompt=consent", "--name", "bound",
    )  # fmt: skip
    assert "dpop_jkt=" in url and got["refresh_available"] is True
    first = saved(env, "bound")
    assert first.tokens.token_type == "DPoP"
    before = len(peer.requests())
    # oidc-provider's userinfo is a DPoP-protected resource that wants its nonce too (§9).
    called = vk(env, "call", f"{peer.issuer}/me", "--token", "bound")
    assert called["status"] == 200, called
    assert called["body"]["sub"] == "alice"
    nonce_then_success(peer.requests()[before:], "/me")
    # The refresh token of a public client is bound to the key (§5): the saved key proves it.
    vk(env, "token", "refresh", "bound")
    refreshed = saved(env, "bound")
    assert refreshed.tokens.access_token != first.tokens.access_token
    assert refreshed.config.dpop_key == first.config.dpop_key
    assert vk(env, "call", f"{peer.issuer}/me", "--token", "bound")["status"] == 200
    # The token without the key: oidc-provider refuses it as a Bearer token.
    stolen = httpx.get(
        f"{peer.issuer}/me", headers={"Authorization": f"Bearer {refreshed.tokens.access_token}"}
    )
    assert stolen.status_code in (400, 401)


def pushed_only(url: str) -> dict[str, list[str]]:
    params = parse_qs(urlsplit(url).query)
    assert set(params) == {"client_id", "request_uri"}, url  # RFC 9126 §4: nothing else
    assert params["request_uri"][0].startswith("urn:ietf:params:oauth:request_uri:")
    return params


def test_par_then_the_code_flow(peer: Peer, env: dict[str, str]) -> None:
    before = len(peer.requests())
    url, got = sign_in(
        peer, env, "--client-id", "par-only", "--scope", "openid read", "--par", "--name", "par",
    )  # fmt: skip
    pushed_only(url)
    assert got["ok"] and saved(env, "par").tokens.token_type.lower() == "bearer"
    pushes = [r for r in peer.requests()[before:] if r["path"] == "/request"]
    assert [r["status"] for r in pushes] == [201], pushes


def test_a_client_that_must_push_is_refused_without_par(peer: Peer, env: dict[str, str]) -> None:
    """The counter-test: oidc-provider does enforce the push for par-only, and the CLI says so."""
    command = ["token", "get", "--issuer", peer.issuer, "--redirect-uri", peer.redirect_uri,
               "--no-browser", "--json", "--client-id", "par-only", "--scope", "read"]  # fmt: skip
    with waiting_cli(command, env) as waiting, httpx.Client(timeout=10) as browser:
        answer = browser.get(waiting.url)
        assert answer.status_code == 303
        error = parse_qs(urlsplit(answer.headers["location"]).query)
        assert error["error"] == ["invalid_request"], error
        assert "Pushed Authorization Request" in error["error_description"][0]
        deliver(browser, answer.headers["location"])
        code, out, err = waiting.finish()
    assert code != 0 and "invalid_request" in out + err, out + err


def test_par_with_dpop(peer: Peer, env: dict[str, str]) -> None:
    before = len(peer.requests())
    url, _ = sign_in(
        peer, env, "--client-id", "dpop-cli", "--scope", "openid read", "--par", "--dpop",
        "--name", "par-dpop",
    )  # fmt: skip
    pushed_only(url)
    token = saved(env, "par-dpop")
    assert token.tokens.token_type == "DPoP"
    # The push carried a proof (RFC 9449 §10.1) and fetched the nonce the token request then used
    # (oidc-provider's nonce may move on meanwhile: then the CLI answers once more).
    requests = peer.requests()[before:]
    nonce_then_success(requests, "/request")
    tokens = [(r["status"], r["dpop"], r["error"]) for r in requests if r["path"] == "/token"]
    assert tokens[-1] == (200, True, None) and all(dpop for _, dpop, _ in tokens), tokens
    assert vk(env, "call", f"{peer.issuer}/me", "--token", "par-dpop")["status"] == 200
