"""oauth4webapi and openid-client (npm) complete DPoP (RFC 9449) and PAR (RFC 9126) against a real
`valetkey serve` that requires its DPoP nonce (``dpop_nonce_required``), then call the demo API
(`valetkey resource`, a real process too) with the DPoP-bound token.

Each library pushes its authorization request with a DPoP proof (which binds the code and fetches
the nonce, RFC 9449 §10.1: tests/server/test_par_dpop.py), the test plays the user on
valetkey's sign-in and consent pages with the request_uri the library built, and the library
exchanges the code, refreshes, calls /userinfo and the API, answering every ``use_dpop_nonce`` itself
(openid-client) or as its documentation says an app does (oauth4webapi: retry once). Client
credentials with DPoP too. Every exchange the library made is recorded (dpop_par_node/clients.mjs).

The npm packages are installed into tests/interop/dpop_par_node/node_modules (git-ignored) on first
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

from tests.client.clirun import sign_in_via_forms, waiting_cli
from tests.conftest import SVC_SECRET, WEB_SECRET
from tests.interop.node_packages import require_packages
from tests.lifecycle.conftest import FAST_BASE
from tests.server.jwt_clients import KEY, toml_value
from tests.support.flows import login_and_consent
from tests.support.servers import auth_server, free_port, isolated_env, running
from valetkey.core import jose

pytestmark = pytest.mark.e2e

NODE_DIR = Path(__file__).parent / "dpop_par_node"
# A client that authenticates with private_key_jwt (RFC 7523 §2.2): the server holds its public key.
KEY_CLIENT = f"""
[[clients]]
client_id = "svc-key"
token_endpoint_auth_method = "private_key_jwt"
jwks = {toml_value(jose.jwks([KEY]))}
grant_types = ["client_credentials"]
scope = "read:files"
"""
AUDIENCE = "https://api.valetkey.test"
LIBRARIES = ["oauth4webapi", "openid-client"]


@dataclass(frozen=True)
class Servers:
    issuer: str
    api: str


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    require_packages(NODE_DIR, tmp_path_factory.mktemp("npm-cache"), "oauth4webapi/openid-client")
    workdir = tmp_path_factory.mktemp("dpop-par")
    config = f"dpop_nonce_required = true\n{FAST_BASE}\n{KEY_CLIENT}"
    with auth_server(config, workdir) as issuer:
        port = free_port()
        api = f"http://127.0.0.1:{port}"
        args = ["resource", "--issuer", issuer, "--audience", AUDIENCE, "--port", str(port),
                "--data-dir", str(workdir)]  # fmt: skip
        with running(args, f"{api}/", workdir):
            yield Servers(issuer, api)


def drive(library: str, flow: str, settings: dict[str, str]) -> dict[str, Any]:
    """Run the library's flow; play the user on valetkey's pages when it hands over a URL."""
    proc = subprocess.Popen(
        ["node", str(NODE_DIR / "clients.mjs"), library, flow],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(json.dumps(settings) + "\n")
        proc.stdin.flush()
        for line in proc.stdout:
            said: dict[str, Any] = json.loads(line)
            if "authorize" not in said:
                return said
            with httpx.Client(follow_redirects=False, timeout=10) as browser:
                redirect = login_and_consent(browser, said["authorize"])
            assert redirect.status_code in (302, 303), redirect.text
            proc.stdin.write(json.dumps({"callback": redirect.headers["location"]}) + "\n")
            proc.stdin.flush()
        raise AssertionError("the client said nothing more: " + proc.stderr.read())
    finally:
        proc.kill()
        proc.communicate(timeout=10)


def succeeded(said: dict[str, Any]) -> dict[str, Any]:
    assert "result" in said, json.dumps(said, indent=1)
    result: dict[str, Any] = said["result"]
    return result


def requests_to(exchanges: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    """The library's requests to ``path``, in order."""
    return [e for e in exchanges if e["path"] == path]


def assert_bound(token: dict[str, Any], jkt: str) -> None:
    assert token["token_type"].lower() == "dpop"
    claims = jose.unverified_parts(token["access_token"])[1]
    assert claims["cnf"] == {"jkt": jkt} and claims["aud"] == AUDIENCE


CODE_CLIENTS = {
    # A public client (its refresh token is bound to the key too: RFC 9449 §5) and a confidential
    # one authenticating with client_secret_basic at /par and /token.
    "oauth4webapi": {"client_id": "cli", "redirect_uri": "http://127.0.0.1:9999/callback"},
    "openid-client": {
        "client_id": "web",
        "client_secret": WEB_SECRET,
        "redirect_uri": "https://web.example/callback",
    },
}


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_pushed_dpop_bound_code_flow_refresh_and_api_call(servers: Servers, library: str) -> None:
    said = drive(
        library,
        "code",
        {**CODE_CLIENTS[library], "issuer": servers.issuer, "scope": "openid read:profile",
         "api": f"{servers.api}/api/profile"},
    )  # fmt: skip
    result, exchanges = succeeded(said), said["exchanges"]
    jkt = result["jkt"]
    assert_bound(result["tokens"], jkt)
    assert_bound(result["refreshed"], jkt)
    assert result["refreshed"]["access_token"] != result["tokens"]["access_token"]
    # The push carried a proof (RFC 9449 §10.1): valetkey asked for its nonce there, the library
    # retried with it and kept it for the token requests, which were not refused again.
    pushes = requests_to(exchanges, "/par")
    assert [(e["status"], e["error"]) for e in pushes] == [(400, "use_dpop_nonce"), (201, None)]
    assert "nonce" not in pushes[0]["proof"]
    nonce = pushes[0]["nonce"]
    assert nonce and pushes[1]["proof"]["nonce"] == nonce
    secret = "client_secret" in CODE_CLIENTS[library]  # authenticated at /par as at /token
    assert {e["scheme"] for e in pushes} == ({"Basic"} if secret else {""})
    tokens = requests_to(exchanges, "/token")
    assert [e["status"] for e in tokens] == [200, 200]  # the code, then the refresh
    handed_out = {e["nonce"] for e in exchanges if e["nonce"]}  # §8.2: a success may move it on
    assert all(e["proof"]["nonce"] in handed_out for e in tokens)
    # The API took the DPoP-bound token with its proof (RFC 9449 §7).
    assert result["api"]["status"] == 200, result["api"]
    assert exchanges[-1]["scheme"] == "DPoP" and exchanges[-1]["proof"]["ath"]
    assert result["api"]["body"]["client_id"] == CODE_CLIENTS[library]["client_id"]
    assert result["api"]["body"]["user"] is True
    # valetkey's /userinfo took the bound token with the library's proof; the demo API, which
    # holds no key, says why it did not ask (forwarded without a proof, it would be refused).
    assert result["userinfo"]["sub"] == result["api"]["body"]["sub"]
    assert "bound to the client's DPoP key" in result["api"]["body"]["userinfo_error"]


@pytest.mark.parametrize("library", LIBRARIES)
def test_client_credentials_with_dpop_and_the_nonce(servers: Servers, library: str) -> None:
    said = drive(
        library,
        "cc",
        {"issuer": servers.issuer, "client_id": "svc", "client_secret": SVC_SECRET,
         "scope": "read:files", "api": f"{servers.api}/api/files"},
    )  # fmt: skip
    result, exchanges = succeeded(said), said["exchanges"]
    assert_bound(result["tokens"], result["jkt"])
    tokens = requests_to(exchanges, "/token")
    assert [(e["status"], e["error"]) for e in tokens] == [(400, "use_dpop_nonce"), (200, None)]
    assert result["api"]["status"] == 200
    assert result["api"]["body"]["owner"] == "client:svc"


@pytest.mark.parametrize("library", LIBRARIES)
def test_private_key_jwt_with_dpop_and_the_nonce(servers: Servers, library: str) -> None:
    """The library signs its own client assertion (a new one per request: the nonce retry's must
    not reuse the refused request's jti, which the server has already spent)."""
    private = {k: v for k, v in KEY.items() if k not in ("alg", "use")}
    said = drive(
        library,
        "cc",
        {"issuer": servers.issuer, "client_id": "svc-key", "private_jwk": private,
         "scope": "read:files", "api": f"{servers.api}/api/files"},
    )  # fmt: skip
    result, exchanges = succeeded(said), said["exchanges"]
    assert_bound(result["tokens"], result["jkt"])
    claims = jose.unverified_parts(result["tokens"]["access_token"])[1]
    assert claims["client_id"] == "svc-key"
    tokens = requests_to(exchanges, "/token")
    assert [(e["status"], e["error"]) for e in tokens] == [(400, "use_dpop_nonce"), (200, None)]
    assert all(e["scheme"] == "" for e in tokens)  # no Basic: the assertion is in the body
    assert result["api"]["status"] == 200


def test_the_bound_token_alone_opens_nothing(servers: Servers) -> None:
    """What the libraries were given is useless to a thief without the key: as Bearer, refused."""
    said = drive(
        "openid-client",
        "cc",
        {"issuer": servers.issuer, "client_id": "svc", "client_secret": SVC_SECRET,
         "scope": "read:files", "api": f"{servers.api}/api/files"},
    )  # fmt: skip
    token = succeeded(said)["tokens"]["access_token"]
    stolen = httpx.get(f"{servers.api}/api/files", headers={"Authorization": f"Bearer {token}"})
    assert stolen.status_code == 401
    challenge = stolen.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge and "bound to a DPoP key" in challenge
    assert ", DPoP " in challenge  # RFC 9449 §7.1: the scheme to use instead


def test_valetkey_cli_pushes_with_dpop_against_the_same_server(
    servers: Servers, tmp_path: Path
) -> None:
    """The same flow from valetkey's own CLI (`token get --par --dpop`, then `call`): its push
    carries a proof too, so /par's nonce and proof checks must let it through."""
    env = os.environ | isolated_env(tmp_path)
    args = ["token", "get", "--no-browser", "--issuer", servers.issuer, "--client-id", "cli",
            "--scope", "read:profile", "--par", "--dpop", "--name", "own"]  # fmt: skip
    with waiting_cli(args, env) as waiting, httpx.Client(timeout=10) as browser:
        assert set(parse_qs(urlsplit(waiting.url).query)) == {"client_id", "request_uri"}
        sign_in_via_forms(browser, waiting.url)
        code, _out, err = waiting.finish()
    assert code == 0, err
    called = subprocess.run(
        [sys.executable, "-m", "valetkey", "call", f"{servers.api}/api/profile", "--token", "own",
         "--json"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert called.returncode == 0, called.stderr
    body = json.loads(called.stdout)["body"]
    assert body["client_id"] == "cli" and "jkt" in body["claims"]["cnf"]
