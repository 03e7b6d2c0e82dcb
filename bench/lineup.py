"""The servers under test, each on a free loopback port with the shared configuration."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from argon2 import PasswordHasher

from bench.config import RESOURCE, Secrets, es256_jwk, valetkey_toml
from bench.install import AUTHLIB_VENV, OIDC_DIR
from bench.procs import Server

PEERS_SRC = Path(__file__).parent / "peers"
UVICORN_FAST = [
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--log-level",
    "warning",
    "--no-access-log",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def default_hasher() -> PasswordHasher:
    """valetkey's default Argon2id parameters (OWASP's: 7 MiB, t=5, p=1)."""
    from valetkey.server.passwords import HashParams

    p = HashParams()
    return PasswordHasher(time_cost=p.iterations, memory_cost=p.memory_kib, parallelism=p.parallelism)


def hash_settings(hasher: PasswordHasher) -> dict[str, str]:
    """valetkey configured with ``hasher``'s parameters, so that the stored hash is current and
    is not redone at the first sign-in (W2p keeps its minimal-cost hash)."""
    return {
        "VALETKEY_PASSWORD_MEMORY_KIB": str(hasher.memory_cost),
        "VALETKEY_PASSWORD_ITERATIONS": str(hasher.time_cost),
        "VALETKEY_PASSWORD_PARALLELISM": str(hasher.parallelism),
    }


def valetkey(
    secrets: Secrets,
    rundir: Path,
    workers: int,
    db_name: str = "valetkey.db",
    name: str | None = None,
    hasher: PasswordHasher | None = None,
    env: dict[str, str] | None = None,
    database: str | None = None,
) -> Server:
    """``database``: a database URL (PostgreSQL) in place of the SQLite file ``db_name``."""
    port = free_port()
    db: Path | str = database or rundir / db_name
    cfg = rundir / f"{db_name}.toml"
    hasher = hasher or default_hasher()
    if not cfg.exists():
        cfg.write_text(valetkey_toml(secrets, db, hasher.hash(secrets.password)))
    return Server(
        name=name or f"valetkey {workers}w",
        argv=[
            sys.executable,
            "-m",
            "valetkey",
            "serve",
            "--config",
            str(cfg),
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        base=f"http://127.0.0.1:{port}",
        workers=workers,
        env={**hash_settings(hasher), **(env or {})},
    )


def before(
    secrets: Secrets,
    rundir: Path,
    workers: int,
    source: Path,
    hasher: PasswordHasher | None = None,
    db_name: str = "before.db",
) -> Server:
    """valetkey as it was: ``source`` is a checkout of an earlier commit (e.g. a worktree of the
    branch's base), run from its ``src`` with this virtualenv's packages. Named so that the results
    table compares the current code with it, like a peer (``valetkey CPU/op ÷ before``)."""
    return valetkey(
        secrets,
        rundir,
        workers,
        db_name=db_name,
        name=f"before {workers}w",
        hasher=hasher,
        env={"PYTHONPATH": str(source.resolve() / "src")},
    )


def granian(secrets: Secrets, rundir: Path, workers: int) -> Server:
    """The trial of Granian's RSGI interface in place of uvicorn's protocol (``bench/granian_app``):
    the same app, configuration and SQLite layout as valetkey, needing ``pip install granian``."""
    port = free_port()
    cfg = rundir / "granian.toml"
    if not cfg.exists():
        cfg.write_text(
            valetkey_toml(secrets, rundir / "granian.db", default_hasher().hash(secrets.password))
        )
    base = f"http://127.0.0.1:{port}"
    return Server(
        name=f"granian {workers}w",
        argv=[
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "rsgi",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--no-ws",
            "--log-level",
            "warning",
            "bench.granian_app:make",
        ],
        base=base,
        workers=workers,
        env={"BENCH_CONFIG": str(cfg), "BENCH_ISSUER": base},
        cwd=str(Path(__file__).parent.parent),
    )


def oidc_provider(secrets: Secrets, workers: int) -> Server:
    port = free_port()
    return Server(
        name="oidc-provider 1p" if workers == 1 else f"oidc-provider cluster {workers}p",
        argv=["node", "server.mjs", str(port), str(workers)],
        cwd=str(OIDC_DIR),
        base=f"http://127.0.0.1:{port}",
        workers=workers,
        ready_path="/.well-known/openid-configuration",
        env={
            "BENCH_WEB_SECRET": secrets.web,
            "BENCH_SERVICE_SECRET": secrets.service,
            "BENCH_COOKIE_KEY": secrets.cookie_key,
            "NODE_ENV": "production",
        },
    )


def authlib(secrets: Secrets, rundir: Path, workers: int = 2) -> Server:
    port = free_port()
    db = rundir / "authlib.db"
    base = f"http://127.0.0.1:{port}"
    env = {
        "BENCH_DB": f"sqlite:///{db}",
        "BENCH_ISSUER": base,
        "BENCH_JWK": es256_jwk(),
        "BENCH_COOKIE_KEY": secrets.cookie_key,
        "AUTHLIB_INSECURE_TRANSPORT": "1",
    }
    if not db.exists():
        subprocess.run(
            [
                str(AUTHLIB_VENV / "bin" / "python"),
                "-c",
                "import sys, authlib_server as a; a.seed(sys.argv[1], dict(zip(('web','service','password'), sys.argv[2:])))",
                env["BENCH_DB"],
                secrets.web,
                secrets.service,
                secrets.password,
            ],
            cwd=PEERS_SRC,
            env={**env, "PATH": "/usr/bin:/bin"},
            check=True,
        )
    return Server(
        name=f"Authlib {workers}w",
        argv=[
            str(AUTHLIB_VENV / "bin" / "gunicorn"),
            "-w",
            str(workers),
            "-k",
            "gthread",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "authlib_server:create_app()",
        ],
        cwd=str(PEERS_SRC),
        base=base,
        workers=workers,
        env=env,
    )


RESOURCE_APP_NAMES = {"valetkey": "valetkey.resource", "plain": "joserfc Starlette route"}


def resource_app(
    kind: str, issuer: str, name: str | None = None, env: dict[str, str] | None = None
) -> Server:
    """``kind``: a factory of bench/peers/resource_apps.py (``valetkey``, ``plain``, ``dpop``)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    return Server(
        name=name or RESOURCE_APP_NAMES[kind],
        argv=[
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"bench.peers.resource_apps:{kind}_app",
            "--port",
            str(port),
            *UVICORN_FAST,
        ],
        base=base,
        ready_path="/ready",
        env={
            "BENCH_ISSUER": issuer,
            "BENCH_RESOURCE": RESOURCE,
            "BENCH_PUBLIC_URL": base,
            **(env or {}),
        },
        cwd=str(Path(__file__).parent.parent),
    )
