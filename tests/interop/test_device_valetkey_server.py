"""A third-party client library drives the device flow (RFC 8628) against valetkey's own server:
openid-client (npm) discovers ``valetkey serve``, asks for codes, and polls at the interval the
server names while the person allows (or denies) the device over HTTP on valetkey's /device pages.

(openid-client against oidc-provider is in test_device_oidc_provider.py.) Without Node.js the
tests are skipped; on CI they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.interop.node_peers import NODE_DIR, require_node_packages
from tests.support.device import CONSOLE_SECRET, DEVICE_CONFIG, approve
from tests.support.servers import auth_server
from valetkey.core import jose

pytestmark = pytest.mark.e2e
RESOURCE = "https://api.valetkey.test"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_node_packages(tmp_path_factory, what="openid-client's device flow against valetkey")
    workdir = tmp_path_factory.mktemp("device-server")
    with auth_server("device_poll_interval = 1\n" + DEVICE_CONFIG, workdir) as base:
        yield base


def drive(
    base: str, client_id: str, scope: str, *, decision: str = "approve", secret: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """openid-client's run: (the device authorization response it got, its outcome), the person
    deciding on valetkey's pages once the codes are out."""
    env = {**os.environ, **({"DEVICE_CLIENT_SECRET": secret} if secret else {})}
    command = ["node", str(NODE_DIR / "client.mjs"), base, client_id, scope, RESOURCE]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        started = json.loads(proc.stdout.readline() or "null")
        assert started, proc.stderr.read() if proc.stderr else ""
        with httpx.Client(base_url=base, timeout=10) as person:
            assert approve(person, started["user_code"], decision=decision).status_code == 200
        result = json.loads(proc.stdout.readline())
    finally:
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return started, result


def test_openid_client_completes_the_device_flow_against_valetkey(server: str) -> None:
    started, result = drive(server, "tv", "openid read:files offline_access")
    assert started["verification_uri"] == f"{server}/device"
    assert started["verification_uri_complete"].endswith(started["user_code"])
    assert started["interval"] == 1
    assert "tokens" in result, result
    tokens = result["tokens"]
    assert tokens["token_type"].lower() == "bearer" and tokens["refresh_token"]
    assert result["claims"]["aud"] == "tv"  # openid-client validated valetkey's ID token
    claims = jose.unverified_parts(tokens["access_token"])[1]
    assert claims["aud"] == RESOURCE and claims["client_id"] == "tv"
    assert claims["sub"] == result["claims"]["sub"]


def test_a_confidential_device_client_authenticates_with_basic(server: str) -> None:
    _started, result = drive(server, "console", "read:files", secret=CONSOLE_SECRET)
    assert "tokens" in result, result
    assert jose.unverified_parts(result["tokens"]["access_token"])[1]["client_id"] == "console"


def test_openid_client_stops_with_access_denied_when_the_person_denies(server: str) -> None:
    _started, result = drive(server, "tv", "read:files", decision="deny")
    assert result["error"] == "access_denied", result
