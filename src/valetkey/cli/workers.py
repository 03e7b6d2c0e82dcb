"""``valetkey serve --workers N``: worker processes forked from a parent that is ready to serve.

The parent has imported everything, migrated the database and applied the configuration (Argon2
checks of configured users included) before it forks, so a worker only opens its own store
connections and starts serving: a second worker costs milliseconds instead of a fresh interpreter
that imports and applies everything again. Each worker listens on its own SO_REUSEPORT socket, so
the kernel balances connections between them. SIGINT/SIGTERM to the parent stops every worker; a worker that dies on its own is replaced.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

CRASH_LOOP_SECONDS = 2.0  # a worker failing this soon after its start is not restarted


def listening_socket(host: str, port: int) -> socket.socket:
    """Each worker binds its own socket to the port with SO_REUSEPORT: the kernel then spreads new
    connections over the workers. (On one shared socket, the worker that happens to be awake
    accepts a burst of connections, and one worker could end up serving all of them.)"""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def settle_heap() -> None:
    """Move everything built at start-up (modules, configuration, the app) out of the garbage
    collector's view: its full collections, a few each minute under load, then walk only what the
    requests left behind instead of the ~100,000 objects of the imported libraries. Forked workers
    also keep sharing those pages with the parent (no reference-count writes from the collector)."""
    import gc

    gc.freeze()  # no collection first: it would cost start-up time to reclaim next to nothing


def _child(make_app: Callable[[], Any], common: dict[str, Any], sock: socket.socket | None) -> None:
    import uvicorn

    code = 0
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)  # uvicorn installs its own when it runs
        if sock is None:
            sock = listening_socket(common["host"], common["port"])
        config = uvicorn.Config(make_app(), **common)
        settle_heap()
        uvicorn.Server(config).run(sockets=[sock])
    except BaseException:  # report and leave: never fall back into the parent's code
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_workers(
    make_app: Callable[[], Any], common: dict[str, Any], workers: int, probe: socket.socket
) -> int:
    """Fork ``workers`` processes that serve ``make_app()``; return an exit status.

    ``probe`` is the parent's socket, bound (not listening) to the configured address: it proved
    the port free (a port that another server holds fails there, with a clear error). Where the
    platform has SO_REUSEPORT, it is closed and each worker binds its own socket to the same port;
    elsewhere the workers share it.
    """
    children: dict[int, float] = {}
    stopping = False
    shared: socket.socket | None = probe
    if hasattr(socket, "SO_REUSEPORT"):
        common = {**common, "port": probe.getsockname()[1]}  # --port 0: the one the probe got
        probe.close()
        shared = None

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:
            _child(make_app, common, shared)
        children[pid] = time.monotonic()

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        for _ in range(workers):
            spawn()
        while children:
            try:
                pid, wait_status = os.wait()
            except ChildProcessError:
                break
            started = children.pop(pid, None)
            if started is None or stopping:
                continue
            code = os.waitstatus_to_exitcode(wait_status)
            if code > 0 and time.monotonic() - started < CRASH_LOOP_SECONDS:
                # It failed on its own while starting (a killed worker has a negative code).
                print(f"valetkey: worker {pid} failed at start-up; stopping", file=sys.stderr)
                status = 1
                stop(signal.SIGTERM, None)
                continue
            print(
                f"valetkey: worker {pid} exited (code {code}); starting another",
                file=sys.stderr,
            )
            spawn()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if shared is not None:
            shared.close()
    return status
