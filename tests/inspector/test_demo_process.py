"""`valetkey demo` as a real process: every part on its own port, one URL printed, Ctrl-C stops all
(exit status 130)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port, wait_until_ready

pytestmark = pytest.mark.e2e


def test_demo_command_serves_every_part_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("server", "resource", "client", "inspector")}
    args = [f"--{name}-port={port}" for name, port in ports.items()]
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "valetkey", "demo", "--data-dir", str(tmp_path / "data"), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        inspector = f"http://127.0.0.1:{ports['inspector']}/"
        wait_until_ready(inspector, proc, log, timeout=60)
        for url in (
            f"http://127.0.0.1:{ports['server']}/.well-known/oauth-authorization-server",
            f"http://127.0.0.1:{ports['resource']}/",
            f"http://localhost:{ports['client']}/",
        ):
            assert httpx.get(url, trust_env=False).status_code == 200, url
        # The client app is registered on its own origin, whatever the port.
        home = httpx.get(f"http://localhost:{ports['client']}/", trust_env=False).text
        assert "Log in" in home and "INSECURE" in home
        printed = log.read_text()
        assert f"Open:\n\n    {inspector}\n" in printed
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 130  # Ctrl-C, as a shell reports it
        assert "Traceback" not in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
