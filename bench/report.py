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


def table(results: list[Result]) -> str:
    lines = [HEADER, "|" + "---|" * 10]
    for r in results:
        vk = None if r.server.startswith("valetkey") else _vk_for(results, r)
        cpu_ratio = tput_ratio = ""
        if vk is not None:
            cpu_ratio = f"{_f(vk.mean('cpu_ms_per_op') / r.mean('cpu_ms_per_op'))}x ({vk.server})"
            tput_ratio = f"{_f(vk.mean('throughput') / r.mean('throughput'))}x"
        errors = sum(run.errors for run in r.runs)
        lines.append(
            f"| {r.workload} | {r.server} | {_f(r.mean('throughput'), 0)} | {_f(r.mean('p50_ms'))} "
            f"| {_f(r.mean('p99_ms'))} | {_f(r.mean('cpu_ms_per_op'), 3)} "
            f"| {_f(max(run.peak_rss_mb for run in r.runs), 0)} | {errors} | {cpu_ratio} | {tput_ratio} |"
        )
    return "\n".join(lines)


def runs_detail(results: list[Result]) -> str:
    out = []
    for r in results:
        parts = [
            f"{run.throughput:,.0f} ops/s, {run.cpu_ms_per_op:.3f} CPU ms/op" for run in r.runs
        ]
        note = f" (last error: {r.note})" if r.note else ""
        out.append(f"- {r.workload} / {r.server}: " + "; ".join(parts) + note)
    return "\n".join(out)
