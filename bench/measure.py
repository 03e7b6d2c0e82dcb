"""One measured run: load from wrk or the flow driver, server CPU and memory from /proc."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import flows
from bench.procs import Server, peak_rss_mb

LUA = Path(__file__).parent / "lua" / "request.lua"


@dataclass(frozen=True)
class Load:
    seconds: float = 6.0
    warmup: float = 2.0
    connections: int = 16  # wrk
    users: int = 8  # flow driver: concurrent virtual users
    runs: int = 2


@dataclass
class Run:
    ops: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_op: float
    errors: int
    peak_rss_mb: float

    @property
    def throughput(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0


@dataclass
class Result:
    server: str
    workload: str
    runs: list[Run]
    note: str = ""

    def mean(self, attr: str) -> float:
        values = [getattr(r, attr) for r in self.runs]
        return statistics.fmean(values) if values else float("nan")

    def as_dict(self) -> dict[str, object]:
        return {
            "server": self.server,
            "workload": self.workload,
            "note": self.note,
            "runs": [asdict(r) | {"throughput": r.throughput} for r in self.runs],
        }


def wrk_once(
    server: Server,
    path: str,
    seconds: float,
    connections: int,
    method: str = "GET",
    auth: str = "",
    body: str = "",
) -> dict[str, int]:
    env = {**os.environ, "BENCH_METHOD": method, "BENCH_AUTH": auth, "BENCH_BODY": body}
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            server.base + path,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    return dict(json.loads(line[len("BENCH_JSON ") :]))


def wrk_workload(server: Server, name: str, load: Load, path: str, **req: str) -> Result:
    wrk_once(server, path, load.warmup, load.connections, **req)
    runs = []
    for _ in range(load.runs):
        cpu0 = server.cpu()
        stats = wrk_once(server, path, load.seconds, load.connections, **req)
        cpu = server.cpu() - cpu0
        ops = stats["requests"]
        runs.append(
            Run(
                ops=ops,
                seconds=stats["duration_us"] / 1e6,
                p50_ms=stats["p50_us"] / 1000,
                p99_ms=stats["p99_us"] / 1000,
                cpu_ms_per_op=cpu * 1000 / ops if ops else float("nan"),
                errors=stats["socket_errors"] + stats["status_errors"],
                peak_rss_mb=peak_rss_mb(server.pids()),
            )
        )
    return Result(server.name, name, runs)


def flow_workload(
    server: Server, name: str, load: Load, target: flows.Target, password: str, *, session: bool
) -> Result:
    return asyncio.run(_flow_runs(server, name, load, target, password, session))


async def _flow_runs(
    server: Server, name: str, load: Load, target: flows.Target, password: str, session: bool
) -> Result:
    driver = flows.Driver(target, password, users=load.users, session=session)
    runs, note = [], ""
    try:
        await driver.setup()
        await driver.run(load.warmup)
        for _ in range(load.runs):
            cpu0, began = server.cpu(), time.perf_counter()
            stats = await driver.run(load.seconds)
            cpu, elapsed = server.cpu() - cpu0, time.perf_counter() - began
            ops = len(stats.latencies)
            lat = sorted(stats.latencies)
            runs.append(
                Run(
                    ops=ops,
                    seconds=elapsed,
                    p50_ms=_pct(lat, 50) * 1000,
                    p99_ms=_pct(lat, 99) * 1000,
                    cpu_ms_per_op=cpu * 1000 / ops if ops else float("nan"),
                    errors=stats.errors,
                    peak_rss_mb=peak_rss_mb(server.pids()),
                )
            )
            note = stats.last_error or note
    finally:
        await driver.close()
    return Result(server.name, name, runs, note=note)


def _pct(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * pct / 100))]
