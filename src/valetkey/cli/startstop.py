"""How ``valetkey serve`` and ``valetkey demo`` start and stop.

Listening sockets are bound before anything is announced, so a taken port is one line that names
the address; start-up failures are one line each (``valetkey: ...``); signals end the process with
the documented statuses below, never with a traceback. Light on purpose: no uvicorn here (see
``valetkey.cli.stoppable``), so that the signal handlers are in place before the heavy imports.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
import threading
from typing import IO, Any

import click

# Documented in the README ("Starting and stopping"); scripts and service managers can rely on them.
EXIT_STOPPED = 0  # stopped by SIGTERM (a requested stop: systemd, docker stop, kill)
EXIT_CANNOT_START = 3  # cannot listen on the address, or cannot open the database (uvicorn's too)
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT): 128 + 2, as a shell reports a process ended by it

_REASONS = {
    errno.EADDRINUSE: "address already in use",
    errno.EADDRNOTAVAIL: "address not available (not an address of this machine)",
    errno.EACCES: "permission denied (ports below 1024 need privileges)",
}


class CannotStart(click.ClickException):
    """A start-up failure, shown as one line: ``valetkey: <message>``."""

    exit_code = EXIT_CANNOT_START

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"valetkey: {self.message}", file=file or sys.stderr)


def address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bind_error(host: str, port: int, exc: OSError) -> str:
    """``cannot listen on 127.0.0.1:8000: address already in use``"""
    if isinstance(exc, socket.gaierror):
        reason = f"unknown host ({exc.strerror})"
    else:
        reason = _REASONS.get(exc.errno or 0) or str(exc.strerror or exc).lower()
    return f"cannot listen on {address(host, port)}: {reason}"


def bind_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A TCP socket bound (not yet listening) to ``host:port``, as uvicorn binds its own; port 0
    takes a free port (``getsockname()`` tells which). Raises :class:`CannotStart`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CannotStart(bind_error(host, port, exc)) from None
    sock.set_inheritable(True)
    return sock


def exit_status(signum: int | None) -> int:
    """The exit status after a graceful stop on ``signum`` (None: not stopped by a signal)."""
    return EXIT_INTERRUPTED if signum == signal.SIGINT else EXIT_STOPPED


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """SIGINT and SIGTERM while ``serve`` or ``demo`` starts and stops (a server's own handler
    takes over while it serves). The first signal is remembered, not raised where it lands: an
    exception raised at an arbitrary point surfaces in the middle of library code (SQLAlchemy logs a
    traceback when one interrupts a connection's close), and CPython marks a process whose
    KeyboardInterrupt escaped an ``exec`` of generated code (a dataclass's ``__init__``, say) as
    ended by Ctrl-C, and kills it with SIGINT once it has exited: status -2, nothing printed.
    The command stops at its next :func:`safe_point`, between start-up stages and once what it
    opened is closed; a second signal stops it at once."""

    active: StopSignals | None = None  # the process's, while a server command runs

    def __init__(self) -> None:
        self.signum: int | None = None

    def handle(self, signum: int, _frame: object) -> None:
        if self.signum is None:
            self.signum = signum
            return
        raise SystemExit(exit_status(self.signum))


def stop_at_safe_points() -> None:
    """The first step of ``serve`` and ``demo`` (see :class:`StopSignals`); the previous handlers
    are put back when the command ends (it matters to in-process callers)."""
    if threading.current_thread() is not threading.main_thread():
        return  # signals are not ours to handle
    stops = StopSignals()
    previous = {sig: signal.signal(sig, stops.handle) for sig in STOP_SIGNALS}
    StopSignals.active = stops

    def restore() -> None:
        StopSignals.active = None
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)

    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(restore)


def safe_point() -> None:
    """Stop here (``SystemExit`` with the signal's status) if a stop signal has arrived."""
    signum = pending_signal()
    if signum is not None:
        raise SystemExit(exit_status(signum))


def pending_signal() -> int | None:
    """The stop signal that has arrived, if any: a server that installs its own handler stops at
    once on it, as if it had arrived a moment later."""
    stops = StopSignals.active
    return stops.signum if stops is not None else None


def die_with_parent(parent: int) -> None:
    """In a forked worker: SIGTERM when the parent dies, even by SIGKILL (Linux's
    PR_SET_PDEATHSIG), so no worker outlives it; a parent already gone ends the worker now."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:
        os._exit(EXIT_STOPPED)
