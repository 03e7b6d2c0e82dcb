"""`valetkey serve` and `valetkey demo` as real processes: every start-up failure is one line with
its exit status (3), `--port 0` serves on the port it announces, and signals stop them at any moment
(SIGINT: 130, SIGTERM: 0) with no traceback and no worker left behind."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import BASE_CONFIG, SVC_SECRET
from tests.support.servers import free_port, isolated_env

pytestmark = pytest.mark.e2e

LISTENING = re.compile(r"issuer (\S+), listening on (\S+)")
DEMO_PORTS = ("server", "resource", "client", "inspector")


class Proc:
    """``python -m valetkey ARGS`` in its own session, its output (stdout and stderr) in a file."""

    def __init__(self, args: list[str], workdir: Path, env: dict[str, str] | None = None) -> None:
        self.log = workdir / f"proc-{time.monotonic_ns()}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "valetkey", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **isolated_env(workdir), **(env or {})},
                cwd=workdir,
                start_new_session=True,  # a process group of its own, as a shell gives a job
            )
        self.pid = self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, ready: Callable[[], bool], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            assert self.proc.poll() is None, f"exited {self.proc.returncode}:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {what} after {timeout}s:\n{self.output()}"
            time.sleep(0.02)

    def wait_listening(self) -> tuple[str, str]:
        self.wait_for(lambda: LISTENING.search(self.output()) is not None, "'listening' line")
        match = LISTENING.search(self.output())
        assert match is not None
        return match.group(1), match.group(2)

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait()
            pytest.fail(f"still running after {timeout}s:\n{self.output()}")
        return code, self.output()

    def stop(self) -> None:
        if self.proc.poll() is None:
            with_group = [self.pid, *children(self.pid)]
            os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait()
            for pid in with_group:
                wait_gone(pid)


@contextmanager
def started(args: list[str], workdir: Path, env: dict[str, str] | None = None) -> Iterator[Proc]:
    proc = Proc(args, workdir, env)
    try:
        yield proc
    finally:
        proc.stop()


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in text.split()]


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def config_file(tmp_path: Path, *, database: str | None = None, extra: str = "") -> Path:
    path = tmp_path / "server.toml"
    database = database or f"sqlite:///{tmp_path / 'vk.db'}"
    path.write_text(f'database = "{database}"\n' + BASE_CONFIG + extra)
    return path


def serve(tmp_path: Path, *args: str, **config: str) -> list[str]:
    return ["serve", "--config", str(config_file(tmp_path, **config)), *args]


def run(args: list[str], workdir: Path) -> tuple[int, str]:
    with started(args, workdir) as proc:
        return proc.finish()


def assert_clean(output: str) -> None:
    assert "Traceback" not in output and "Aborted" not in output, output


@contextmanager
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


# -- start-up failures: one line each, exit status 3 ------------------------------------------------


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_taken_port_is_one_line_naming_it(tmp_path: Path, workers: str) -> None:
    with taken_port() as port:
        code, output = run(serve(tmp_path, "--port", str(port), "--workers", workers), tmp_path)
    assert (code, output) == (
        3,
        f"valetkey: cannot listen on 127.0.0.1:{port}: address already in use\n",
    )
    assert not (tmp_path / "vk.db").exists()  # refused before the database was touched


def test_the_demo_names_the_part_whose_port_is_taken(tmp_path: Path) -> None:
    ports = {name: free_port() for name in DEMO_PORTS}
    args = ["demo", "--data-dir", str(tmp_path / "data")]
    args += [f"--{name}-port={port}" for name, port in ports.items()]
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports["client"]))
        holder.listen()
        code, output = run(args, tmp_path)
    assert code == 3
    assert output == (
        f"valetkey: cannot listen on 127.0.0.1:{ports['client']}: address already in use "
        "(the demo's demo client app, --client-port). A demo may already be running: stop it, "
        "or choose free ports with --server-port, --resource-port, --client-port, "
        "--inspector-port\n"
    )


def test_a_missing_database_directory_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "var" / "lib" / "valetkey"
    code, output = run(serve(tmp_path, database=f"sqlite:///{missing}/valetkey.db"), tmp_path)
    assert (code, output) == (
        3,
        f"valetkey: cannot open the SQLite database {missing}/valetkey.db: the directory "
        f"{missing} does not exist (create it, or set database or data_dir to another "
        "directory)\n",
    )
    assert not missing.exists()  # named, not created behind the operator's back


def test_a_data_dir_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    config = tmp_path / "server.toml"
    config.write_text(f'data_dir = "{tmp_path}/a-file/valetkey"\n' + BASE_CONFIG)
    code, output = run(["serve", "--config", str(config)], tmp_path)
    assert code == 3
    assert output.startswith(
        f"valetkey: cannot create the data directory {tmp_path}/a-file/valetkey: "
    ), output
    assert output.count("\n") == 1, output


def test_an_unreachable_postgresql_is_one_line_without_the_password(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there
    url = f"postgresql://valetkey:pg-secret-pw@127.0.0.1:{closed}/valetkey"
    code, output = run(serve(tmp_path, database=url), tmp_path)
    assert (code, output) == (
        3,
        f"valetkey: cannot connect to PostgreSQL at 127.0.0.1:{closed} "
        "(database valetkey, user valetkey): Connection refused\n",
    )


def test_a_bad_config_file_keeps_its_message(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text('access_token_ttl = "soon"\n')
    code, output = run(["serve", "--config", str(config)], tmp_path)
    assert code == 1
    assert output.startswith(f"Error: {config}: invalid configuration:\n  access_token_ttl")


# -- --port 0: the port the kernel chose is announced and used in the issuer ------------------------


@pytest.mark.parametrize("workers", ["1", "2"])
def test_port_zero_announces_the_bound_port_and_clients_use_it(
    tmp_path: Path, workers: str
) -> None:
    with started(serve(tmp_path, "--port", "0", "--workers", workers), tmp_path) as proc:
        issuer, listening = proc.wait_listening()
        port = int(issuer.rsplit(":", 1)[1])
        assert port != 0 and issuer == listening == f"http://127.0.0.1:{port}"
        metadata = httpx.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10)
        assert metadata.json()["issuer"] == issuer
        token_endpoint = metadata.json()["token_endpoint"]
        assert token_endpoint == f"{issuer}/token"
        if workers == "2":
            proc.wait_for(lambda: len(children(proc.pid)) == 2, "two workers")
        with httpx.Client(timeout=10) as http:
            for _ in range(6):  # spread over the workers by the kernel
                answer = http.post(
                    token_endpoint,
                    data={"grant_type": "client_credentials", "scope": "read:files"},
                    auth=("svc", SVC_SECRET),
                )
                assert answer.status_code == 200, answer.text
        proc.proc.send_signal(signal.SIGTERM)
        code, output = proc.finish()
    assert code == 0
    assert_clean(output)


# -- signals: SIGINT 130, SIGTERM 0, at any moment, no traceback, no orphan ------------------------

SLOW_START = "".join(  # Argon2 hashing of each configured password: a start that takes a while
    f'\n[[users]]\nusername = "user{i}"\npassword = "password-number-{i}"\n' for i in range(6)
)


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("how", ["parent", "group"])
def test_ctrl_c_while_serving_exits_130_and_stops_the_workers(
    tmp_path: Path, workers: str, how: str
) -> None:
    """``parent``: ``kill -INT``; ``group``: a terminal's Ctrl-C, which reaches every process."""
    with started(serve(tmp_path, "--port", "0", "--workers", workers), tmp_path) as proc:
        proc.wait_listening()
        if workers == "2":
            proc.wait_for(lambda: len(children(proc.pid)) == 2, "two workers")
        pids = children(proc.pid)
        if how == "parent":
            proc.proc.send_signal(signal.SIGINT)
        else:
            os.killpg(proc.pid, signal.SIGINT)
        code, output = proc.finish()
    assert code == 130
    assert_clean(output)
    assert all(wait_gone(pid) for pid in pids)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_signal_while_migrating_and_applying_the_configuration(
    tmp_path: Path, workers: str, sig: signal.Signals
) -> None:
    db = tmp_path / "vk.db"
    args = serve(tmp_path, "--port", "0", "--workers", workers, extra=SLOW_START)
    with started(args, tmp_path) as proc:
        proc.wait_for(db.exists, "database file", timeout=60)  # the migrations have begun
        proc.proc.send_signal(sig)
        code, output = proc.finish()
    assert code == (130 if sig == signal.SIGINT else 0), output
    assert_clean(output)


def test_ctrl_c_during_the_imports_exits_130(tmp_path: Path) -> None:
    """Python reports each import as it completes (-X importtime): Ctrl-C as soon as the command's
    module is loading (its configuration reader is), before the server's libraries are."""
    env = {"PYTHONPROFILEIMPORTTIME": "1"}
    with started(serve(tmp_path, "--port", "0"), tmp_path, env) as proc:
        proc.wait_for(lambda: "| valetkey.cli.config\n" in proc.output(), "import of the command")
        proc.proc.send_signal(signal.SIGINT)
        code, output = proc.finish()
    assert code == 130, output
    assert_clean(output)
    assert "listening" not in output


def test_sigterm_while_serving_exits_0(tmp_path: Path) -> None:
    with started(serve(tmp_path, "--port", "0"), tmp_path) as proc:
        proc.wait_listening()
        proc.proc.send_signal(signal.SIGTERM)
        code, output = proc.finish()
    assert code == 0
    assert_clean(output)


def test_workers_do_not_outlive_a_killed_parent(tmp_path: Path) -> None:
    with started(serve(tmp_path, "--port", "0", "--workers", "2"), tmp_path) as proc:
        proc.wait_listening()
        proc.wait_for(lambda: len(children(proc.pid)) == 2, "two workers")
        workers = children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # no chance to stop them itself
        proc.proc.wait()
        assert all(wait_gone(pid) for pid in workers), "a worker outlived its parent"


def demo_args(tmp_path: Path) -> tuple[list[str], dict[str, int]]:
    ports = {name: free_port() for name in DEMO_PORTS}
    args = ["demo", "--data-dir", str(tmp_path / "data")]
    return args + [f"--{name}-port={port}" for name, port in ports.items()], ports


@pytest.mark.parametrize("moment", ["starting", "serving"])
def test_ctrl_c_stops_the_demo_with_130(tmp_path: Path, moment: str) -> None:
    args, ports = demo_args(tmp_path)
    with started(args, tmp_path) as proc:
        if moment == "starting":
            proc.wait_for((tmp_path / "data").exists, "data directory")
        else:
            proc.wait_for(lambda: "valetkey demo is running" in proc.output(), "banner")
        proc.proc.send_signal(signal.SIGINT)
        code, output = proc.finish()
    assert code == 130, output
    assert_clean(output)
    for port in ports.values():  # every part let go of its port
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))
