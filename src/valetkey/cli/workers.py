"""``valetkey serve --workers N``: worker processes forked from a parent that is ready to serve.

The parent has imported everything, migrated the database and applied the configuration (Argon2
checks of configured users included) before it forks, so a worker only opens its own store
connections and starts serving: a second worker costs milliseconds instead of a fresh interpreter
that imports and applies everything again. All workers accept on one listening socket bound by the
parent. SIGINT/SIGTERM to the parent stops every worker; a worker that dies on its own is replaced.
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


def _child(make_app: Callable[[], Any], common: dict[str, Any], sock: socket.socket) -> None:
    import uvicorn

    code = 0
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)  # uvicorn installs its own when it runs
        config = uvicorn.Config(make_app(), **common)
        uvicorn.Server(config).run(sockets=[sock])
    except BaseException:  # report and leave: never fall back into the parent's code
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_workers(
    make_app: Callable[[], Any], common: dict[str, Any], workers: int, sock: socket.socket
) -> int:
    """Fork ``workers`` processes that serve ``make_app()`` on ``sock``; return an exit status."""
    children: dict[int, float] = {}
    stopping = False

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:
            _child(make_app, common, sock)
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
        sock.close()
    return status
