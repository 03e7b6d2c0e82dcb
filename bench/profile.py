"""Profile valetkey (1 worker) under one workload with py-spy and print where the time goes.

    python -m bench.profile w1|w3|w2s|w5|w6 [seconds] [pg]

w5: client credentials with a DPoP proof per request; w6: the DPoP-protected resource (the
``valetkey.resource`` app of W6 is profiled, not the authorization server). ``pg``: valetkey on
PostgreSQL (127.0.0.1:5432, the bench's database recreated) instead of SQLite.

Needs py-spy (``pip install py-spy``; run as root or with ptrace allowed). Prints the functions
with the most samples, inclusive and self, from py-spy's collapsed stacks.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from bench import install, lineup, postgres
from bench.__main__ import PG_DATABASE, W1_BODY, W1_PARAMS, basic, cc_token
from bench.config import Secrets
from bench.dpop import ProofFeed, bound_token, token_endpoint
from bench.flows import Driver, Target
from bench.measure import wrk_once
from bench.procs import Server
from valetkey.client.dpop import DPoPKey


def _dpop_load(
    kind: str, server: Server, s: Secrets, seconds: float, ready: threading.Event
) -> None:
    """W5 or W6's requests, each with a new proof; all the proofs made before sampling starts."""
    key = DPoPKey.generate()
    auth = basic("bench-service", s.service)
    path = install.PEERS / "profile" / f"{kind}.proofs"
    if kind == "w5":
        feed = ProofFeed(key, "POST", token_endpoint(server.base), path)
        req = {"method": "POST", "auth": auth, "body": W1_BODY}
    else:
        issuer = server.env["BENCH_ISSUER"]
        token = bound_token(key, issuer, auth, W1_PARAMS)
        feed = ProofFeed(key, "GET", server.base + "/profile", path, access_token=token)
        req = {"auth": f"DPoP {token}"}
    feed.batch(seconds)
    ready.set()
    wrk_once(server, "/token" if kind == "w5" else "/profile", seconds, 16, proofs=feed, **req)


def _load(kind: str, server, s: Secrets, seconds: float, ready: threading.Event) -> None:  # type: ignore[no-untyped-def]
    if kind in ("w5", "w6"):
        _dpop_load(kind, server, s, seconds, ready)
        return
    if kind != "w2s":
        ready.set()
    if kind == "w1":
        wrk_once(
            server,
            "/token",
            seconds,
            16,
            method="POST",
            auth=basic("bench-service", s.service),
            body=W1_BODY,
        )
    elif kind == "w3":
        token = cc_token(server, s, "/token")
        wrk_once(
            server,
            "/introspect",
            seconds,
            16,
            method="POST",
            auth=basic("bench-service", s.service),
            body=f"token={token}",
        )
    else:

        async def go() -> None:
            d = Driver(Target("vk", server.base, "/authorize"), s.password, users=8, session=True)
            await d.setup()  # logins (Argon2) happen before sampling starts
            ready.set()
            await d.run(seconds)
            await d.close()

        asyncio.run(go())


def summarize(raw: Path, top: int = 25) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = stack.split(";")
        for f in set(frames):
            inclusive[f] += n
        own[frames[-1]] += n
    out = [f"{total} samples", "", "inclusive:"]
    out += [f"  {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(top)]
    out += ["", "self:"]
    out += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    return "\n".join(out)


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "w1"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    rundir = install.PEERS / "profile"
    shutil.rmtree(rundir, ignore_errors=True)
    rundir.mkdir(parents=True)
    s = Secrets.fresh()
    raw = rundir / f"{kind}.txt"
    database = postgres.recreate(PG_DATABASE) if "pg" in sys.argv[3:] else None
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(lineup.valetkey(s, rundir, 1, database=database).start(rundir))
        if kind == "w6":  # the resource app is the one profiled
            app = lineup.resource_app("dpop", server.base, "valetkey.resource, DPoP token")
            server = stack.enter_context(app.start(rundir))
        assert server.proc is not None
        ready = threading.Event()
        loader = threading.Thread(target=_load, args=(kind, server, s, seconds + 1, ready))
        loader.start()
        ready.wait(timeout=120)
        recorder = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(server.proc.pid),
                "--format",
                "raw",
                "--rate",
                "200",
                "--duration",
                str(int(seconds)),
                "--nonblocking",
                "--output",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        recorder.wait(timeout=seconds + 60)
        loader.join()
    print(summarize(raw))


if __name__ == "__main__":
    main()
