"""One measured run: load from wrk or the flow driver, server CPU and memory from /proc."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import time
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import flows
from bench.dpop import RESERVE, ProofFeed
from bench.procs import Server, peak_rss_mb

LUA = Path(__file__).parent / "lua" / "request.lua"
DPOP_LUA = Path(__file__).parent / "lua" / "dpop.lua"  # a fresh DPoP proof on every request


@dataclass(frozen=True)
class Load:
    seconds: float = 6.0
    warmup: float = 2.0
    connections: int = 16  # wrk
    users: int = 8  # flow driver: concurrent virtual users
    runs: int = 2
    # Each run is measured in slices, the servers side by side taking turns slice by slice, so that
    # the machine's speed, which drifts from one second to the next, falls on all of them alike.
    slices: int = 6

    @property
    def slice_seconds(self) -> float:
        return self.seconds / self.slices


@dataclass
class Run:
    ops: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_op: float
    errors: int
    peak_rss_mb: float
    # CPU ms per operation spent elsewhere for this server (``Server.meters``): PostgreSQL, HAProxy
    side_cpu_ms_per_op: dict[str, float] = field(default_factory=dict)

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

    def side_mean(self, name: str) -> float:
        values = [r.side_cpu_ms_per_op[name] for r in self.runs if name in r.side_cpu_ms_per_op]
        return statistics.fmean(values) if values else float("nan")

    def side_names(self) -> list[str]:
        return list(dict.fromkeys(n for r in self.runs for n in r.side_cpu_ms_per_op))

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
    proofs: ProofFeed | None = None,
) -> dict[str, int]:
    """One wrk run; with ``proofs``, a new DPoP proof on each request, from the batch the caller
    made for this run (``ProofFeed.batch``, before it started measuring)."""
    env = {**os.environ, "BENCH_METHOD": method, "BENCH_AUTH": auth, "BENCH_BODY": body}
    script = LUA
    if proofs is not None:
        env |= {"BENCH_PROOFS": str(proofs.path), "BENCH_RESERVE": str(RESERVE)}
        script = DPOP_LUA
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            server.base + path,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    done = dict(json.loads(line[len("BENCH_JSON ") :]))
    if proofs is not None:
        proofs.ran(done["requests"], done["duration_us"] / 1e6)
    return done


class Side:
    """The CPU a server's meters (``Server.meters``) count over a run's slices."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.seconds = dict.fromkeys(server.meters, 0.0)

    def read(self) -> dict[str, float]:
        return self.server.side_cpu()

    def add(self, before: dict[str, float]) -> None:
        for name, now in self.read().items():
            self.seconds[name] += now - before[name]

    def per_op(self, ops: int) -> dict[str, float]:
        return {n: s * 1000 / ops if ops else float("nan") for n, s in self.seconds.items()}


# A workload is a generator of steps: its first step warms the server up, each later step measures
# one slice of a run, and it returns the Result. ``drive`` runs one on its own; ``interleave`` runs
# several servers' workloads slice by slice (A, B, A, B, ...), so that the machine's drift over the
# seconds and minutes of a benchmark falls on every server alike instead of on whichever ran last.
Steps = Generator[None, None, Result]


def drive(steps: Steps) -> Result:
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def interleave(
    steps: list[Steps], on_error: Callable[[int, Exception], None]
) -> list[Result | None]:
    """Advance every workload one step at a time, in turn; one that fails is reported and dropped."""
    results: list[Result | None] = [None] * len(steps)
    live = list(range(len(steps)))
    while live:
        for i in list(live):
            try:
                next(steps[i])
            except StopIteration as done:
                results[i] = done.value
                live.remove(i)
            except Exception as exc:  # one broken server must not lose the others' results
                on_error(i, exc)
                live.remove(i)
    return results


def wrk_steps(
    server: Server, name: str, load: Load, path: str, proofs: ProofFeed | None = None, **req: str
) -> Steps:
    """wrk, once per slice. A run's percentiles are its slices' percentiles weighted by their
    requests (wrk reports percentiles, not the samples behind them). ``proofs``: a DPoP proof per
    request, signed before each slice (just in time: proofs are single-use and time-bound), with
    the server idle, so that the server CPU measured over the slice does not include it."""
    if proofs is not None:
        proofs.batch(load.warmup)
    wrk_once(server, path, load.warmup, load.connections, proofs=proofs, **req)
    if proofs is not None:
        proofs.exhausted = 0  # a short warm-up (the rate still unknown) is no harm
    runs = []
    for _ in range(load.runs):
        cpu = 0.0
        side = Side(server)
        slices = []
        for _ in range(load.slices):
            yield
            if proofs is not None:  # signed now, outside the measurement
                proofs.batch(load.slice_seconds)
            cpu0, side0 = server.cpu(), side.read()
            slices.append(
                wrk_once(server, path, load.slice_seconds, load.connections, proofs=proofs, **req)
            )
            cpu += server.cpu() - cpu0
            side.add(side0)
        ops = sum(x["requests"] for x in slices)

        def weighted(key: str, slices: list[dict[str, int]] = slices, ops: int = ops) -> float:
            return sum(x[key] * x["requests"] for x in slices) / ops / 1000 if ops else float("nan")

        runs.append(
            Run(
                ops=ops,
                seconds=sum(x["duration_us"] for x in slices) / 1e6,
                p50_ms=weighted("p50_us"),
                p99_ms=weighted("p99_us"),
                cpu_ms_per_op=cpu * 1000 / ops if ops else float("nan"),
                errors=sum(x["socket_errors"] + x["status_errors"] for x in slices),
                peak_rss_mb=peak_rss_mb(server.pids()),
                side_cpu_ms_per_op=side.per_op(ops),
            )
        )
    note = ""
    if proofs is not None and proofs.exhausted:  # correct per operation, but fewer operations
        note = f"DPoP proofs ran out in {proofs.exhausted} wrk run(s), which ended early"
    return Result(server.name, name, runs, note=note)


def wrk_workload(server: Server, name: str, load: Load, path: str, **req: str) -> Result:
    return drive(wrk_steps(server, name, load, path, **req))


def flow_steps(
    server: Server, name: str, load: Load, target: flows.Target, password: str, *, session: bool
) -> Steps:
    """The flow driver on its own event loop, kept between steps (its users' connections too)."""
    loop = asyncio.new_event_loop()
    driver = flows.Driver(target, password, users=load.users, session=session)
    runs, note = [], ""
    try:
        loop.run_until_complete(driver.setup())
        loop.run_until_complete(driver.run(load.warmup))
        for _ in range(load.runs):
            cpu, elapsed, stats = 0.0, 0.0, flows.FlowStats()
            side = Side(server)
            for _ in range(load.slices):
                yield
                cpu0, side0, began = server.cpu(), side.read(), time.perf_counter()
                part = loop.run_until_complete(driver.run(load.slice_seconds))
                cpu += server.cpu() - cpu0
                side.add(side0)
                elapsed += time.perf_counter() - began
                stats.latencies += part.latencies
                stats.errors += part.errors
                stats.last_error = part.last_error or stats.last_error
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
                    side_cpu_ms_per_op=side.per_op(ops),
                )
            )
            note = stats.last_error or note
    finally:
        loop.run_until_complete(driver.close())
        loop.close()
    return Result(server.name, name, runs, note=note)


def flow_workload(
    server: Server, name: str, load: Load, target: flows.Target, password: str, *, session: bool
) -> Result:
    return drive(flow_steps(server, name, load, target, password, session=session))


def _pct(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * pct / 100))]
