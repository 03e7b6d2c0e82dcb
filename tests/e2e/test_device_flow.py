"""The Device Authorization Grant end to end: valetkey's own CLI (``valetkey token get --grant
device_code``, built on ``valetkey.client``) against a real ``valetkey serve`` process, while a
second device (httpx) opens the link the CLI printed, signs in on /device and allows or denies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import BASE_CONFIG
from tests.e2e.test_multi_instance import READY_SECONDS, race_code
from tests.lifecycle.conftest import FAST_BASE
from tests.support.device import DEVICE_CONFIG, approve, decide, sign_in
from tests.support.forms import the_form
from tests.support.serveproc import ServeProcess, start_together
from tests.support.servers import auth_server, isolated_env
from valetkey.core import jose
from valetkey.core.device import DEVICE_CODE_GRANT

# The device polls every second, so the test does not wait five.
CONFIG = "device_poll_interval = 1\n" + DEVICE_CONFIG


def device_cli(base: str, home: Path, decision: str) -> tuple[int, str, str]:
    """Run the CLI; once it prints the link that carries the code, the other device follows it."""
    env = os.environ | isolated_env(home) | {"COLUMNS": "200"}
    args = ["token", "get", "--grant", "device_code", "--issuer", base, "--client-id", "tv"]
    args += ["--scope", "openid read:files", "--name", "tv", "--json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "valetkey", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        env=env,
    )  # fmt: skip
    shown: list[str] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            shown.append(line)
            if "?user_code=" in line:
                break
        else:
            raise AssertionError("the CLI printed no verification link:\n" + "".join(shown))
        link = line.strip()
        with httpx.Client(timeout=10) as phone:
            page = phone.get(link)  # verification_uri_complete: the code is filled in
            form = the_form(page.text, str(page.url))
            assert form.fields["user_code"] == link.rsplit("=", 1)[1]
            signed_in = sign_in(phone, phone.post(form.action, data=form.fields))
            assert decide(phone, signed_in, decision).status_code == 200
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, "".join(shown) + err


def test_the_cli_receives_tokens_once_the_other_device_allows(tmp_path: Path) -> None:
    with auth_server(CONFIG, tmp_path) as base:
        code, out, err = device_cli(base, tmp_path, "approve")
        assert code == 0, err
        saved = json.loads(out)
        assert saved["ok"] and saved["grant"] == "device_code" and saved["client_id"] == "tv"
        assert saved["scope"] == "openid read:files"
        assert f"{base}/device" in err.splitlines()  # the URL alone on its line
        # The access token the CLI saved verifies against the server's keys.
        shown = subprocess.run(
            [sys.executable, "-m", "valetkey", "token", "show", "tv", "--json", "--reveal"],
            env=os.environ | isolated_env(tmp_path), capture_output=True, text=True, check=True,
        )  # fmt: skip
        token = json.loads(shown.stdout)["access_token"]
        jwks = httpx.get(f"{base}/jwks.json").json()
        _, claims = jose.verify(token, jwks, algorithms=["ES256"])
        assert claims["client_id"] == "tv" and claims["scope"] == "openid read:files"


def test_the_cli_stops_when_the_other_device_denies(tmp_path: Path) -> None:
    with auth_server(CONFIG, tmp_path) as base:
        code, out, err = device_cli(base, tmp_path, "deny")
        assert code == 130, err  # the CLI's documented exit for a user who declined
        assert "access_denied" in out + err, (out, err)


def test_two_instances_polled_at_once_issue_the_approved_code_once(
    tmp_path: Path, pg_url: str
) -> None:
    """One PostgreSQL database, two ``serve`` processes: the device asks one, the user approves
    on the other, and the same poll sent to both at the same moment gets tokens from one only."""
    device_clients = DEVICE_CONFIG.removeprefix(BASE_CONFIG)
    config = f'issuer = "http://valetkey.test"\ndatabase = "{pg_url}"\n{FAST_BASE}{device_clients}'
    servers = [ServeProcess(config, tmp_path) for _ in range(2)]
    try:
        start_together(servers, timeout=READY_SECONDS)
        bases = [s.base for s in servers]
        with httpx.Client(timeout=30) as http:
            for _ in range(2):
                started = http.post(
                    f"{bases[0]}/device_authorization",
                    data={"client_id": "tv", "scope": "read:files"},
                ).json()
                with httpx.Client(base_url=bases[1], timeout=30) as phone:
                    assert approve(phone, started["user_code"]).status_code == 200
                poll = {"grant_type": DEVICE_CODE_GRANT, "device_code": started["device_code"]}
                assert race_code(http, bases, {**poll, "client_id": "tv"}) == [200, 400]
    finally:
        for server in servers:
            server.stop()
