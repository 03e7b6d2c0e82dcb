"""Requests per second and CPU per request: protected route vs unprotected, on one uvicorn worker.

    python -m bench.resource [--duration 5] [--connections 16]

Starts a valetkey authorization server (to issue a token and publish keys) and the app in
bench/resource/app.py, drives it with wrk (apt-get install -y wrk) or, without wrk, an httpx driver,
and reads the app process's CPU time from /proc.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from tests.support.servers import auth_server, free_port, wait_until_ready

from bench.resource.driver import Result, run_httpx, run_wrk

ROOT = Path(__file__).resolve().parents[2]
AUDIENCE = "https://api.bench.test"
SECRET = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz"
CONFIG = f"""
[[resources]]
identifier = "{AUDIENCE}"
scopes = ["read:files"]

[[clients]]
client_id = "bench"
client_secret = "{SECRET}"
grant_types = ["client_credentials"]
scope = "read:files"
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(url: str, token: str | None, pid: int, args: argparse.Namespace) -> Result:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    httpx.get(url, headers=headers).raise_for_status()  # warm: keys fetched, token cached
    before = cpu_seconds(pid)
    if shutil.which("wrk") and not args.httpx:
        result = run_wrk(url, headers, args.duration, args.connections)
    else:
        result = run_httpx(url, headers, args.duration, args.connections)
    result.cpu = cpu_seconds(pid) - before
    return result


def run_mode(
    mode: str, base: str, token: str, work: Path, args: argparse.Namespace
) -> list[tuple[str, Result]]:
    port = free_port()
    env = {
        **os.environ,
        "VALETKEY_ISSUER": base,
        "VALETKEY_AUDIENCE": AUDIENCE,
        "VALETKEY_BENCH_MODE": mode,
        "VALETKEY_BENCH_CLIENT_ID": "bench",
        "VALETKEY_BENCH_CLIENT_SECRET": SECRET,
    }
    log = work / f"app-{mode}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.resource.app:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
    app = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{app}/open", proc, log)
        rows = []
        if mode == "jwt":
            rows.append(("unprotected", measure(f"{app}/open", None, proc.pid, args)))
        rows.append((f"protected ({mode})", measure(f"{app}/protected", token, proc.pid, args)))
        return rows
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--httpx", action="store_true", help="use the httpx driver even with wrk")
    parser.add_argument("--modes", default="jwt,jwt-nocache,introspect")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with auth_server(f'database = "sqlite:///{work}/as.db"\n' + CONFIG, work) as base:
            token = httpx.post(
                f"{base}/token",
                auth=("bench", SECRET),
                data={"grant_type": "client_credentials", "scope": "read:files"},
            ).json()["access_token"]
            rows = []
            for mode in args.modes.split(","):
                rows += run_mode(mode, base, token, work, args)
    print_table(rows, "wrk" if shutil.which("wrk") and not args.httpx else "httpx", args)


def print_table(rows: list[tuple[str, Result]], driver: str, args: argparse.Namespace) -> None:
    baseline = rows[0][1]
    print(
        f"\nvaletkey.resource benchmark: one uvicorn worker, {driver}, {args.connections} "
        f"connections, {args.duration:g} s per row, {time.strftime('%Y-%m-%d %H:%M')}"
    )
    print(
        f"{'route':<28}{'req/s':>10}{'CPU µs/req':>12}{'req/s ratio':>13}{'CPU ratio':>11}{'errors':>8}"
    )
    for name, r in rows:
        print(
            f"{name:<28}{r.rps:>10.0f}{r.cpu_per_request * 1e6:>12.0f}"
            f"{r.rps / baseline.rps:>13.2f}{r.cpu_per_request / baseline.cpu_per_request:>11.2f}"
            f"{r.errors:>8}"
        )


if __name__ == "__main__":
    main()
