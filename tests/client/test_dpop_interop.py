"""DPoP against third-party implementations: oauth4webapi (npm) makes proofs our core accepts and
follows our nonce refusals, and checks our client's proofs with its own resource-server validator;
joserfc verifies our proofs' signatures and computes the same thumbprints.

oauth4webapi is installed from the npm registry into tests/interop/dpop_node/node_modules (git-
ignored) on first use. Without Node.js or the registry these tests say they were skipped; on CI
(CI=true, or VALETKEY_REQUIRE_NODE=1) they fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import import_key

from valetkey.client.dpop import DPoPKey
from valetkey.core import jose
from valetkey.core.dpop import ProofRequest, refusal, verify_proof
from valetkey.core.errors import OAuthError, UseDPoPNonce

NODE_DIR = Path(__file__).parents[1] / "interop" / "dpop_node"
VERSION = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]["oauth4webapi"]
TOKEN_URL, API_URL = "https://as.example/token", "https://rs.example/api/files"
Node = Callable[[str, dict[str, Any]], dict[str, Any]]


def _installed() -> bool:
    package = NODE_DIR / "node_modules" / "oauth4webapi" / "package.json"
    return package.exists() and json.loads(package.read_text())["version"] == VERSION


def _install(cache: Path) -> str | None:
    """None when oauth4webapi is ready, else why not."""
    if not shutil.which("node") or not shutil.which("npm"):
        return "Node.js and npm are needed (apt-get install -y nodejs npm)"
    if _installed():
        return None
    command = ["npm", "install", "--no-package-lock", "--no-audit", "--no-fund"]
    command += ["--loglevel=error", "--cache", str(cache), "--prefix", str(NODE_DIR)]
    env = os.environ | {"npm_config_update_notifier": "false"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    except subprocess.TimeoutExpired:
        return "npm install oauth4webapi timed out (is the registry reachable?)"
    if done.returncode != 0 or not _installed():
        return f"npm install oauth4webapi@{VERSION} failed: {done.stderr.strip()[-300:]}"
    return None


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Node:
    problem = _install(tmp_path_factory.mktemp("npm-cache"))
    if problem is not None:
        if os.environ.get("CI") == "true" or os.environ.get("VALETKEY_REQUIRE_NODE") == "1":
            pytest.fail(f"the oauth4webapi interop tests are required here (CI): {problem}")
        pytest.skip(f"SKIPPED: oauth4webapi interop: {problem}")

    def call(mode: str, payload: dict[str, Any]) -> dict[str, Any]:
        done = subprocess.run(
            ["node", str(NODE_DIR / "dpop.mjs"), mode],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    return call


def answer(error: OAuthError, at: str) -> dict[str, Any]:
    status, headers = refusal(error, at=at, algs=("ES256",))  # type: ignore[arg-type]
    return {"status": status, "headers": headers, "body": error.body()}


def test_oauth4webapi_proofs_pass_our_checks_and_it_follows_our_nonce_refusals(node: Node) -> None:
    made = node(
        "make",
        {
            "token_url": TOKEN_URL,
            "resource_url": API_URL + "?page=2",
            "access_token": "the-access-token",
            "token_refusal": answer(
                UseDPoPNonce("nonce please", nonce="as-nonce"), "token_endpoint"
            ),
            "resource_refusal": answer(UseDPoPNonce("nonce please", nonce="rs-nonce"), "resource"),
        },
    )
    assert made["asked"] == [True, True]  # it read both refusals as nonce challenges
    token_first, token_retry, api_first, api_retry = (p["proof"] for p in made["proofs"])
    now = time.time()
    for proof, nonce in ((token_first, None), (token_retry, "as-nonce")):
        verified = verify_proof(ProofRequest([proof], "POST", TOKEN_URL, now, nonce=nonce))
        assert verified.jkt == made["jkt"]  # the same RFC 7638 thumbprint as oauth4webapi's
    for proof, nonce in ((api_first, None), (api_retry, "rs-nonce")):
        request = ProofRequest(
            [proof],
            "GET",
            API_URL + "?page=2",
            now,
            nonce=nonce,
            access_token="the-access-token",
            bound_jkt=made["jkt"],
            at="resource",
        )
        verify_proof(request)


def access_token(issuer: str, key: dict[str, Any], jkt: str) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": "alice",
        "aud": "https://rs.example",
        "client_id": "cli",
        "iat": now,
        "exp": now + 300,
        "jti": "at-1",
        "cnf": {"jkt": jkt},  # RFC 9449 §6.1
    }
    return jose.sign(claims, key, typ="at+jwt")


def test_our_proofs_pass_the_oauth4webapi_resource_server_check(node: Node) -> None:
    issuer, server_key = "https://as.example", jose.generate_private_jwk("ES256")
    client = DPoPKey.generate()
    token = access_token(issuer, server_key, client.jkt)

    def verdict(proof: str, url: str = API_URL) -> dict[str, Any]:
        return node(
            "verify",
            {
                "issuer": issuer,
                "jwks": jose.jwks([server_key]),
                "audience": "https://rs.example",
                "url": url,
                "method": "GET",
                "authorization": f"DPoP {token}",
                "dpop": proof,
            },
        )

    now = time.time()
    accepted = verdict(client.proof("GET", API_URL, now=now, access_token=token))
    assert accepted["ok"], accepted
    assert accepted["claims"]["cnf"] == {"jkt": client.jkt}
    stranger = DPoPKey.generate().proof("GET", API_URL, now=now, access_token=token)
    assert "confirmation" in verdict(stranger)["error"]
    elsewhere = client.proof("GET", "https://rs.example/other", now=now, access_token=token)
    assert "htu" in verdict(elsewhere)["error"]
    other_token = client.proof("GET", API_URL, now=now, access_token="another-token")
    assert "ath" in verdict(other_token)["error"]


@pytest.mark.parametrize("alg", [a for a in jose.PROOF_ALGS if a != "EdDSA"])
def test_joserfc_verifies_our_proofs_with_the_key_they_carry(alg: str) -> None:
    """(joserfc warns about the deprecated name EdDSA; the same key signs as Ed25519.)"""
    key = DPoPKey.generate(alg)
    proof = key.proof("POST", TOKEN_URL, now=time.time())
    registry = jws.JWSRegistry(algorithms=[alg])
    registry.max_header_length = 2048  # an RSA key in the header is longer than its default
    header = jws.extract_compact(proof.encode(), registry=registry).protected
    public = import_key(header["jwk"])
    verified = jws.deserialize_compact(proof, public, registry=registry)
    assert verified.headers()["typ"] == "dpop+jwt"
    assert public.thumbprint() == key.jkt
