"""``python -m bench``: install the peers, run every workload on every server, print the table.

Options: ``--quick`` (short runs, to check the harness), ``--only vk,peers,w1,w2,w2s,w3,w4,scale``
(servers and workloads to run), ``--scale 1000,100000,1000000`` (stored grants for the scale runs),
``--no-write`` (leave bench/RESULTS.md alone).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from bench import install, lineup, report
from bench.config import OPAQUE_RESOURCE, SCOPE_CC, Secrets
from bench.flows import Target
from bench.measure import Load, Result, flow_workload, wrk_workload
from bench.procs import Server, rss_mb
from bench.results_md import MINIMAL_HASHER, W2P, Context, argon2_cost, write_results
from bench.seed import seed_grants

W1_BODY = f"grant_type=client_credentials&scope={SCOPE_CC}"


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


class Plan:
    def __init__(self, ctx: Context, sections: set[str]) -> None:
        self.ctx, self.sections, self.results = ctx, sections, ctx.results

    def want(self, section: str) -> bool:
        return section in self.sections

    def add(self, make: Callable[[], Result]) -> None:
        try:
            result = make()
        except Exception as exc:  # one broken workload must not lose the rest of the run
            install.say(f"  FAILED: {type(exc).__name__}: {exc}")
            self.ctx.failures.append(f"{type(exc).__name__}: {exc}")
            return
        self.results.append(result)
        r = result
        install.say(
            f"  {r.workload} {r.server}: {r.mean('throughput'):,.0f} ops/s, "
            f"{r.mean('cpu_ms_per_op'):.3f} CPU ms/op, errors {sum(x.errors for x in r.runs)}"
            + (f" ({r.note})" if r.note else "")
        )

    def common(
        self,
        server: Server,
        target: Target,
        w3_path: str | None,
        w3_resource: str | None = None,
        flows: tuple[str, ...] = ("w2", "w2s"),
    ) -> None:
        s, load = self.ctx.secrets, self.ctx.load
        if self.want("w1"):
            self.add(
                lambda: wrk_workload(
                    server,
                    "W1 client credentials",
                    load,
                    target.token_path,
                    method="POST",
                    auth=basic("bench-service", s.service),
                    body=W1_BODY,
                )
            )
        if self.want("w2") and "w2" in flows:
            self.add(
                lambda: flow_workload(
                    server, "W2 code+PKCE, login+consent", load, target, s.password, session=False
                )
            )
        if self.want("w2s") and "w2s" in flows:
            self.add(
                lambda: flow_workload(
                    server,
                    "W2s code+PKCE, session+remembered consent",
                    load,
                    target,
                    s.password,
                    session=True,
                )
            )
        if self.want("w3") and w3_path:
            token = cc_token(server, s, target.token_path, w3_resource)
            self.add(
                lambda: wrk_workload(
                    server,
                    "W3 introspection",
                    load,
                    w3_path,
                    method="POST",
                    auth=basic("bench-service", s.service),
                    body=f"token={token}",
                )
            )

    def w4(self, auth_server: Server) -> None:
        token = cc_token(auth_server, self.ctx.secrets, "/token")
        for kind in ("valetkey", "plain"):
            if kind == "valetkey" and not _has_valetkey_resource():
                self.ctx.failures.append("W4 valetkey.resource: not available on this branch")
                continue
            rs = lineup.resource_app(kind, auth_server.base)
            with running(rs, self.ctx):
                self.add(
                    lambda rs=rs: wrk_workload(
                        rs,
                        "W4 protected resource (local JWT)",
                        self.ctx.load,
                        "/profile",
                        auth=f"Bearer {token}",
                    )
                )


def _has_valetkey_resource() -> bool:
    try:
        from bench.peers.resource_apps import valetkey_app  # noqa: F401
    except ImportError:
        return False
    return True


def _has_route(server: Server, path: str) -> bool:
    return httpx.post(server.base + path, data={}, timeout=10).status_code != 404


def guarded(ctx: Context, what: str, body: Callable[[], None]) -> None:
    """A server that fails to start is reported and skipped; the rest of the run goes on."""
    try:
        body()
    except Exception as exc:
        install.say(f"  FAILED {what}: {type(exc).__name__}: {exc}")
        ctx.failures.append(f"{what}: {type(exc).__name__}: {exc}")


def run_valetkey(plan: Plan) -> None:
    ctx = plan.ctx

    def one(workers: int) -> None:
        with running(lineup.valetkey(ctx.secrets, ctx.rundir, workers), ctx) as vk:
            target = Target(vk.name, vk.base, "/authorize")
            w3 = "/introspect" if _has_route(vk, "/introspect") else None
            if w3 is None and plan.want("w3"):
                ctx.failures.append("W3 valetkey: no /introspect on this branch yet")
            plan.common(vk, target, w3)
            if workers == 1 and plan.want("w4"):
                plan.w4(vk)
        if plan.want("w2"):  # W2p: the same flow, the user's hash at the smallest Argon2id cost
            minimal = lineup.valetkey(
                ctx.secrets,
                ctx.rundir,
                workers,
                db_name="w2p.db",
                name=f"valetkey {workers}w",
                hasher=MINIMAL_HASHER,
            )
            with running(minimal, ctx, count_startup=False) as vk:
                target = Target(vk.name, vk.base, "/authorize")
                plan.add(
                    lambda: flow_workload(
                        vk, W2P, ctx.load, target, ctx.secrets.password, session=False
                    )
                )

    for workers in (1, 2):
        guarded(ctx, f"valetkey {workers}w", lambda w=workers: one(w))


def run_peers(plan: Plan) -> None:
    ctx = plan.ctx

    def oidc(workers: int) -> None:
        with running(lineup.oidc_provider(ctx.secrets, workers), ctx) as op:
            target = Target(op.name, op.base, "/auth", resource=True)
            # Cluster workers keep tokens in their own memory: introspection only on one process.
            w3 = "/token/introspection" if workers == 1 else None
            plan.common(op, target, w3, w3_resource=OPAQUE_RESOURCE)

    def authlib() -> None:
        with running(lineup.authlib(ctx.secrets, ctx.rundir), ctx) as al:
            plan.common(al, Target(al.name, al.base, "/authorize"), "/introspect")

    for workers in (1, 2):
        guarded(ctx, f"oidc-provider {workers}p", lambda w=workers: oidc(w))
    guarded(ctx, "Authlib", authlib)


def run_scale(plan: Plan, sizes: list[int]) -> None:
    ctx = plan.ctx

    def one(n: int) -> None:
        name = f"valetkey 1w, {n:,} grants"
        vk = lineup.valetkey(ctx.secrets, ctx.rundir, 1, db_name="scale.db", name=name)
        with running(vk, ctx):  # the first start creates the schema
            pass
        took = seed_grants(ctx.rundir / "scale.db", n)
        install.say(f"seeded {n:,} grants in {took:.1f}s")
        with running(vk, ctx):
            target = Target(vk.name, vk.base, "/authorize")
            saved = plan.sections
            plan.sections = {"w1", "w2s"}
            try:
                plan.common(vk, target, None)
            finally:
                plan.sections = saved
        for r in plan.results:
            if r.server == name:
                r.workload = f"scale: {r.workload.split()[0]}"

    for n in sizes:
        guarded(ctx, f"scale {n:,}", lambda n=n: one(n))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="short runs to check the harness")
    ap.add_argument("--only", default="vk,peers,w1,w2,w2s,w3,w4,scale")
    ap.add_argument("--scale", default="1000,100000,1000000")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    began = time.perf_counter()
    install.ensure_wrk()
    versions = {
        "oidc-provider": install.ensure_oidc_provider(),
        "node": install.node_version(),
        **install.ensure_authlib(),
    }
    rundir = install.PEERS / "run"
    shutil.rmtree(rundir, ignore_errors=True)
    rundir.mkdir(parents=True)
    load = Load(seconds=2, warmup=1, runs=2) if args.quick else Load()
    ctx = Context(Secrets.fresh(), rundir, load, versions)
    ctx.argon2 = argon2_cost()
    ctx.argon2_minimal = argon2_cost(rounds=256, hasher=MINIMAL_HASHER)
    plan = Plan(ctx, set(args.only.split(",")))
    if plan.want("vk"):
        run_valetkey(plan)
    if plan.want("peers"):
        run_peers(plan)
    if plan.want("scale"):
        run_scale(plan, [int(x) for x in args.scale.split(",") if x])
    ctx.elapsed = time.perf_counter() - began
    print(report.table(ctx.results))
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
