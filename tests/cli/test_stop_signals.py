"""Signals while `valetkey serve` and `valetkey demo` start: the first one is remembered and acted on
at the next safe point (between start-up stages), never raised inside the stage that runs (the
database's migrations, SQLAlchemy's connection close); a second one stops at once; a server that
takes over the signals stops at once on one that arrived before it did."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import uvicorn
from click.testing import CliRunner

import valetkey.cli.demo as demo_module
import valetkey.cli.serve as serve_module
from tests.conftest import BASE_CONFIG
from tests.support.servers import free_port
from valetkey.cli import main
from valetkey.cli.startstop import bind_socket
from valetkey.cli.stoppable import StoppableServer
from valetkey.cli.stopsignals import StopSignals
from valetkey.cli.workers import run_workers

STATUS = {signal.SIGINT: 130, signal.SIGTERM: 0}


@pytest.fixture(autouse=True)
def handlers_put_back() -> Iterator[None]:
    """Each command puts the handlers it found back when it ends."""
    before = {sig: signal.getsignal(sig) for sig in STATUS}
    yield
    assert {sig: signal.getsignal(sig) for sig in STATUS} == before
    assert StopSignals.active is None


def signalled_during(
    real: Callable[..., Any], signals: list[signal.Signals], done: list[str]
) -> Callable[..., Any]:
    """``real``, with ``signals`` sent to this process as it begins."""

    def stage(*args: Any, **kwargs: Any) -> Any:
        for sig in signals:
            os.kill(os.getpid(), sig)
        result = real(*args, **kwargs)
        done.append(real.__name__)
        return result

    return stage


def serve_args(tmp_path: Path) -> list[str]:
    config = tmp_path / "valetkey.toml"
    config.write_text(f'database = "sqlite:///{tmp_path / "vk.db"}"\n' + BASE_CONFIG)
    return ["serve", "--config", str(config), "--port", "0"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_database_is_prepared_stops_serve_once_it_is_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sig: signal.Signals
) -> None:
    done: list[str] = []
    monkeypatch.setattr(serve_module, "_start", signalled_during(serve_module._start, [sig], done))
    result = CliRunner().invoke(main, serve_args(tmp_path))
    assert result.exit_code == STATUS[sig], result.output
    assert done == ["_start"]  # migrated and configured, not interrupted halfway
    assert result.output == ""  # never announced, nothing else said


def test_a_second_signal_stops_serve_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done: list[str] = []
    twice = [signal.SIGINT, signal.SIGINT]
    monkeypatch.setattr(serve_module, "_start", signalled_during(serve_module._start, twice, done))
    result = CliRunner().invoke(main, serve_args(tmp_path))
    assert result.exit_code == 130, result.output
    assert done == []
    assert not (tmp_path / "vk.db").exists()  # stopped before the database was opened


def test_a_signal_while_the_demo_is_built_stops_it_before_any_part_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done: list[str] = []
    build = signalled_during(demo_module.build_stack, [signal.SIGINT], done)
    monkeypatch.setattr(demo_module, "build_stack", build)
    ports = [free_port() for _ in range(4)]
    args = ["demo", "--data-dir", str(tmp_path / "data")]
    args += [
        f"--{part}-port={port}"
        for part, port in zip(("server", "resource", "client", "inspector"), ports, strict=True)
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 130, result.output
    assert done == ["build_stack"]
    assert result.output == ""  # no banner
    for port in ports:  # every port let go
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))


@pytest.fixture
def pending(monkeypatch: pytest.MonkeyPatch) -> StopSignals:
    """The process's stop signals, as ``serve`` installs them, with a SIGTERM already received."""
    stops = StopSignals()
    stops.handle(signal.SIGTERM, None)
    monkeypatch.setattr(StopSignals, "active", stops)
    yield stops
    monkeypatch.undo()


async def _app(scope: Any, receive: Any, send: Any) -> None:  # never called
    raise AssertionError("no request expected")


def test_a_server_stops_at_once_on_a_signal_that_arrived_before_it_took_over(
    pending: StopSignals,
) -> None:
    server = StoppableServer(uvicorn.Config(_app))
    with server.capture_signals():
        assert signal.getsignal(signal.SIGINT) == server.handle_exit
        assert server.should_exit and server.stopped_by == signal.SIGTERM


def test_workers_are_not_started_after_a_signal_that_arrived_before(pending: StopSignals) -> None:
    made: list[str] = []
    probe = bind_socket("127.0.0.1", 0)
    status = run_workers(lambda: made.append("app"), {"host": "127.0.0.1"}, 2, probe)
    assert (status, made) == (0, [])
    assert probe.fileno() == -1  # closed


def test_the_first_signal_is_remembered_and_acted_on_at_a_safe_point() -> None:
    stops = StopSignals().install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)  # handled here, where nothing can be interrupted
        assert stops.signum == signal.SIGTERM
        with pytest.raises(SystemExit) as stopped:
            stops.safe_point()
        assert stopped.value.code == 0
        with pytest.raises(SystemExit) as at_once:  # a second signal: at once, the first's status
            os.kill(os.getpid(), signal.SIGINT)
        assert at_once.value.code == 0
    finally:
        stops.release()


def test_a_signal_while_the_start_fails_wins_over_the_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(settings: Any) -> Any:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while PostgreSQL does not answer
        raise click.ClickException("cannot connect to PostgreSQL")

    monkeypatch.setattr(serve_module, "_start", unreachable)
    result = CliRunner().invoke(main, serve_args(tmp_path))
    assert (result.exit_code, result.output) == (130, "")
