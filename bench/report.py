"""The results table (stdout and bench/RESULTS.md)."""

from __future__ import annotations

import math

from bench.measure import Result

HEADER = (
    "| workload | server | ops/s | p50 ms | p99 ms | CPU ms/op | peak RSS MB | errors "
    "| valetkey CPU/op ÷ peer | valetkey ops/s ÷ peer |"
)


def _f(x: float, digits: int = 2) -> str:
    return "n/a" if math.isnan(x) else f"{x:,.{digits}f}"


def _vk_for(results: list[Result], r: Result) -> Result | None:
    """The valetkey row a peer is compared with: same workload, same number of processes."""
    same = [x for x in results if x.workload == r.workload and x.server.startswith("valetkey")]
    if not same:
        return None
    want = "2w" if ("2w" in r.server or "2p" in r.server) else "1w"
    return next((x for x in same if x.server.endswith(want)), same[0])


ON_PG = " on PostgreSQL"


def sqlite_twin(results: list[Result], r: Result) -> Result | None:
    """For valetkey on PostgreSQL, valetkey on SQLite with the same workers in the same run."""
    if not r.server.startswith("valetkey") or not r.server.endswith(ON_PG):
        return None
    name = r.server.removesuffix(ON_PG)
    return next((x for x in results if x.workload == r.workload and x.server == name), None)


def table(results: list[Result]) -> str:
    lines = [HEADER, "|" + "---|" * 10]
    for r in results:
        vk = None if r.server.startswith("valetkey") else _vk_for(results, r)
        cpu_ratio = tput_ratio = ""
        if vk is not None:
            cpu_ratio = f"{_f(vk.mean('cpu_ms_per_op') / r.mean('cpu_ms_per_op'))}x ({vk.server})"
            tput_ratio = f"{_f(vk.mean('throughput') / r.mean('throughput'))}x"
        twin = sqlite_twin(results, r)
        if twin is not None:  # the PostgreSQL row: its own cost over SQLite's
            cpu_ratio = (
                f"PG/SQLite {_f(r.mean('cpu_ms_per_op') / twin.mean('cpu_ms_per_op'))}x"
                f" ({twin.server})"
            )
            tput_ratio = f"PG/SQLite {_f(r.mean('throughput') / twin.mean('throughput'))}x"
        errors = sum(run.errors for run in r.runs)
        lines.append(
            f"| {r.workload} | {r.server} | {_f(r.mean('throughput'), 0)} | {_f(r.mean('p50_ms'))} "
            f"| {_f(r.mean('p99_ms'))} | {_f(r.mean('cpu_ms_per_op'), 3)} "
            f"| {_f(max(run.peak_rss_mb for run in r.runs), 0)} | {errors} | {cpu_ratio} | {tput_ratio} |"
        )
        for name in r.side_names():  # CPU spent for this row outside valetkey: apart
            lines.append(
                f"| {r.workload} | ↳ {name} for {r.server} | | | | {_f(r.side_mean(name), 3)} "
                "| | | | |"
            )
    return "\n".join(lines)


def runs_detail(results: list[Result]) -> str:
    out = []
    for r in results:
        parts = [
            f"{run.throughput:,.0f} ops/s, {run.cpu_ms_per_op:.3f} CPU ms/op"
            + "".join(f" (+{n} {ms:.3f})" for n, ms in run.side_cpu_ms_per_op.items())
            for run in r.runs
        ]
        note = f" (last error: {r.note})" if r.note else ""
        out.append(f"- {r.workload} / {r.server}: " + "; ".join(parts) + note)
    return "\n".join(out)
