"""Load drivers: wrk when installed, otherwise a small httpx loop with N concurrent connections."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from dataclasses import dataclass

import httpx


@dataclass
class Result:
    requests: int
    seconds: float
    errors: int
    cpu: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_per_request(self) -> float:
        return self.cpu / max(self.requests, 1)


def run_wrk(url: str, headers: dict[str, str], duration: float, connections: int) -> Result:
    cmd = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{max(int(duration), 1)}s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if not done:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    seconds = float(done.group(2)) / (1000 if done.group(3) == "ms" else 1)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failures = int(bad.group(1)) if bad else 0
    if errors:
        failures += sum(int(g) for g in errors.groups())
    return Result(int(done.group(1)), seconds, failures)


def run_httpx(url: str, headers: dict[str, str], duration: float, connections: int) -> Result:
    async def worker(http: httpx.AsyncClient, until: float, counts: list[int]) -> None:
        while time.monotonic() < until:
            response = await http.get(url, headers=headers)
            counts[0 if response.status_code < 400 else 1] += 1

    async def run() -> Result:
        counts = [0, 0]
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(limits=limits) as http:
            start = time.monotonic()
            until = start + duration
            await asyncio.gather(*(worker(http, until, counts) for _ in range(connections)))
            return Result(sum(counts), time.monotonic() - start, counts[1])

    return asyncio.run(run())
