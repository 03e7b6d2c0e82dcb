"""The device flow (RFC 8628) between real processes: valetkey's client library against
oidc-provider (npm), the user played over HTTP on oidc-provider's own verification, sign-in and
consent pages while the client polls; and openid-client (npm) driving the same flow.

(The CLI's turn is in test_device_cli.py.) Without Node.js the tests are skipped, on CI they fail.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.interop.node_peers import (
    NODE_DIR,
    WEB_SECRET,
    Peer,
    oidc_provider,
    require_node_packages,
    user_approves,
)
from valetkey.client import (
    AuthorizationDenied,
    ClientConfig,
    PollStatus,
    TokenSet,
    arun,
    await_tokens,
    discover,
    grants,
    run,
    wait_for_tokens,
)
from valetkey.client.device import authorize
from valetkey.client.device_response import DeviceAuthorization
from valetkey.core import jose

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    require_node_packages(tmp_path_factory)
    with oidc_provider(tmp_path_factory.mktemp("oidc-provider")) as running:
        yield running


def config(peer: Peer, client_id: str = "device-cli", **kw: object) -> ClientConfig:
    with httpx.Client() as http:
        endpoints = run(discover(peer.issuer), http)
    assert endpoints.metadata["device_authorization_endpoint"] == f"{peer.issuer}/device/auth"
    return ClientConfig(client_id, endpoints, resources=(peer.resource,), **kw)  # type: ignore[arg-type]


def device_flow(
    cfg: ClientConfig, *, typed: bool = True, deny: bool = False
) -> tuple[TokenSet, list[PollStatus]]:
    """Start, then let the user act once the client has been told to wait: no threads, and the
    first answer is always authorization_pending."""
    reports: list[PollStatus] = []
    with httpx.Client(timeout=10) as http:
        started = run(authorize(cfg, time.time()), http)

        def report(status: PollStatus) -> None:
            if not reports:
                code = started.user_code.lower().replace("-", " ") if typed else None
                link = started.verification_uri if typed else started.link
                page = user_approves(link, code, deny=deny)
                assert ("interrupted" if deny else "Sign-in Success") in page
            reports.append(status)

        return wait_for_tokens(cfg, started, http, report=report), reports


def test_the_library_completes_the_device_flow_with_a_jwt_for_the_resource(peer: Peer) -> None:
    cfg = config(peer, scope="openid read offline_access")
    tokens, reports = device_flow(cfg)
    assert [r.answer for r in reports] == ["authorization_pending"]
    jwks = httpx.get(f"{peer.issuer}/jwks").json()
    _, claims = jose.verify(tokens.access_token, jwks)
    assert claims["aud"] == peer.resource and claims["sub"] == "alice"  # RFC 8707 resource sent
    assert claims["client_id"] == "device-cli" and "read" in claims["scope"].split()
    assert tokens.id_token and "check_id_token_signature" in [c.rule for c in tokens.checks]
    assert tokens.refresh_token
    with httpx.Client() as http:
        refreshed = run(grants.refresh(cfg, tokens, time.time()), http)
    assert refreshed.access_token != tokens.access_token


def test_the_user_aborts_and_the_library_stops_with_access_denied(peer: Peer) -> None:
    with pytest.raises(AuthorizationDenied) as info:
        device_flow(config(peer, scope="read"), deny=True)
    assert info.value.error == "access_denied"


def test_a_confidential_client_on_the_async_driver_with_the_complete_link(peer: Peer) -> None:
    cfg = config(peer, "device-web", client_secret=WEB_SECRET, scope="read")

    async def main() -> tuple[DeviceAuthorization, TokenSet]:
        async with httpx.AsyncClient(timeout=10) as http:
            started = await arun(authorize(cfg, time.time()), http)
            approved: list[str] = []

            def report(status: PollStatus) -> None:
                if not approved:  # the phone that scanned the QR code: the code is in the link
                    approved.append(user_approves(started.link))

            tokens = await await_tokens(cfg, started, http, report=report)
            return started, tokens

    started, tokens = asyncio.run(main())
    assert started.verification_uri_complete == (
        f"{peer.issuer}/device?user_code={started.user_code}"
    )
    claims = jose.unverified_parts(tokens.access_token)[1]
    assert claims["client_id"] == "device-web" and tokens.scope == "read"


@pytest.fixture(scope="module")
def slow_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    require_node_packages(tmp_path_factory)
    with oidc_provider(tmp_path_factory.mktemp("slow"), slow_down_first=True) as running:
        yield running


def test_openid_client_completes_the_device_flow_and_obeys_slow_down(slow_peer: Peer) -> None:
    """A third-party client library drives the whole flow; the peer answers its first poll with
    slow_down, so the second poll comes 1 + 5 seconds later."""
    command = ["node", str(NODE_DIR / "client.mjs"), slow_peer.issuer, "device-cli", "openid read"]
    proc = subprocess.Popen(
        [*command, slow_peer.resource], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        started = json.loads(proc.stdout.readline() or "null")
        assert started and started["interval"] == 1, proc.stderr and proc.stderr.read()
        assert "Sign-in Success" in user_approves(started["verification_uri_complete"])
        result = json.loads(proc.stdout.readline())
    finally:
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "tokens" in result, result
    assert result["claims"]["sub"] == "alice"  # openid-client validated the ID token
    claims = jose.unverified_parts(result["tokens"]["access_token"])[1]
    assert claims["aud"] == slow_peer.resource
    assert result["seconds"] >= 6  # 1 s, then slow_down: 1 + 5 s before the next poll
