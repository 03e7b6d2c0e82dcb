"""`valetkey token get --grant device_code` as a real process against oidc-provider (npm): it
prints the link, the code and a QR code, polls with a progress line, obeys slow_down, and saves
the token; the test plays the user on oidc-provider's pages meanwhile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.node_peers import Peer, oidc_provider, require_node_packages, user_approves
from tests.support.servers import isolated_env
from valetkey.cli.device_grant import qr_text

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def slow_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    require_node_packages(tmp_path_factory)
    with oidc_provider(tmp_path_factory.mktemp("slow"), slow_down_first=True) as running:
        yield running


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    require_node_packages(tmp_path_factory)
    with oidc_provider(tmp_path_factory.mktemp("plain")) as running:
        yield running


def device_cli(peer: Peer, home: Path, *extra: str, deny: bool = False) -> tuple[int, str, str]:
    """Run the CLI; once it has printed the link that carries the code, the user follows it."""
    env = os.environ | isolated_env(home) | {"COLUMNS": "200"}
    args = ["token", "get", "--grant", "device_code", "--issuer", peer.issuer]
    args += ["--client-id", "device-cli", "--scope", "read", "--resource", peer.resource, *extra]
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
        page = user_approves(line.strip(), deny=deny)
        assert ("interrupted" if deny else "Sign-in Success") in page
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, "".join(shown) + err


def saved_names(home: Path) -> list[str]:
    listed = subprocess.run(
        [sys.executable, "-m", "valetkey", "token", "list", "--json"],
        env=os.environ | isolated_env(home), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [t["name"] for t in json.loads(listed.stdout)]


def test_the_cli_shows_code_and_qr_obeys_slow_down_and_saves_the_token(
    slow_peer: Peer, tmp_path: Path
) -> None:
    code, out, err = device_cli(slow_peer, tmp_path, "--qr", "--name", "tv", "--json")
    assert code == 0, err
    saved = json.loads(out)
    assert saved["ok"] and saved["name"] == "tv" and saved["grant"] == "device_code"
    assert saved["scope"] == "read" and saved["client_id"] == "device-cli"
    lines = err.splitlines()
    uri = f"{slow_peer.issuer}/device"
    assert uri in lines  # the URL alone on its line
    link = next(line for line in lines if line.startswith(uri + "?user_code="))
    user_code = link.rsplit("=", 1)[1]
    assert f"and enter the code  {user_code}" in err
    assert qr_text(link) in err  # the QR code is the link that carries the code
    assert "the server asked to slow down: polling every 6 s now" in err
    assert saved_names(tmp_path) == ["tv"]


def test_the_user_aborts_the_cli_exits_130_and_no_qr_without_a_terminal(
    peer: Peer, tmp_path: Path
) -> None:
    code, _out, err = device_cli(peer, tmp_path, "--name", "tv", deny=True)
    assert code == 130, err  # documented: the user declined
    assert "access_denied" in err
    assert "\u2580" not in err and "\u2584" not in err  # stderr is a pipe: no QR code
    assert saved_names(tmp_path) == []
