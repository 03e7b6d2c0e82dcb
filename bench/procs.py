"""Server processes: start, wait for readiness, measure CPU and memory of the whole process tree."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree(pid: int) -> list[int]:
    """The process and all its descendants (uvicorn/gunicorn workers, node:cluster workers)."""
    kids = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the given processes (all their threads), in seconds."""
    ticks = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return ticks / CLK_TCK


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pids: list[int]) -> list[float]:
    return [_status_kb(p, "VmRSS") / 1024 for p in pids]


def peak_rss_mb(pids: list[int]) -> float:
    """Sum of each process's high-water resident set (VmHWM)."""
    return sum(_status_kb(p, "VmHWM") for p in pids) / 1024


@dataclass
class Server:
    name: str
    argv: list[str]
    base: str
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    ready_path: str = "/.well-known/oauth-authorization-server"
    workers: int = 1
    proc: subprocess.Popen[bytes] | None = None
    startup_s: float = 0.0
    log: Path | None = None
    # CPU spent for this server outside its process tree, reported apart (name -> running total of
    # CPU seconds): PostgreSQL's backends, a load balancer.
    meters: dict[str, Callable[[], float]] = field(default_factory=dict)

    def side_cpu(self) -> dict[str, float]:
        return {name: meter() for name, meter in self.meters.items()}

    def start(self, logdir: Path, timeout: float = 60.0) -> Server:
        self.log = logdir / f"{self.name}.log"
        env = {**os.environ, **self.env}
        began = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv,
            env=env,
            cwd=self.cwd,
            start_new_session=True,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = began + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start-up; see {self.log}")
            try:
                if httpx.get(self.base + self.ready_path, timeout=2).status_code == 200:
                    self.startup_s = time.perf_counter() - began
                    self._wait_workers(deadline)
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f}s; see {self.log}")

    def _wait_workers(self, deadline: float) -> None:
        """Multi-process servers: wait until every worker is up (so CPU and RSS cover them)."""
        want = self.workers + (1 if self.workers > 1 else 0)
        deadline = min(deadline, time.perf_counter() + 10)
        while len(self.pids()) < want and time.perf_counter() < deadline:
            time.sleep(0.05)
        time.sleep(0.3 if self.workers > 1 else 0.0)

    def pids(self) -> list[int]:
        assert self.proc is not None
        return tree(self.proc.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pids())

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # the session this harness started
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
