"""``python -m bench``: install the peers, run every workload on every server, print the table.

Options: ``--quick`` (short runs, to check the harness), ``--only
vk,peers,pg,haproxy,w1,w2,w2s,w3,w4,w5,w6,scale`` (servers and workloads to run; W5 and W6 are DPoP's),
``--scale 1000,100000,1000000`` (stored grants for the scale runs),
``--no-write`` (leave bench/RESULTS.md alone), ``--before DIR`` (also run the valetkey checked out in
DIR, e.g. ``git worktree add /tmp/base main``, side by side: a change's before/after ratios),
``--workers 1,2`` (the process counts to run), ``w2p`` in ``--only`` (W2p without W2), ``--granian`` (also valetkey's runtime on Granian's
RSGI interface, ``bench/granian_app.py``; needs ``pip install granian``). PostgreSQL: ``pg`` in
``--only`` adds valetkey on PostgreSQL (127.0.0.1:5432, database ``valetkey_bench`` recreated per
run) next to valetkey on SQLite, with PostgreSQL's CPU apart; ``haproxy`` adds two 1-worker
instances on one PostgreSQL database behind HAProxy (W1), in the pass with the most workers; e.g.
``--only vk,pg,haproxy,w1,w2s --no-write``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from bench import install, lineup, postgres, report
from bench.config import OPAQUE_RESOURCE, SCOPE_CC, Secrets
from bench.dpop import ProofFeed, bound_token, token_endpoint
from bench.flows import Target
from bench.haproxy import Balanced
from bench.measure import Load, Result, Steps, flow_steps, interleave, wrk_steps
from bench.procs import Server, rss_mb
from bench.results_md import MINIMAL_HASHER, W2P, Context, argon2_cost, targets, write_results
from bench.seed import copy_database, seed_grants
from valetkey.client.dpop import DPoPKey

W1_BODY = f"grant_type=client_credentials&scope={SCOPE_CC}"
W1_PARAMS = {"grant_type": "client_credentials", "scope": SCOPE_CC}


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@contextlib.contextmanager
def running(server: Server, ctx: Context, count_startup: bool = True) -> Iterator[Server]:
    install.say(f"starting {server.name}")
    server.start(ctx.rundir)
    time.sleep(0.5)
    # The scale runs restart the same server, and W2p's is a second valetkey: counted once.
    if count_startup and "grants" not in server.name:
        ctx.startup.append((server.name, server.startup_s, rss_mb(server.pids())))
    try:
        yield server
    finally:
        server.stop()


def cc_token(server: Server, s: Secrets, token_path: str, resource: str | None = None) -> str:
    data = {"grant_type": "client_credentials", "scope": SCOPE_CC}
    if resource:
        data["resource"] = resource
    r = httpx.post(
        server.base + token_path,
        data=data,
        headers={"Authorization": basic("bench-service", s.service)},
        timeout=30,
    )
    r.raise_for_status()
    return str(r.json()["access_token"])


WORKLOADS = ("w1", "w2", "w2s", "w3", "w5")
W5 = "W5 client credentials + DPoP proof"
W6 = "W6 DPoP-protected resource"
W6_DPOP = "valetkey.resource, DPoP token"
W6_BEARER = "same route, Bearer token"
W6_BEARER_UNCACHED = "same route, Bearer token, no token cache"
Factory = Callable[[], Steps]


class Plan:
    def __init__(self, ctx: Context, sections: set[str]) -> None:
        self.ctx, self.sections, self.results = ctx, sections, ctx.results
        self.haproxy_workers = 2  # the pass the HAProxy row runs in: the one with most workers

    def want(self, section: str) -> bool:
        return section in self.sections

    def record(self, result: Result) -> None:
        self.results.append(result)
        r = result
        side = "".join(f", {n} {r.side_mean(n):.3f}" for n in r.side_names())
        install.say(
            f"  {r.workload} {r.server}: {r.mean('throughput'):,.0f} ops/s, "
            f"{r.mean('cpu_ms_per_op'):.3f} CPU ms/op{side}, errors {sum(x.errors for x in r.runs)}"
            + (f" ({r.note})" if r.note else "")
        )

    def fail(self, what: str, exc: Exception) -> None:
        install.say(f"  FAILED {what}: {type(exc).__name__}: {exc}")
        self.ctx.failures.append(f"{what}: {type(exc).__name__}: {exc}")

    def side_by_side(self, label: str, factories: list[tuple[str, Factory]]) -> None:
        """One workload on several running servers, run by run in turn (see measure.interleave)."""
        if not factories:
            return
        install.say(f"{label}: " + ", ".join(name for name, _ in factories) + ", run by run")
        steps: list[Steps] = []
        names: list[str] = []
        for name, make in factories:
            try:
                steps.append(make())
                names.append(name)
            except Exception as exc:
                self.fail(f"{label} {name}", exc)
        for result in interleave(steps, lambda i, exc: self.fail(f"{label} {names[i]}", exc)):
            if result is not None:
                self.record(result)

    def workloads(
        self,
        server: Server,
        target: Target,
        w3_path: str | None,
        w3_resource: str | None = None,
        flows: tuple[str, ...] = ("w2", "w2s"),
        dpop: bool = False,
    ) -> dict[str, Factory]:
        """This server's workloads (those the run wants), each ready to start. ``dpop``: the
        server takes DPoP proofs at its token endpoint (W5)."""
        s, load = self.ctx.secrets, self.ctx.load
        made: dict[str, Factory] = {}
        if self.want("w1"):
            made["w1"] = lambda: wrk_steps(
                server,
                "W1 client credentials",
                load,
                target.token_path,
                method="POST",
                auth=basic("bench-service", s.service),
                body=W1_BODY,
            )
        if self.want("w2") and "w2" in flows:
            made["w2"] = lambda: flow_steps(
                server, "W2 code+PKCE, login+consent", load, target, s.password, session=False
            )
        if self.want("w2s") and "w2s" in flows:
            made["w2s"] = lambda: flow_steps(
                server,
                "W2s code+PKCE, session+remembered consent",
                load,
                target,
                s.password,
                session=True,
            )
        if self.want("w3") and w3_path:

            def w3() -> Steps:
                token = cc_token(server, s, target.token_path, w3_resource)
                return wrk_steps(
                    server,
                    "W3 introspection",
                    load,
                    w3_path,
                    method="POST",
                    auth=basic("bench-service", s.service),
                    body=f"token={token}",
                )

            made["w3"] = w3
        if self.want("w5") and dpop:

            def w5() -> Steps:
                url = token_endpoint(server.base)  # the proofs' htu: the URL it publishes
                path = self.ctx.rundir / f"w5-{server.name.replace(' ', '_')}.proofs"
                feed = ProofFeed(DPoPKey.generate(), "POST", url, path)
                return wrk_steps(
                    server,
                    W5,
                    load,
                    target.token_path,
                    proofs=feed,
                    method="POST",
                    auth=basic("bench-service", s.service),
                    body=W1_BODY,
                )

            made["w5"] = w5
        return made

    def w4(self, auth_server: Server) -> None:
        """valetkey.resource and a plain joserfc route, both running, measured run by run."""
        token = cc_token(auth_server, self.ctx.secrets, "/token")
        apps = [lineup.resource_app(kind, auth_server.base) for kind in ("valetkey", "plain")]
        with contextlib.ExitStack() as stack:
            started = [stack.enter_context(running(rs, self.ctx)) for rs in apps]
            self.side_by_side(
                "W4",
                [
                    (
                        rs.name,
                        lambda rs=rs: wrk_steps(
                            rs,
                            "W4 protected resource (local JWT)",
                            self.ctx.load,
                            "/profile",
                            auth=f"Bearer {token}",
                        ),
                    )
                    for rs in started
                ],
            )

    def w6(self, auth_server: Server) -> None:
        """A DPoP-bound token with a fresh proof per request against the same route with a
        Bearer token: processes of one app (``valetkey.resource`` accepting DPoP), side by side.
        The token is validated once and remembered; each DPoP request also has its proof checked
        (signature, claims, ``ath``, the key binding, single use). A third process remembers no
        token, so that each Bearer request verifies the token's signature: one signature checked
        per request, as the DPoP requests check one (the proof's)."""
        s = self.ctx.secrets
        key = DPoPKey.generate()
        bearer = cc_token(auth_server, s, "/token")
        bound = bound_token(key, auth_server.base, basic("bench-service", s.service), W1_PARAMS)
        apps = [
            lineup.resource_app("dpop", auth_server.base, W6_DPOP),
            lineup.resource_app("dpop", auth_server.base, W6_BEARER),
            lineup.resource_app(
                "dpop", auth_server.base, W6_BEARER_UNCACHED, {"BENCH_TOKEN_CACHE": "0"}
            ),
        ]
        with contextlib.ExitStack() as stack:
            dpop_rs, *bearer_rs = (stack.enter_context(running(rs, self.ctx)) for rs in apps)
            url = dpop_rs.base + "/profile"
            feed = ProofFeed(key, "GET", url, self.ctx.rundir / "w6.proofs", access_token=bound)
            load = self.ctx.load
            made: list[tuple[str, Factory]] = [
                (
                    dpop_rs.name,
                    lambda: wrk_steps(
                        dpop_rs, W6, load, "/profile", proofs=feed, auth=f"DPoP {bound}"
                    ),
                )
            ]
            made += [
                (
                    rs.name,
                    lambda rs=rs: wrk_steps(rs, W6, load, "/profile", auth=f"Bearer {bearer}"),
                )
                for rs in bearer_rs
            ]
            self.side_by_side("W6", made)


def _has_route(server: Server, path: str) -> bool:
    return httpx.post(server.base + path, data={}, timeout=10).status_code != 404


def w2p_factory(plan: Plan, server: Server) -> Factory:
    target = Target(server.name, server.base, "/authorize")
    return lambda: flow_steps(
        server, W2P, plan.ctx.load, target, plan.ctx.secrets.password, session=False
    )


PG_DATABASE = "valetkey_bench"
HA_DATABASE = "valetkey_bench_ha"


def on_postgresql(plan: Plan, workers: int, stack: contextlib.ExitStack) -> Server | None:
    """valetkey with ``workers`` on a fresh PostgreSQL database, its backends metered."""
    try:
        url = postgres.recreate(PG_DATABASE)
    except Exception as exc:
        plan.fail(f"valetkey {workers}w on PostgreSQL (no database at {postgres.ADMIN_URL})", exc)
        return None
    server = lineup.valetkey(
        plan.ctx.secrets,
        plan.ctx.rundir,
        workers,
        db_name=f"pg-{workers}w",
        name=f"valetkey {workers}w on PostgreSQL",
        database=url,
    )
    meter = postgres.BackendCPU(PG_DATABASE)
    stack.callback(meter.close)
    server.meters["PostgreSQL"] = meter
    return server


def behind_haproxy(plan: Plan, stack: contextlib.ExitStack, instances: int = 2) -> Server | None:
    """``instances`` valetkey serve processes (1 worker each) on one PostgreSQL database, behind
    HAProxy; None, said why, when HAProxy or PostgreSQL is not there."""
    haproxy = install.ensure_haproxy()
    if haproxy is None:
        plan.fail("HAProxy row", RuntimeError("HAProxy not installed; row skipped"))
        return None
    try:
        url = postgres.recreate(HA_DATABASE)
    except Exception as exc:
        plan.fail(f"HAProxy row (no database at {postgres.ADMIN_URL})", exc)
        return None
    ctx = plan.ctx
    members = [
        lineup.valetkey(
            ctx.secrets, ctx.rundir, 1, db_name="ha", name=f"valetkey HA member {i}", database=url
        )
        for i in range(instances)
    ]
    port = lineup.free_port()
    server = Balanced(
        name=f"valetkey {instances}x1w via HAProxy on PostgreSQL",
        argv=[],
        base=f"http://127.0.0.1:{port}",
        members=members,
        haproxy=haproxy,
        port=port,
    )
    meter = postgres.BackendCPU(HA_DATABASE)
    stack.callback(meter.close)
    server.meters["PostgreSQL"] = meter
    return server


def run_side_by_side(plan: Plan, workers: int) -> None:
    """valetkey and its peers with the same number of processes, all started, every workload
    measured on each in turn: valetkey N workers (and its W2p twin), oidc-provider (1 process or
    an N-process cluster) and, with 2, Authlib on gunicorn."""
    ctx = plan.ctx
    with contextlib.ExitStack() as stack:
        per_server: list[tuple[str, dict[str, Factory]]] = []

        def start(server: Server, count_startup: bool = True) -> Server | None:
            try:
                return stack.enter_context(running(server, ctx, count_startup))
            except Exception as exc:
                plan.fail(server.name, exc)
                return None

        vk = None
        if plan.want("vk"):
            vk = start(lineup.valetkey(ctx.secrets, ctx.rundir, workers))
            if vk is not None:
                w3 = "/introspect" if _has_route(vk, "/introspect") else None
                target = Target(vk.name, vk.base, "/authorize")
                per_server.append((vk.name, plan.workloads(vk, target, w3, dpop=True)))
            if plan.want("w2") or plan.want("w2p"):  # W2p: W2, the hash at Argon2id's least cost
                twin = lineup.valetkey(
                    ctx.secrets,
                    ctx.rundir,
                    workers,
                    db_name="w2p.db",
                    name=f"valetkey {workers}w",
                    hasher=MINIMAL_HASHER,
                )
                minimal = start(twin, count_startup=False)
                if minimal is not None:
                    per_server.append((f"{minimal.name} (W2p)", {"w2": w2p_factory(plan, minimal)}))
        if plan.want("pg"):
            made = on_postgresql(plan, workers, stack)
            pg = start(made) if made is not None else None
            if pg is not None:
                target = Target(pg.name, pg.base, "/authorize")
                per_server.append(
                    (pg.name, plan.workloads(pg, target, "/introspect", flows=("w2s",)))
                )
        if plan.want("haproxy") and workers == plan.haproxy_workers:
            made = behind_haproxy(plan, stack)
            ha = start(made) if made is not None else None
            if ha is not None:
                target = Target(ha.name, ha.base, "/authorize")
                per_server.append((ha.name, plan.workloads(ha, target, None, flows=())))
        if ctx.granian:
            trial = start(lineup.granian(ctx.secrets, ctx.rundir, workers))
            if trial is not None:
                target = Target(trial.name, trial.base, "/authorize")
                per_server.append((trial.name, plan.workloads(trial, target, "/introspect")))
        if ctx.before is not None:
            old = start(lineup.before(ctx.secrets, ctx.rundir, workers, ctx.before))
            if old is not None:
                w3 = "/introspect"
                target = Target(old.name, old.base, "/authorize")
                per_server.append((old.name, plan.workloads(old, target, w3, dpop=True)))
            if plan.want("w2") or plan.want("w2p"):
                twin = lineup.before(
                    ctx.secrets, ctx.rundir, workers, ctx.before, MINIMAL_HASHER, "before-w2p.db"
                )
                minimal = start(twin, count_startup=False)
                if minimal is not None:
                    per_server.append((f"{minimal.name} (W2p)", {"w2": w2p_factory(plan, minimal)}))
        if plan.want("peers"):
            op = start(lineup.oidc_provider(ctx.secrets, workers))
            if op is not None:
                # Cluster workers keep tokens in their own memory: introspection only on one process.
                w3 = "/token/introspection" if workers == 1 else None
                target = Target(op.name, op.base, "/auth", resource=True)
                per_server.append(
                    (
                        op.name,
                        plan.workloads(op, target, w3, w3_resource=OPAQUE_RESOURCE, dpop=True),
                    )
                )
            if workers == 2:
                al = start(lineup.authlib(ctx.secrets, ctx.rundir))
                if al is not None:
                    target = Target(al.name, al.base, "/authorize")
                    per_server.append((al.name, plan.workloads(al, target, "/introspect")))
        for key in WORKLOADS:
            plan.side_by_side(
                f"{key.upper()} ({workers} process{'es' if workers > 1 else ''})",
                [(name, made[key]) for name, made in per_server if key in made],
            )
        if workers == 1 and vk is not None and plan.want("w4"):
            plan.w4(vk)
        if workers == 1 and vk is not None and plan.want("w6"):
            plan.w6(vk)


def run_scale(plan: Plan, sizes: list[int]) -> None:
    """W1 and W2s on one valetkey per size, all running at once and measured run by run, so that
    the machine's drift over the minutes falls on every size alike. Each size's database is the
    previous one copied and topped up."""
    ctx = plan.ctx
    servers: list[Server] = []
    previous: Path | None = None
    for n in sorted(sizes):
        db_name = f"scale-{n}.db"
        path = ctx.rundir / db_name
        vk = lineup.valetkey(ctx.secrets, ctx.rundir, 1, db_name=db_name, name=_scale_name(n))
        try:
            if previous is None:
                with running(vk, ctx):  # the first start creates the schema
                    pass
            else:
                copy_database(previous, path)
            took = seed_grants(path, n)
            install.say(f"seeded {n:,} grants in {took:.1f}s")
        except Exception as exc:
            plan.fail(f"scale {n:,}", exc)
            continue
        servers.append(vk)
        previous = path
    with contextlib.ExitStack() as stack:
        made: list[tuple[str, dict[str, Factory]]] = []
        for vk in servers:
            try:
                stack.enter_context(running(vk, ctx))
            except Exception as exc:
                plan.fail(f"scale {vk.name}", exc)
                continue
            saved = plan.sections
            plan.sections = {"w1", "w2s"}
            try:
                made.append(
                    (vk.name, plan.workloads(vk, Target(vk.name, vk.base, "/authorize"), None))
                )
            finally:
                plan.sections = saved
        for key in ("w1", "w2s"):
            plan.side_by_side(f"scale: {key.upper()}", [(name, m[key]) for name, m in made])
    names = {vk.name for vk in servers}
    for r in plan.results:
        if r.server in names:
            r.workload = f"scale: {r.workload.split()[0]}"


def _scale_name(n: int) -> str:
    return f"valetkey 1w, {n:,} grants"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="short runs to check the harness")
    ap.add_argument("--only", default="vk,peers,pg,haproxy,w1,w2,w2s,w3,w4,w5,w6,scale")
    ap.add_argument("--scale", default="1000,100000,1000000")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--before", type=Path, default=None)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--granian", action="store_true", help="also valetkey on Granian (RSGI)")
    args = ap.parse_args(argv)
    began = time.perf_counter()
    install.ensure_wrk()
    # valetkey as installed: pip compiles a package's bytecode when it installs it, while this
    # checkout is an editable install that (with PYTHONDONTWRITEBYTECODE set) would compile every
    # module again at each start. Both checkouts alike (docs/bench.md, bench/startup.py).
    for root in (Path(__file__).resolve().parent.parent, args.before):
        if root is not None:
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", str(root / "src")], check=True
            )
    versions: dict[str, str] = {}
    if "peers" in args.only.split(","):  # a valetkey-only run (e.g. --before) installs no peer
        versions = {
            "oidc-provider": install.ensure_oidc_provider(),
            "node": install.node_version(),
            **install.ensure_authlib(),
        }
    rundir = install.PEERS / "run"
    shutil.rmtree(rundir, ignore_errors=True)
    rundir.mkdir(parents=True)
    load = Load(seconds=2, warmup=1, runs=2, slices=2) if args.quick else Load()
    ctx = Context(Secrets.fresh(), rundir, load, versions, before=args.before)
    ctx.granian = args.granian
    ctx.argon2 = argon2_cost()
    ctx.argon2_peer = argon2_cost(valetkeys=False)
    ctx.argon2_minimal = argon2_cost(rounds=256, hasher=MINIMAL_HASHER)
    plan = Plan(ctx, set(args.only.split(",")))
    passes = [int(w) for w in args.workers.split(",") if w]
    plan.haproxy_workers = max(passes, default=1)
    for workers in passes:
        run_side_by_side(plan, workers)
    if plan.want("scale"):
        run_scale(plan, [int(x) for x in args.scale.split(",") if x])
    ctx.elapsed = time.perf_counter() - began
    print(report.table(ctx.results))
    print(targets(ctx))
    (install.PEERS / "results.json").write_text(
        json.dumps([r.as_dict() for r in ctx.results], indent=1)
    )
    if not args.no_write:
        write_results(ctx, Path(__file__).parent / "RESULTS.md", quick=args.quick)
    install.say(
        f"done in {ctx.elapsed / 60:.1f} min"
        + (f"; {len(ctx.failures)} problem(s)" if ctx.failures else "")
    )


if __name__ == "__main__":
    main()
