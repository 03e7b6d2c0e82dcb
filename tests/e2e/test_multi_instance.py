"""`valetkey serve` processes sharing one PostgreSQL database, run the way an orchestrator runs
them: started together on a fresh database, restarted one by one, killed mid-request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import SVC_SECRET
from tests.lifecycle.conftest import FAST_BASE
from tests.lifecycle.helpers import code_tokens, introspect
from tests.support.flows import run_code_flow
from tests.support.servers import free_port, isolated_env, wait_until_ready
from valetkey.core import jose

READY_SECONDS = 120.0  # several instances start at once on a shared, busy machine


class Instance:
    def __init__(self, config: Path, workdir: Path) -> None:
        self.config, self.workdir, self.port = config, workdir, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / f"serve-{self.port}.log"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "valetkey",
                    "serve",
                    "--config",
                    str(self.config),
                    "--port",
                    str(self.port),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **isolated_env(self.workdir)},
                cwd=self.workdir,
            )

    def wait_ready(self) -> None:
        assert self.proc is not None
        meta = f"{self.base}/.well-known/oauth-authorization-server"
        wait_until_ready(meta, self.proc, self.log, timeout=READY_SECONDS)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def instances(tmp_path: Path, pg_url: str, count: int) -> Iterator[list[Instance]]:
    """``count`` instances started at the same moment on one fresh database."""
    config = tmp_path / "valetkey.toml"
    config.write_text(f'issuer = "http://valetkey.test"\ndatabase = "{pg_url}"\n{FAST_BASE}')
    started = [Instance(config, tmp_path) for _ in range(count)]
    try:
        for instance in started:
            instance.start()
        for instance in started:
            instance.wait_ready()
        yield started
    finally:
        for instance in started:
            instance.stop()


def _post(
    client: httpx.Client, url: str, data: dict[str, str], out: list[int], go: threading.Barrier
) -> None:
    go.wait()
    out.append(client.post(url, data=data).status_code)


def test_instances_started_together_share_keys_and_redeem_a_code_once(
    tmp_path: Path, pg_url: str
) -> None:
    with instances(tmp_path, pg_url, 3) as started, httpx.Client(timeout=30) as http:
        jwks = [http.get(f"{i.base}/jwks.json").json() for i in started]
        assert jwks[0] == jwks[1] == jwks[2] and jwks[0]["keys"]
        for _ in range(2):
            result = run_code_flow(http, started[0].base)
            data = {
                "grant_type": "authorization_code",
                "code": result.params["code"],
                "redirect_uri": "http://127.0.0.1:9999/callback",
                "client_id": "cli",
                "code_verifier": result.verifier or "",
            }
            go, statuses = threading.Barrier(3), []
            threads = [
                threading.Thread(target=_post, args=(http, f"{i.base}/token", data, statuses, go))
                for i in started
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert sorted(statuses) == [200, 400, 400]
        # A token issued by one instance verifies with the keys another publishes.
        tokens = code_tokens(http, started[2].base, scope="read:profile")
        _, claims = jose.verify(tokens["access_token"], jwks[0])
        assert claims["iss"] == "http://valetkey.test"


def test_instances_restarted_one_by_one_and_killed_mid_request(tmp_path: Path, pg_url: str) -> None:
    with instances(tmp_path, pg_url, 2) as (a, b), httpx.Client(timeout=30) as http:
        tokens = code_tokens(http, a.base)
        # Restarted one by one: the other keeps answering, and the grant lives on.
        for instance, other in ((a, b), (b, a)):
            instance.stop()
            assert introspect(http, other.base, tokens["access_token"]).json()["active"]
            instance.start()
            instance.wait_ready()
            refreshed = http.post(
                f"{instance.base}/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": tokens["refresh_token"],
                    "client_id": "cli",
                },
            )
            assert refreshed.status_code == 200, refreshed.text
            tokens = refreshed.json()
        # Killed (SIGKILL) in the middle of a burst of requests: the other instance answers all
        # of its own, and the killed one, started again, serves the same grant.
        stop, answered = threading.Event(), {"a": 0, "b": 0, "b_failed": 0}

        def burst(instance: Instance, name: str) -> None:
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    try:
                        r = client.post(
                            f"{instance.base}/token",
                            data={"grant_type": "client_credentials"},
                            auth=("svc", SVC_SECRET),
                        )
                    except httpx.TransportError:
                        if name == "b":
                            answered["b_failed"] += 1
                        continue
                    if r.status_code == 200:
                        answered[name] += 1
                    elif name == "b":
                        answered["b_failed"] += 1

        workers = [
            threading.Thread(target=burst, args=(a, "a")),
            threading.Thread(target=burst, args=(b, "b")),
        ]
        for w in workers:
            w.start()
        deadline = time.monotonic() + 30
        while answered["a"] < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        a.stop(signal.SIGKILL)
        time.sleep(0.5)
        stop.set()
        for w in workers:
            w.join(30)
        assert answered["b"] > 0 and answered["b_failed"] == 0, answered
        a.start()
        a.wait_ready()
        assert introspect(http, a.base, tokens["access_token"]).json()["active"]
