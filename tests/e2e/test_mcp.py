"""The official MCP Python SDK against real processes: ``valetkey serve`` as the authorization
server, examples/mcp_server.py (the SDK's MCPServer over streamable HTTP behind ``BearerAuth``)
under uvicorn, and the SDK's own OAuth client doing discovery (RFC 9728, then RFC 8414),
registration (Dynamic Client Registration, or a Client ID Metadata Document served over https
from loopback), authorization with PKCE and ``resource`` (RFC 8707), and a tool call. The browser
step (sign-in and consent pages) is driven with httpx. docs/mcp.md shows the same run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp.client import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyUrl

from tests.support.docserver import DocumentServer, document
from tests.support.flows import login_and_consent, redirect_params, run_code_flow
from tests.support.serveproc import ServeProcess
from tests.support.servers import free_port, wait_until_ready
from tests.support.tls import Pki, make_pki
from valetkey.core import jose

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CALLBACK = "http://127.0.0.1:33418/callback"  # never listened on: the test reads the redirect
OTHER = "https://other-api.example"


@dataclass
class Stack:
    auth: ServeProcess
    mcp_url: str
    docs: DocumentServer


def config(mcp_url: str) -> str:
    return f"""
registration = "open-native"
development_allow_loopback_fetch = true

[[resources]]
identifier = "{mcp_url}"
name = "MCP example"
scopes = ["mcp:tools"]

[[resources]]
identifier = "{OTHER}"
name = "Another API"
scopes = ["other:read"]

[[clients]]
client_id = "cli"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1/callback"]
grant_types = ["authorization_code"]

[[users]]
username = "alice"
password = "wonderland"
name = "Alice"
"""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), dns_names=("localhost",), ips=("127.0.0.1",))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("mcp")
    ca_file = work / "test-ca.pem"
    ca_file.write_bytes(pki.ca_pem)
    mcp_port = free_port()
    mcp_url = f"http://127.0.0.1:{mcp_port}/mcp"
    auth = ServeProcess(config(mcp_url), work)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SSL_CERT_FILE", str(ca_file))  # the server trusts the test CA, nothing else
        auth.start()
    log = work / "mcp-server.log"
    env = {**os.environ, "VALETKEY_ISSUER": auth.base, "MCP_RESOURCE": mcp_url}
    with log.open("wb") as out:
        mcp = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "examples.mcp_server:app", "--port", str(mcp_port),
             "--log-level", "warning"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
        )  # fmt: skip
    try:
        wait_until_ready(f"http://127.0.0.1:{mcp_port}/.well-known/oauth-protected-resource/mcp",
                         mcp, log)  # fmt: skip
        with DocumentServer(pki) as docs:
            yield Stack(auth, mcp_url, docs)
    finally:
        mcp.terminate()
        mcp.wait(timeout=10)
        auth.stop()


@dataclass
class MemoryStorage:
    tokens: OAuthToken | None = None
    client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


@dataclass
class Run:
    """What the SDK client did: each HTTP exchange, the authorization URL, the tool results."""

    exchanges: list[str] = field(default_factory=list)
    authorization_url: str = ""
    results: list[Any] = field(default_factory=list)
    storage: MemoryStorage = field(default_factory=MemoryStorage)


def browser(run: Run) -> tuple[Any, Any]:
    """The SDK's redirect and callback handlers: a person signing in and approving, played by
    httpx following the authorization URL through valetkey's pages."""
    landed: dict[str, str] = {}

    async def redirect_handler(url: str) -> None:
        run.authorization_url = url

        def sign_in() -> str:
            with httpx.Client() as http:
                response = login_and_consent(http, url)
            assert response.status_code in (302, 303), response.text
            return response.headers["location"]

        landed["location"] = await asyncio.to_thread(sign_in)

    async def callback_handler() -> AuthorizationCodeResult:
        params = redirect_params(landed["location"])
        assert landed["location"].startswith(CALLBACK), landed["location"]
        return AuthorizationCodeResult(code=params["code"], state=params.get("state"),
                                       iss=params.get("iss"))  # fmt: skip

    return redirect_handler, callback_handler


def run_sdk_client(mcp_url: str, client_metadata_url: str | None = None) -> Run:
    run = Run()
    redirect_handler, callback_handler = browser(run)
    provider = OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name="MCP SDK example client",
            redirect_uris=[AnyUrl(CALLBACK)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=run.storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=client_metadata_url,
    )

    async def log(response: httpx2.Response) -> None:
        request = response.request
        run.exchanges.append(f"{request.method} {request.url} -> {response.status_code}")

    async def main() -> None:
        http = httpx2.AsyncClient(auth=provider, event_hooks={"response": [log]}, timeout=30)
        async with http, Client(streamable_http_client(mcp_url, http_client=http)) as client:
            run.results.append(await client.call_tool("add", {"a": 2, "b": 3}))
            run.results.append(await client.call_tool("whoami", {}))
            provider.context.token_expiry_time = 1.0  # expired: the SDK refreshes before sending
            run.exchanges.append("-- expired")
            run.results.append(await client.call_tool("add", {"a": 4, "b": 5}))

    asyncio.run(main())
    return run


def text_of(result: Any) -> str:
    assert not result.is_error, result
    return str(result.content[0].text)


def assert_authorized(run: Run, stack: Stack) -> None:
    assert text_of(run.results[0]) == "5"
    params = redirect_params("?" + run.authorization_url.split("?", 1)[1])
    assert params["resource"] == stack.mcp_url  # RFC 8707, from the protected resource metadata
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert "mcp:tools" in params["scope"].split()
    first = run.exchanges[0]
    assert first.startswith(f"POST {stack.mcp_url}") and first.endswith("401")
    assert any("/.well-known/oauth-protected-resource/mcp -> 200" in e for e in run.exchanges)
    assert any(
        f"{stack.auth.base}/.well-known/oauth-authorization-server -> 200" in e
        for e in run.exchanges
    )
    assert any(e.startswith(f"POST {stack.auth.base}/token") and e.endswith("200")
               for e in run.exchanges)  # fmt: skip
    assert run.storage.tokens is not None
    _, claims = jose.unverified_parts(run.storage.tokens.access_token)
    assert claims["aud"] == stack.mcp_url and "mcp:tools" in str(claims["scope"]).split()
    # The refresh (refresh_token grant, with resource again) and the call after it.
    after = run.exchanges[run.exchanges.index("-- expired") + 1 :]
    assert after[0] == f"POST {stack.auth.base}/token -> 200", after
    assert after[1] == f"POST {stack.mcp_url} -> 200" and text_of(run.results[2]) == "9"


def test_the_sdk_registers_with_dcr_authorizes_and_calls_a_tool(stack: Stack) -> None:
    run = run_sdk_client(stack.mcp_url)
    assert_authorized(run, stack)
    assert any(e == f"POST {stack.auth.base}/register -> 201" for e in run.exchanges)
    assert run.storage.client is not None and run.storage.client.client_id.startswith("dyn-")
    sub, via = text_of(run.results[1]).split(" via ")
    assert via == run.storage.client.client_id and sub  # the user's sub and the client


def test_the_sdk_uses_a_client_id_metadata_document(stack: Stack) -> None:
    url = stack.docs.url("/mcp-client.json")
    stack.docs.routes["/mcp-client.json"] = document({
        "client_id": url, "client_name": "MCP SDK example client", "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "token_endpoint_auth_method": "none"})  # fmt: skip
    run = run_sdk_client(stack.mcp_url, client_metadata_url=url)
    assert_authorized(run, stack)
    assert not any("/register" in e for e in run.exchanges)  # no registration at all
    assert stack.docs.hits["/mcp-client.json"] == 1  # fetched once, then from the HTTP cache
    assert text_of(run.results[1]).endswith(f" via {url}")


def test_a_token_for_another_resource_is_refused_with_invalid_token(stack: Stack) -> None:
    with httpx.Client() as http:
        result = run_code_flow(http, stack.auth.base, client_id="cli", scope="other:read",
                               extra={"resource": OTHER})  # fmt: skip
        token = http.post(f"{stack.auth.base}/token", data={
            "grant_type": "authorization_code", "code": result.params["code"],
            "client_id": "cli", "redirect_uri": "http://127.0.0.1:9999/callback",
            "code_verifier": result.verifier}).json()  # fmt: skip
        assert "access_token" in token, token
        r = http.post(stack.mcp_url, headers={"Authorization": f"Bearer {token['access_token']}",
                      "Accept": "application/json, text/event-stream"},
                      json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})  # fmt: skip
    assert r.status_code == 401
    challenge = r.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    assert 'resource_metadata="' in challenge
