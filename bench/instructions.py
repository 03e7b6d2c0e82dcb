"""Instructions per request, counted by valgrind's callgrind: a before/after measure without noise.

    python -m bench.instructions w1|w2s|w2p|w3 [--before DIR] [--n N] [--cycles]

Timing a change of one or two per cent on a shared two-core machine takes many side-by-side runs;
an instruction count does not move with the machine's load. The server (one worker, SQLite) runs
under callgrind with counting off while it starts and warms up; one client process (not counted)
then sends the workload's requests one at a time on one keep-alive connection, and callgrind's
counters are dumped after each block of ``N`` (W1: client credentials at /token; W3: introspection;
W2s: the Authorization Code + PKCE flow with a session and remembered consent, each flow one
/authorize and one /token). Printed: instructions per request (per flow for W2s) for each block
after the first (the first pays for whatever is done once); ``--before DIR`` runs the checkout in
DIR the same way and prints the ratio. Both checkouts are compiled to bytecode first, the hash
seed is fixed. Needs valgrind (``apt-get install valgrind``).

``--cycles``: every thread, with cache and branch simulation; printed is callgrind's cycle
estimate per request (``_cycles``), which also sees work moved between threads.

Otherwise counts are of the server's event-loop thread only (not SQLite's checkpointer thread,
which works once a second whatever the load), idle ticks of the event loop included (a few thousand
instructions each, ten a second): a small, even share of every block.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import httpx

from bench import lineup
from bench.__main__ import W1_BODY, basic, cc_token
from bench.config import Secrets
from bench.flows import Driver, Target, one_flow
from bench.procs import Server
from bench.results_md import MINIMAL_HASHER

ROOT = Path(__file__).resolve().parent.parent


def _under_callgrind(server: Server, out: Path, cycles: bool = False) -> Server:
    server.argv = [
        "valgrind",
        "--tool=callgrind",
        *(("--cache-sim=yes", "--branch-sim=yes") if cycles else ()),
        "--instr-atstart=no",
        "--separate-threads=yes",
        f"--callgrind-out-file={out}",
        *server.argv,
    ]
    quiet = str(Path(__file__).parent / "quiet")  # uvicorn's ticks slowed (quiet/sitecustomize.py)
    path = server.env.get("PYTHONPATH")
    server.env = {
        **server.env,
        "PYTHONHASHSEED": "0",
        "PYTHONPATH": quiet if path is None else f"{path}:{quiet}",
    }
    return server


def _control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def _events(dump: Path) -> dict[str, int]:
    lines = dump.read_text().splitlines()
    names = next(line for line in lines if line.startswith("events:")).split()[1:]
    for line in lines:
        if line.startswith(("summary:", "totals:")):
            values = [int(v) for v in line.split()[1:]]
            return dict(zip(names, values + [0] * (len(names) - len(values)), strict=True))
    raise RuntimeError(f"no totals in {dump}")


def _instructions(dump: Path) -> int:
    return _events(dump)["Ir"]


def _cycles(dumps: list[Path]) -> float:
    """callgrind's cycle estimate over ``dumps`` (every thread of one block): instructions, plus 10
    per first-level cache miss and per mispredicted branch, plus 100 per last-level miss."""
    e: Counter[str] = Counter()
    for dump in dumps:
        e.update(_events(dump))
    l1 = e["I1mr"] + e["D1mr"] + e["D1mw"]
    ll = e["ILmr"] + e["DLmr"] + e["DLmw"]
    return e["Ir"] + 10 * l1 + 100 * ll + 10 * (e["Bcm"] + e["Bim"])


def _dumps(out: Path) -> list[Path]:
    """The event loop's thread (the first) in each dump: not SQLite's checkpointer thread, whose
    work is counted by time (once a second), and time under valgrind runs fifty times slower."""
    dumps = out.parent.glob(out.name + ".*-01")
    return sorted(dumps, key=lambda p: int(p.name.rsplit(".", 1)[1].split("-")[0]))


def _blocks(out: Path) -> list[list[Path]]:
    """Every thread's dump, block by block (``--cycles``: the hashing and SQLite threads too)."""
    by_block: dict[int, list[Path]] = {}
    for dump in out.parent.glob(out.name + ".*-*"):
        by_block.setdefault(int(dump.name.rsplit(".", 1)[1].split("-")[0]), []).append(dump)
    return [by_block[k] for k in sorted(by_block)]


class Workload:
    def __init__(self, kind: str, server: Server, s: Secrets) -> None:
        self.kind, self.server, self.s = kind, server, s
        self.http = httpx.Client(base_url=server.base, timeout=300)
        self.auth = basic("bench-service", s.service)
        self.token = cc_token(server, s, "/token") if kind == "w3" else ""
        self.loop = asyncio.new_event_loop()
        self.browser = httpx.AsyncClient(timeout=300)
        self.target = Target("vk", server.base, "/authorize")
        if kind == "w2s":
            driver = Driver(self.target, s.password, users=1, session=True)
            driver.clients = [self.browser]
            self.loop.run_until_complete(driver.setup())  # sign-in and consent, once

    def run(self, n: int) -> None:
        headers = {"authorization": self.auth, "content-type": "application/x-www-form-urlencoded"}
        for _ in range(n):
            if self.kind == "w1":
                r = self.http.post("/token", content=W1_BODY, headers=headers)
            elif self.kind == "w3":
                r = self.http.post("/introspect", content=f"token={self.token}", headers=headers)
            else:
                if self.kind == "w2p":  # a new browser: sign-in and consent every time
                    self.browser.cookies.clear()
                prompt = "consent" if self.kind == "w2p" else ""
                flow = one_flow(self.browser, self.target, self.s.password, prompt)
                self.loop.run_until_complete(flow)
                continue
            if r.status_code != 200:
                raise RuntimeError(f"{self.kind}: {r.status_code} {r.text[:200]}")

    def close(self) -> None:
        self.http.close()
        self.loop.run_until_complete(self.browser.aclose())
        self.loop.close()


def measure(
    kind: str, source: Path | None, n: int, blocks: int, keep: bool = False, cycles: bool = False
) -> list[float]:
    rundir = Path(tempfile.mkdtemp(prefix="vk-instr-"))
    try:
        s = Secrets.fresh()
        hasher = MINIMAL_HASHER if kind == "w2p" else None  # W2p: the hash at its least cost
        server = (
            lineup.valetkey(s, rundir, 1, hasher=hasher)
            if source is None
            else lineup.before(s, rundir, 1, source, hasher)
        )
        out = rundir / "callgrind.out"
        with _under_callgrind(server, out, cycles).start(rundir, timeout=600) as running:
            assert running.proc is not None
            pid = running.proc.pid
            load = Workload(kind, running, s)
            load.run(max(5, n // 4))  # warm, uncounted
            _control(pid, "--instr=on")
            for _ in range(blocks + 1):
                load.run(n)
                _control(pid, "--dump")
            load.close()
        if cycles:
            counts = [_cycles(block) for block in _blocks(out)]
        else:
            counts = [_instructions(d) for d in _dumps(out)]
        if keep:
            print(f"callgrind's dumps: {out}.*  (callgrind_annotate reads them)")
        return [c / n for c in counts[1:]]
    finally:
        if not keep:
            shutil.rmtree(rundir, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=("w1", "w2s", "w2p", "w3"))
    ap.add_argument("--before", type=Path, default=None)
    ap.add_argument("--n", type=int, default=0, help="requests (W2s: flows) per block")
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep callgrind's dumps")
    ap.add_argument(
        "--cycles",
        action="store_true",
        help="every thread, with cache and branch simulation: callgrind's cycle estimate",
    )
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("needs valgrind (apt-get install valgrind)")
    n = args.n or (40 if args.kind in ("w2s", "w2p") else 200)
    for root in (ROOT, args.before):
        if root is not None:
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", str(root / "src")], check=True
            )
    now = measure(args.kind, None, n, args.blocks, args.keep, args.cycles)
    print(f"{args.kind} this checkout: " + ", ".join(f"{c / 1000:.1f}k" for c in now))
    if args.before is not None:
        then = measure(args.kind, args.before, n, args.blocks, args.keep, args.cycles)
        print(f"{args.kind} before ({args.before}): " + ", ".join(f"{c / 1000:.1f}k" for c in then))
        print(f"{args.kind} ratio this / before: {min(now) / min(then):.4f} (lowest block of each)")


if __name__ == "__main__":
    main()
