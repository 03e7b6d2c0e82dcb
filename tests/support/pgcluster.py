"""A private PostgreSQL cluster that a test may stop, crash and restart: never the shared server.

``initdb`` into a temporary directory, a free loopback port, no Unix socket, trust authentication,
no fsync (the data is thrown away). The binaries are found under ``/usr/lib/postgresql/*/bin``
(the newest version); as root, the server runs as the ``postgres`` user (PostgreSQL refuses root).
Without the binaries the tests say so and skip; with ``VALETKEY_REQUIRE_POSTGRES=1`` (CI) they fail.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.servers import free_port


def _bin_dir() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: [int(x) for x in Path(p).parent.name.split(".") if x.isdigit()],
    )
    for path in reversed(found):
        if (Path(path) / "initdb").exists() and (Path(path) / "pg_ctl").exists():
            return Path(path)
    return None


def _unavailable(why: str) -> None:
    if os.environ.get("VALETKEY_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"a private PostgreSQL cluster is required here (CI) but {why}")
    pytest.skip(f"SKIPPED: no private PostgreSQL cluster: {why}")


class PrivateCluster:
    """One cluster on ``127.0.0.1:port``; ``stop``/``start``/``crash`` it at will."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin = bin_dir
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = free_port()
        self._user = "postgres" if os.geteuid() == 0 else None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            user=self._user,
            capture_output=True,
            text=True,
            check=check,
            cwd=self.root,
            timeout=60,
        )

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k '' -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        result = self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "30",
            "start", check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {result.stderr}\n{self.log.read_text()}")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: every session is disconnected, then a clean shutdown; ``immediate``: a crash
        (no shutdown checkpoint; the next start recovers from the WAL)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop", check=False)

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def create_database(self, name: str) -> str:
        engine = sa.create_engine(
            self.url().replace("postgresql://", "postgresql+psycopg://"),
            isolation_level="AUTOCOMMIT",
        )
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def wait_accepting(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self._run(
            "pg_isready", "-h", "127.0.0.1", "-p", str(self.port), check=False
        ).returncode:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the private cluster is not accepting connections:\n{self.log.read_text()}"
                )
            time.sleep(0.1)


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A running private cluster for the block; always stopped and removed afterwards."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        _unavailable("initdb and pg_ctl were not found under /usr/lib/postgresql/*/bin")
        raise AssertionError("unreachable")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("as root, the server must run as a 'postgres' user, and there is none")
    root = Path(tempfile.mkdtemp(prefix="vk-pgcluster-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = PrivateCluster(bin_dir, root)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
