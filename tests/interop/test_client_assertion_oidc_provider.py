"""valetkey's CLI authenticates with private_key_jwt and client_secret_jwt to oidc-provider (npm), a
real process on a loopback port: client credentials, the authorization code flow with refresh,
and revocation, each with a new assertion; a key the server does not know is refused.

oidc-provider is installed into tests/interop/jwt_node/node_modules (git-ignored) on first use;
without Node.js these tests say SKIPPED, on CI they fail (tests/interop/node_packages.py).
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

import httpx
import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.client.clirun import cli, deliver, waiting_cli
from tests.interop.node_packages import require_packages
from tests.support.forms import the_form
from tests.support.servers import free_port, isolated_env, wait_until_ready
from valetkey.core import jose

pytestmark = pytest.mark.e2e

NODE_DIR = Path(__file__).parent / "jwt_node"
SJWT_SECRET = "sjwt-secret-" + "0123456789abcdef" * 3


@dataclass
class Peer:
    issuer: str
    redirect_uri: str
    rsa_pem: Path  # registered: private_key_jwt with RS256
    ec_jwk: Path  # registered too: ES256, from a JWK file
    log: Path


def _write_keys(tmp: Path) -> tuple[Path, Path, dict[str, Any]]:
    key = rsa.generate_private_key(65537, 2048)
    pem = tmp / "client-rsa.pem"
    pem.write_bytes(
        key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    )
    ec_jwk = jose.generate_private_jwk("ES256", kid="cli-ec")
    jwk_file = tmp / "client-ec.jwk"
    jwk_file.write_text(json.dumps(ec_jwk))
    rsa_jwk = jose.private_jwk_from_file_bytes(pem.read_bytes())
    return pem, jwk_file, jose.jwks([rsa_jwk, ec_jwk])


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    require_packages(NODE_DIR, tmp_path_factory.mktemp("npm-cache"), "oidc-provider")
    tmp = tmp_path_factory.mktemp("oidc-provider")
    pem, jwk_file, jwks = _write_keys(tmp)
    port, redirect_port = free_port(), free_port()
    redirect = f"http://127.0.0.1:{redirect_port}/callback"
    log = tmp / "oidc-provider.log"
    env = os.environ | {"PKJWT_JWKS": json.dumps(jwks), "SJWT_SECRET": SJWT_SECRET}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["node", str(NODE_DIR / "provider.mjs"), str(port), redirect],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    issuer = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{issuer}/.well-known/openid-configuration", proc, log)  # type: ignore[arg-type]
        yield Peer(issuer, redirect, pem, jwk_file, log)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # provider.mjs exits when its stdin ends, even if we are killed
        proc.terminate()
        proc.wait(timeout=10)


def cli_ok(*args: str) -> dict[str, Any]:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output + result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def test_client_credentials_with_private_key_jwt_rsa_pem(peer: Peer) -> None:
    saved = cli_ok(
        "token", "get", "--grant", "client_credentials", "--issuer", peer.issuer,
        "--client-id", "pkjwt-cli", "--client-auth", "private_key_jwt",
        "--private-key", str(peer.rsa_pem), "--scope", "read", "--name", "pk-rsa",
    )  # fmt: skip
    assert saved["ok"] and saved["scope"] == "read"
    # Revocation sends a new assertion to the revocation endpoint, its URL as aud.
    assert cli_ok("token", "revoke", "pk-rsa")["ok"]


def test_client_credentials_with_an_ec_jwk_file_and_the_issuer_as_audience(peer: Peer) -> None:
    saved = cli_ok(
        "token", "get", "--grant", "cc", "--issuer", peer.issuer, "--client-id", "pkjwt-cli",
        "--private-key", str(peer.ec_jwk), "--assertion-audience", "issuer", "--scope", "read",
        "--name", "pk-ec",
    )  # fmt: skip
    assert saved["ok"]


def test_client_credentials_with_client_secret_jwt(peer: Peer) -> None:
    saved = cli_ok(
        "token", "get", "--grant", "cc", "--issuer", peer.issuer, "--client-id", "sjwt-svc",
        "--client-secret", SJWT_SECRET, "--client-auth", "client_secret_jwt", "--scope", "read",
        "--name", "sjwt",
    )  # fmt: skip
    assert saved["ok"]


def test_a_key_oidc_provider_does_not_know_is_refused(peer: Peer, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.jwk"
    stranger.write_text(json.dumps(jose.generate_private_jwk("ES256", kid="cli-ec")))
    result = cli(
        "token", "get", "--grant", "cc", "--issuer", peer.issuer, "--client-id", "pkjwt-cli",
        "--private-key", str(stranger), "--scope", "read", "--json",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "invalid_client" in result.output + result.stderr


def _dev_interactions(browser: httpx.Client, url: str) -> httpx.Response:
    """oidc-provider's development login and consent pages, filled as a user would."""
    response = browser.get(url)
    for _ in range(10):
        if response.status_code in (302, 303):
            location = str(response.url.join(response.headers["location"]))
            if location.startswith("http://127.0.0.1") and "/callback" in location:
                return deliver(browser, location)
            response = browser.get(location)
            continue
        form = the_form(response.text, str(response.url))
        data = dict(form.fields)
        if "password" in data:
            data.update(login="alice", password="any")
        response = browser.post(form.action, data=data)
    raise AssertionError(f"the flow did not reach the client: {response.status_code}")


def test_code_flow_refresh_and_revoke_with_private_key_jwt(peer: Peer, tmp_path: Path) -> None:
    args = [
        "token", "get", "--issuer", peer.issuer, "--client-id", "pkjwt-cli",
        "--private-key", str(peer.rsa_pem), "--scope", "openid offline_access read",
        "--auth-param", "prompt=consent", "--redirect-uri", peer.redirect_uri, "--no-browser",
        "--name", "pk-code", "--json",
    ]  # fmt: skip
    env = os.environ | isolated_env(tmp_path)
    with waiting_cli(args, env) as waiting, httpx.Client(timeout=10) as browser:
        page = _dev_interactions(browser, waiting.url)
        assert page.status_code == 200
        code, out, err = waiting.finish()
    assert code == 0, err + peer.log.read_text()
    assert json.loads(out)["refresh_available"] is True
    xdg = {k: env[k] for k in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    for command in (["refresh", "pk-code"], ["revoke", "pk-code"]):
        done = subprocess.run(
            [sys.executable, "-m", "valetkey", "token", *command, "--json"],
            capture_output=True, text=True, env=os.environ | xdg, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr + peer.log.read_text()
