"""W2's server CPU per login split by thread, for valetkey variants run side by side.

    python -m bench.hashsplit [--seconds 3] [--rounds 4] [--workers 1] [--users 8] [--isolated]
                              [VARIANT ...]

VARIANT is ``NAME`` or ``NAME:ENV=VALUE,ENV=VALUE`` (environment added to that server), e.g.
``default c1:VALETKEY_PASSWORD_HASH_CONCURRENCY=1``; a name starting with ``w2p`` stores the user's
hash at the minimal cost, as the bench's W2p does. Each server runs W2 (the bench's flow driver, 8
users) in turn, slice by slice, so that the machine's drift falls on all of them alike. Printed per
login: the process tree's CPU (utime, stime) and minor page faults, and the split between the event
loops (each process's main thread) and the other threads (the hashing gate's pool), with their
involuntary context switches (preemptions) and run-queue wait, from /proc/PID/task/TID/{stat,
status,schedstat}.

``--isolated``: meanwhile, a separate process verifies the default Argon2id hash on one thread,
over and over, and reports its CPU per verification: what one verification costs on this machine
under the same load, outside the server, to compare with the server's hashing threads.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench import lineup
from bench.config import Secrets
from bench.flows import Driver, Target
from bench.procs import CLK_TCK, Server, tree
from bench.results_md import MINIMAL_HASHER

FIELDS = ("utime", "stime", "minflt", "inv", "run_ns", "wait_ns")

ISOLATED = """
import resource, statistics, sys, time
from argon2 import PasswordHasher
from valetkey.server.passwords import HashParams
p = HashParams()
ph = PasswordHasher(time_cost=p.iterations, memory_cost=p.memory_kib, parallelism=p.parallelism)
digest = ph.hash("isolated")
cpu, inv = [], []
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    r0, t0 = resource.getrusage(resource.RUSAGE_THREAD), time.thread_time()
    ph.verify(digest, "isolated")
    t1, r1 = time.thread_time(), resource.getrusage(resource.RUSAGE_THREAD)
    cpu.append((t1 - t0) * 1000)
    inv.append(r1.ru_nivcsw - r0.ru_nivcsw)
calm = [c for c, n in zip(cpu, inv) if n == 0]
print(f"isolated process, 1 thread: {len(cpu)} verifications, CPU ms min {min(cpu):.2f} "
      f"median {statistics.median(cpu):.2f}; preemptions per verification "
      f"{statistics.fmean(inv):.1f}; median of those never preempted "
      + (f"{statistics.median(calm):.2f} ({len(calm)})" if calm else "(none)"))
"""


def _thread_stats(pid: int) -> dict[str, dict[str, int]]:
    """Every thread of ``pid``: the counters in FIELDS, and whether it is the main thread."""
    out = {}
    for tid in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (tid / "stat").read_text().rsplit(")", 1)[1].split()
            status = (tid / "status").read_text()
            run_ns, wait_ns = (tid / "schedstat").read_text().split()[:2]
        except OSError:  # the thread ended meanwhile
            continue
        inv = next(ln for ln in status.splitlines() if ln.startswith("nonvoluntary_ctxt"))
        out[f"{pid}/{tid.name}"] = {
            "main": int(tid.name == str(pid)),
            "utime": int(stat[11]),
            "stime": int(stat[12]),
            "minflt": int(stat[7]),
            "inv": int(inv.split()[1]),
            "run_ns": int(run_ns),
            "wait_ns": int(wait_ns),
        }
    return out


def snapshot(server: Server) -> dict[str, dict[str, int]]:
    """The threads of the server's whole process tree (uvicorn's parent and its workers)."""
    threads: dict[str, dict[str, int]] = {}
    for pid in tree(server.pids()[0]):
        threads |= _thread_stats(pid)
    return threads


@dataclass
class Tally:
    logins: int = 0
    seconds: float = 0.0
    # (group, field) -> total over the rounds; group: "all", "loop" (main threads), "pool"
    totals: dict[tuple[str, str], float] = field(default_factory=dict)

    def add(self, before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> None:
        for tid, now in after.items():
            was = before.get(tid, dict.fromkeys(now, 0))
            group = "loop" if now["main"] else "pool"
            for f in FIELDS:
                for g in ("all", group):
                    self.totals[g, f] = self.totals.get((g, f), 0) + now[f] - was[f]

    def per_login(self, group: str, f: str) -> float:
        value = self.totals.get((group, f), 0.0) / max(self.logins, 1)
        if f in ("utime", "stime"):
            return value * 1000 / CLK_TCK
        return value / 1e6 if f.endswith("_ns") else value

    def line(self, name: str) -> str:
        cpu = self.per_login("all", "utime") + self.per_login("all", "stime")
        parts = [
            f"{name}: {self.logins / self.seconds:.1f} logins/s, CPU {cpu:.2f} ms/login "
            f"(utime {self.per_login('all', 'utime'):.2f}, stime {self.per_login('all', 'stime'):.2f}), "
            f"minor faults {self.per_login('all', 'minflt'):.1f}/login"
        ]
        for group, label in (("loop", "event loops"), ("pool", "other threads")):
            parts.append(
                f"  {label}: ran {self.per_login(group, 'run_ns'):.2f} ms/login, "
                f"preempted {self.per_login(group, 'inv'):.1f}x/login, "
                f"waited for a CPU {self.per_login(group, 'wait_ns'):.1f} ms/login, "
                f"faults {self.per_login(group, 'minflt'):.1f}/login"
            )
        return "\n".join(parts)


def variant(spec: str, secrets: Secrets, rundir: Path, workers: int) -> Server:
    name, _, assignments = spec.partition(":")
    env = dict(a.split("=", 1) for a in assignments.split(",") if a)
    return lineup.valetkey(
        secrets,
        rundir,
        workers,
        db_name=f"{name}.db",
        name=name,
        hasher=MINIMAL_HASHER if name.startswith("w2p") else None,
        env=env,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("variants", nargs="*", default=["default", "w2p"])
    ap.add_argument("--seconds", type=float, default=3.0, help="length of one slice")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--users", type=int, default=8, help="concurrent users (W2: 8)")
    ap.add_argument("--isolated", action="store_true", help="also time an isolated hasher")
    args = ap.parse_args()
    secrets = Secrets.fresh()
    rundir = Path(tempfile.mkdtemp(prefix="hashsplit-"))
    servers = [variant(v, secrets, rundir, args.workers) for v in args.variants]
    loop = asyncio.new_event_loop()
    drivers: list[Driver] = []
    started: list[Server] = []
    try:
        for server in servers:
            started.append(server.start(rundir))
            driver = Driver(
                Target(server.name, server.base, "/authorize"),
                secrets.password,
                users=args.users,
                session=False,
            )
            drivers.append(driver)
            loop.run_until_complete(driver.setup())
            loop.run_until_complete(driver.run(2.0))  # warm-up
        isolated = None
        if args.isolated:
            length = args.seconds * args.rounds * len(servers)
            isolated = subprocess.Popen(
                [sys.executable, "-c", ISOLATED, str(length)], stdout=subprocess.PIPE, text=True
            )
        tallies = [Tally() for _ in servers]
        for _ in range(args.rounds):
            for server, driver, tally in zip(servers, drivers, tallies, strict=True):
                before = snapshot(server)
                stats = loop.run_until_complete(driver.run(args.seconds))
                tally.add(before, snapshot(server))
                tally.logins += len(stats.latencies)
                tally.seconds += args.seconds
                if stats.errors:
                    print(f"{server.name}: {stats.errors} errors ({stats.last_error})")
        for server, tally in zip(servers, tallies, strict=True):
            print(tally.line(server.name))
        if isolated is not None:
            print(isolated.communicate()[0].strip())
    finally:
        for driver in drivers:
            loop.run_until_complete(driver.close())
        loop.close()
        for server in started:
            server.stop()


if __name__ == "__main__":
    main()
