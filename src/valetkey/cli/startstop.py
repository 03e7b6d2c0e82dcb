"""How ``valetkey serve`` and ``valetkey demo`` start and stop.

Listening sockets are bound before anything is announced, so a taken port is one line that names
the address; start-up failures are one line each (``valetkey: ...``); signals end the process with
the documented statuses (here and in ``valetkey.cli.stopsignals``), never with a traceback. Light
on purpose: no uvicorn here (see ``valetkey.cli.stoppable``).
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
from typing import IO, Any

import click

from valetkey.cli.stopsignals import EXIT_STOPPED, StopSignals

# Documented in the README ("Starting and stopping"), with stopsignals' 0 (SIGTERM) and 130 (SIGINT).
EXIT_CANNOT_START = 3  # cannot listen on the address, or cannot open the database (uvicorn's too)

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


def stop_at_safe_points() -> None:
    """The first step of ``serve`` and ``demo``: the process's :class:`StopSignals`, installed by
    the ``valetkey`` command line, go on handling SIGINT and SIGTERM (a signal received while the
    command imported included); an in-process caller gets its own, put back when the command ends."""
    stops = StopSignals.active
    if stops is not None and stops.installed():
        return
    stops = StopSignals().install()
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(stops.release)


def die_with_parent(parent: int) -> None:
    """In a forked worker: SIGTERM when the parent dies, even by SIGKILL (Linux's
    PR_SET_PDEATHSIG), so no worker outlives it; a parent already gone ends the worker now."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:
        os._exit(EXIT_STOPPED)
