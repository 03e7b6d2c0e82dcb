"""``valetkey token get --grant device_code --inspect`` and ``valetkey token refresh --inspect``
against valetkey's own ``serve`` (a real process): the device flow's client side laid onto the
Device steps (the code shown, each poll with its answer, what only the phone and the server see
drawn unobserved), a refresh and a refused refresh on the Refresh steps, and no device code or
token in the drawing or an export.

The device authorization request goes through the tests' recording proxy, the one place the test
can read the device code the server issued, to assert it is never shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client.proxy import recording_proxy
from tests.support.device import DEVICE_CONFIG, approve
from tests.support.servers import auth_server, isolated_env

pytestmark = pytest.mark.e2e

CONFIG = "device_poll_interval = 1\n" + DEVICE_CONFIG  # the device polls every second
DRAWN = "Device Authorization Grant  "  # the drawing's heading


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with auth_server(CONFIG, tmp_path_factory.mktemp("device-as")) as url:
        yield url


@dataclass
class Forwarder:
    """The device authorization endpoint behind a recording proxy: the device codes it issued."""

    base: str
    device_codes: list[str] = field(default_factory=list)

    def keep(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if isinstance(body.get("device_code"), str):
            self.device_codes.append(body["device_code"])
        return body


@pytest.fixture
def forwarder(base: str) -> Iterator[Forwarder]:
    kept = Forwarder(base)
    with recording_proxy(base, transform=kept.keep) as proxy:
        kept.base = proxy.base
        yield kept


def env_for(home: Path) -> dict[str, str]:
    return {**os.environ, **isolated_env(home), "COLUMNS": "250"}


def device_get(
    base: str, forwarder: Forwarder, home: Path, decision: str, *extra: str
) -> tuple[int, str, str]:
    """Run the CLI; once it has polled and heard authorization_pending, the phone decides."""
    args = ["token", "get", "--grant", "device_code", "--issuer", base, "--client-id", "tv",
            "--device-authorization-url", f"{forwarder.base}/device_authorization",
            "--scope", "openid read:files offline_access", "--verbose", "--inspect", *extra]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "valetkey", *args], env=env_for(home), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    shown: list[str] = []
    try:
        assert proc.stderr is not None
        link = ""
        for line in proc.stderr:
            shown.append(line)
            link = line.strip() if "?user_code=" in line else link
            if link and "authorization_pending" in line:
                break
        else:
            raise AssertionError("the CLI never polled:\n" + "".join(shown))
        with httpx.Client(base_url=base, timeout=10) as phone:
            assert approve(phone, link.rsplit("=", 1)[1], decision).status_code == 200
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, "".join(shown) + err


def drawing(err: str, heading: str = DRAWN) -> str:
    """What the inspection drew (after the flow's own output, which shows the code to type)."""
    assert heading in err, err
    return err[err.index(heading) :]


def saved_tokens(home: Path) -> dict[str, str]:
    tokens: dict[str, str] = json.loads(
        (home / "xdg-data" / "valetkey" / "tokens.json").read_text()
    )["default"]["tokens"]
    return tokens


def test_an_approved_device_flow_is_drawn_on_its_steps_without_secrets(
    base: str, forwarder: Forwarder, tmp_path: Path
) -> None:
    files = [tmp_path / f"device.{suffix}" for suffix in ("mmd", "har", "json")]
    code, _out, err = device_get(
        base,
        forwarder,
        tmp_path,
        "approve",
        *(a for f in files for a in ("--inspect-export", str(f))),
    )
    assert code == 0, err
    drawn = drawing(err)
    assert drawn.startswith("Device Authorization Grant  complete")
    for line in (
        "✓ 1. POST /device_authorization (Client App → Authorization Server, back): done",
        "POST /device_authorization: the server issued a device code and a user code",
        f"✓ check_verification_uri (RFC 8628 §3.2, RFC 6749 §3.1): {base}/device is https (plain",
        "✓ 3. Shows the code and the link (Client App → User, front): done",
        f"Shows {base}/device and the user code",
        "✓ 4. Polls POST /token: authorization_pending",
        "POST /token: authorization_pending: next poll in 1 s",
        "· 5. Enters the code at /device (User → Authorization Server, front): unobserved",
        "· 7. Allows the device (User → Authorization Server, front): unobserved",
        "✓ 8. Next poll: POST /token",
        "✓ check_token_type (RFC 6749 §7.1)",
        "✓ check_id_token_signature (OIDC Core §3.1.3.7 step 6)",
    ):
        assert line in drawn, line
    mmd, har, view = (f.read_text() for f in files)
    steps = json.loads(view)["flow"]["steps"]
    assert [s["status"] for s in steps[:9]] == ["done"] * 4 + ["unobserved"] * 3 + ["done"] * 2
    entries = json.loads(har)["log"]["entries"]
    polls = [e for e in entries if e["request"]["url"].endswith("/token")]
    assert polls and all(
        p["value"].endswith("[redacted]")
        for e in polls
        for p in e["request"]["postData"]["params"]
        if p["name"] == "device_code"
    )
    (device_code,) = forwarder.device_codes
    user_code = next(line for line in err.splitlines() if "?user_code=" in line).rsplit("=", 1)[1]
    tokens = saved_tokens(tmp_path)
    secrets = [device_code, user_code, tokens["access_token"], tokens["refresh_token"]]
    for secret in secrets:
        for text in (drawn, mmd, har, view):
            assert secret not in text
    assert device_code not in err  # nor anywhere the CLI wrote, --verbose included


def test_a_denied_device_flow_is_drawn_failed_at_the_next_poll(
    base: str, forwarder: Forwarder, tmp_path: Path
) -> None:
    code, _out, err = device_get(base, forwarder, tmp_path, "deny")
    assert code == 130, err
    drawn = drawing(err)
    assert drawn.startswith("Device Authorization Grant  access_denied")
    assert "✓ 8. Next poll: POST /token" in drawn
    assert "✗ 9. Returns the tokens (Authorization Server → Client App, back): failed" in drawn
    assert "refused: access_denied (access_denied)" in drawn
    assert ": not_reached" in drawn
    assert forwarder.device_codes[0] not in err


def refresh(home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "valetkey", "token", "refresh", "default", "--inspect", *extra],
        env=env_for(home), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_a_refresh_and_a_replayed_refresh_token_are_drawn_on_the_refresh_steps(
    base: str, forwarder: Forwarder, tmp_path: Path
) -> None:
    code, _out, err = device_get(base, forwarder, tmp_path, "approve")
    assert code == 0, err
    store = tmp_path / "xdg-data" / "valetkey" / "tokens.json"
    before, first = store.read_text(), saved_tokens(tmp_path)
    har = tmp_path / "refresh.har"
    done = refresh(tmp_path, "--inspect-export", str(har), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True  # stdout keeps the command's JSON alone
    drawn = drawing(done.stderr, "Refresh (rotation)  ")
    assert drawn.startswith("Refresh (rotation)  complete")
    for line in (
        "✓ 1. Decides to refresh (Client App → Client App, local): done",
        "The client uses the refresh token of 'default' (scope openid read:files offline_access)",
        "✓ 2. POST /token grant_type=refresh_token (Client App → Authorization Server, back)",
        "refresh_token=",
        "✓ 4. New access token + new refresh token",
        "✓ check_scope_not_wider (RFC 6749 §3.3, RFC 9700 §2.3)",
    ):
        assert line in drawn, line
    second = saved_tokens(tmp_path)
    assert second["refresh_token"] != first["refresh_token"]  # rotated
    # The old refresh token presented again: the server sees a replay and refuses it.
    store.write_text(before)
    refused = refresh(tmp_path)
    assert refused.returncode != 0
    drawn = drawing(refused.stderr, "Refresh (rotation)  ")
    assert drawn.startswith("Refresh (rotation)  invalid_grant")
    assert "✗ 3. Checks it, retires the old refresh token" in drawn
    assert "refused: invalid_grant (invalid_grant)" in drawn
    secrets = [t[k] for t in (first, second) for k in ("access_token", "refresh_token", "id_token")]
    for secret in secrets:
        for text in (done.stderr, refused.stderr, har.read_text()):
            assert secret not in text
