"""`valetkey serve --workers 2` as a real process: forked workers share one socket and one SQLite
file, every worker serves, and stopping the parent stops them all."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from tests.conftest import BASE_CONFIG, SVC_SECRET
from tests.support.servers import free_port, running


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_two_forked_workers_serve_and_stop_together(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "server.toml"
    config.write_text(f'database = "sqlite:///{tmp_path / "vk.db"}"\n' + BASE_CONFIG)
    args = ["serve", "--config", str(config), "--port", str(port), "--workers", "2"]
    with running(args, f"{base}/.well-known/oauth-authorization-server", tmp_path) as proc:
        deadline = time.monotonic() + 10
        while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = _children(proc.pid)
        assert len(workers) == 2

        with httpx.Client(base_url=base, timeout=10) as http:
            tokens = [
                http.post(
                    "/token",
                    data={"grant_type": "client_credentials", "scope": "read:files"},
                    auth=("svc", SVC_SECRET),
                )
                for _ in range(20)
            ]
            assert [r.status_code for r in tokens] == [200] * 20
            # Whichever worker issued it, every worker finds it in the shared database.
            for r in tokens[:5]:
                body = http.post(
                    "/introspect",
                    data={"token": r.json()["access_token"]},
                    auth=("svc", SVC_SECRET),
                ).json()
                assert body["active"] is True

        # A worker that dies is replaced; the parent keeps serving on the same port.
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            now = _children(proc.pid)
            if len(now) == 2 and workers[0] not in now:
                break
            time.sleep(0.05)
        replaced = _children(proc.pid)
        assert len(replaced) == 2 and workers[0] not in replaced
        assert httpx.get(f"{base}/jwks.json", timeout=10).status_code == 200

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    assert not any(_alive(pid) for pid in replaced)
