"""``valetkey serve`` as a process a test can start, kill -9 and start again on the same database.

``tests/support/servers.py``'s ``auth_server`` runs one server for a block; the fault suite needs
more control: several instances started at the same instant, one killed mid-request, a restart on
the same port and database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.servers import free_port, isolated_env, wait_until_ready


class ServeProcess:
    def __init__(
        self, config: str, workdir: Path, *, port: int | None = None, args: tuple[str, ...] = ()
    ) -> None:
        self.port = port or free_port()
        self.args = args  # more options for ``valetkey serve`` (``--workers 2``)
        self.workdir = workdir
        self.config_path = workdir / f"serve-{self.port}.toml"
        self.config_path.write_text(config)
        self.log = workdir / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True) -> ServeProcess:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"--- start {self.starts} ---\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "valetkey", "serve", "--config", str(self.config_path),
                 "--port", str(self.port), *self.args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **isolated_env(self.workdir)},
                cwd=self.workdir,
            )  # fmt: skip
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        assert self.proc is not None
        wait_until_ready(
            f"{self.base}/.well-known/oauth-authorization-server", self.proc, self.log, timeout
        )

    def kill9(self) -> None:
        """SIGKILL: no shutdown, no flush; whatever was in flight is lost with the process."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_together(servers: list[ServeProcess], timeout: float = 60.0) -> None:
    """Start every instance at the same instant, as an orchestrator does, then wait for all."""
    for server in servers:
        server.start(wait=False)
    deadline = time.monotonic() + timeout
    for server in servers:
        server.wait_ready(max(1.0, deadline - time.monotonic()))


@contextmanager
def running_together(
    config: str, workdir: Path, count: int = 2, timeout: float = 120.0
) -> Iterator[list[str]]:
    """``count`` instances of one configuration (one shared database), started at the same
    instant; their base URLs, and every one stopped at the end."""
    servers = [ServeProcess(config, workdir) for _ in range(count)]
    try:
        start_together(servers, timeout=timeout)
        yield [server.base for server in servers]
    finally:
        for server in servers:
            server.stop()


def at_once(bases: Sequence[str], send: Callable[[str], int]) -> list[int]:
    """``send(base)`` on every instance at the same moment (a barrier releases the threads
    together); the statuses, sorted: a replay race has exactly one winner."""
    go, statuses = threading.Barrier(len(bases)), []

    def one(base: str) -> None:
        go.wait()
        statuses.append(send(base))

    threads = [threading.Thread(target=one, args=(base,)) for base in bases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return sorted(statuses)
