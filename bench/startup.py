"""``python -m bench.startup``: how long ``valetkey serve`` takes from process spawn to its first
metadata response (what the full benchmark's start-up row measures), the median of N starts.

Options: ``-n N`` (starts per checkout, after one warm-up start that is not counted),
``--workers W``, ``--db fresh`` (default: a new SQLite database each start, created and migrated
then, as in the full benchmark) or ``--db existing`` (a restart on a database already migrated and
configured), ``--before DIR`` (also a checkout of an earlier commit, e.g. ``git worktree add
--detach /tmp/base main`` and its own ``make .venv/.installed``, run with DIR's ``.venv`` python and
``src``; the starts take turns, this checkout and DIR, so that the machine's drift falls on both and
the ratio comes out of one run), ``--bytecode none`` (default: every checkout's ``src/**/__pycache__``
removed first and ``PYTHONDONTWRITEBYTECODE=1``, so each start compiles valetkey's own modules, as
an editable checkout does under that setting) or ``--bytecode compiled`` (each ``src`` compiled
first, as an installed package has it). Either way both checkouts start alike: one with bytecode
left over and one without would compare compilers, not start-ups.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.config import Secrets, valetkey_toml
from bench.lineup import default_hasher, free_port, hash_settings
from bench.procs import cpu_seconds, tree

HERE = Path(__file__).resolve().parent.parent
METADATA = "/.well-known/oauth-authorization-server"
POLL_S = 0.005


@dataclass
class Checkout:
    name: str
    root: Path
    python: str
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @classmethod
    def at(cls, name: str, root: Path) -> Checkout:
        venv = root / ".venv" / "bin" / "python"
        return cls(name, root, str(venv) if venv.exists() else sys.executable)

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.root / "src")}


def answered(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", METADATA)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def start_once(
    co: Checkout, config: Path, workers: int, env: dict[str, str], log: Path
) -> tuple[float, float]:
    """One start: spawn, poll the metadata until it answers, stop. Seconds to the first answer,
    and the CPU seconds the process tree had used by then (less moved by the machine's load)."""
    port = free_port()
    argv = [co.python, "-m", "valetkey", "serve", "--config", str(config), "--port", str(port)]
    argv += ["--workers", str(workers)]
    with log.open("ab") as out:
        began = time.perf_counter()
        proc = subprocess.Popen(
            argv, env=env, cwd=co.root, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = began + 60
            while time.perf_counter() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"{co.name}: valetkey serve exited at start-up; see {log}")
                if answered(port):
                    return time.perf_counter() - began, cpu_seconds(tree(proc.pid))
                time.sleep(POLL_S)
            raise RuntimeError(f"{co.name}: no metadata answer after 60 s; see {log}")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # the session this script started
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)


def remove_database(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    ap.add_argument("-n", type=int, default=10, help="starts per checkout (default 10)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--db", choices=("fresh", "existing"), default="fresh")
    ap.add_argument("--before", type=Path, help="an earlier checkout to compare with")
    ap.add_argument("--bytecode", choices=("none", "compiled"), default="none")
    args = ap.parse_args()

    checkouts = [Checkout.at("this checkout", HERE)]
    if args.before is not None:
        checkouts.append(Checkout.at(f"before ({args.before})", args.before.resolve()))
    for co in checkouts:
        for cache in (co.root / "src").rglob("__pycache__"):
            shutil.rmtree(cache)
        if args.bytecode == "compiled":
            subprocess.run([co.python, "-m", "compileall", "-q", str(co.root / "src")], check=True)
    hasher = default_hasher()
    secrets = Secrets.fresh()
    env_extra = hash_settings(hasher)
    # "none": nothing written, so each start compiles again; "compiled": read what was compiled.
    env_extra["PYTHONDONTWRITEBYTECODE"] = "1" if args.bytecode == "none" else ""
    with tempfile.TemporaryDirectory(prefix="valetkey-startup-") as tmp:
        rundir = Path(tmp)
        configs: dict[str, tuple[Path, Path]] = {}
        for i, co in enumerate(checkouts):
            db = rundir / f"side{i}.db"
            config = rundir / f"side{i}.toml"
            config.write_text(valetkey_toml(secrets, db, hasher.hash(secrets.password)))
            configs[co.name] = (config, db)
        log = rundir / "serve.log"
        for round_ in range(args.n + 1):  # round 0: a warm-up start (caches), not counted
            # Turns alternate in order too, so neither checkout always starts right after the other.
            order = checkouts if round_ % 2 == 0 else checkouts[::-1]
            took: dict[str, float] = {}
            for co in order:
                config, db = configs[co.name]
                if args.db == "fresh":
                    remove_database(db)
                env = {**co.env(), **env_extra}
                took[co.name], cpu = start_once(co, config, args.workers, env, log)
                if round_:
                    co.times.append(took[co.name])
                    co.cpu.append(cpu)
            shown = ", ".join(f"{name} {s:.3f} s" for name, s in took.items())
            print(f"round {round_ or 'warm-up'}: {shown}", file=sys.stderr)
    db_note = "a new database each start" if args.db == "fresh" else "an existing database"
    print(
        f"\nvaletkey serve --workers {args.workers}, {db_note}, {args.n} starts each"
        + (", bytecode compiled" if args.bytecode == "compiled" else ", no bytecode")
        + ": seconds from spawn to the first metadata response"
    )
    print(f"{'checkout':<40} {'median':>7} {'min':>7} {'max':>7} {'CPU s (median)':>15}")
    for co in checkouts:
        t = co.times
        print(
            f"{co.name:<40} {statistics.median(t):7.3f} {min(t):7.3f} {max(t):7.3f}"
            f" {statistics.median(co.cpu):15.3f}"
        )
    if len(checkouts) == 2:
        after, before = (statistics.median(co.times) for co in checkouts)
        cpu_after, cpu_before = (statistics.median(co.cpu) for co in checkouts)
        print(
            f"this checkout / before, medians: {after / before:.2f}x"
            f" (CPU {cpu_after / cpu_before:.2f}x)"
        )
        # Paired: the two starts of a round ran next to each other, in the same moment of the
        # machine's load, so the median of the rounds' ratios drifts less than the medians do.
        now, then = checkouts
        pairs = [a / b for a, b in zip(now.times, then.times, strict=True)]
        cpu_pairs = [a / b for a, b in zip(now.cpu, then.cpu, strict=True) if b]
        print(
            f"this checkout / before, median of the rounds' ratios: {statistics.median(pairs):.2f}x"
            + (f" (CPU {statistics.median(cpu_pairs):.2f}x)" if cpu_pairs else "")
        )


if __name__ == "__main__":
    main()
