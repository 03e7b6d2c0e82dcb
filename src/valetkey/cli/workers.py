"""``valetkey serve --workers N``: worker processes forked from a parent that is ready to serve.

The parent has imported everything, migrated the database and applied the configuration (Argon2
checks of configured users included) before it forks, so a worker only opens its own store
connections and starts serving: a second worker costs milliseconds instead of a fresh interpreter
that imports and applies everything again. Each worker listens on its own SO_REUSEPORT socket, so
the kernel balances connections between them. The parent announces the server once every worker
listens. SIGINT/SIGTERM to the parent stops every worker (Ctrl-C reaches them through the parent; a
worker whose parent dies, even by SIGKILL, stops too); a worker that dies on its own is replaced.
"""

from __future__ import annotations

import contextlib
import functools
import os
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from valetkey.cli.startstop import EXIT_CANNOT_START, CannotStart, bind_socket, die_with_parent
from valetkey.cli.stopsignals import STOP_SIGNALS, StopSignals, exit_status, pending_signal

CRASH_LOOP_SECONDS = 2.0  # a worker failing this soon after its start is not restarted


def listening_socket(host: str, port: int) -> socket.socket:
    """Each worker binds its own socket to the port with SO_REUSEPORT: the kernel then spreads new
    connections over the workers. (On one shared socket, the worker that happens to be awake
    accepts a burst of connections, and one worker could end up serving all of them.)"""
    return bind_socket(host, port, reuse_port=True)


def settle_heap() -> None:
    """Move everything built at start-up (modules, configuration, the app) out of the garbage
    collector's view: its full collections, a few each minute under load, then walk only what the
    requests left behind instead of the ~100,000 objects of the imported libraries. Forked workers
    also keep sharing those pages with the parent (no reference-count writes from the collector)."""
    import gc

    gc.freeze()  # no collection first: it would cost start-up time to reclaim next to nothing


def _child(
    make_app: Callable[[], Any],
    common: dict[str, Any],
    sock: socket.socket | None,
    parent: int,
    notify: int | None,
) -> None:
    import uvicorn

    from valetkey.cli.stoppable import StoppableServer
    from valetkey.server.bootstrap import DatabaseOpenError

    code = 0
    try:
        # Ctrl-C reaches the whole process group: the parent hears it and stops the workers with
        # SIGTERM, which the worker's server handles once it runs (until then it ends the worker).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        StopSignals.active = None  # the parent's (nothing pending: it forks only then)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        die_with_parent(parent)
        if sock is None:
            sock = listening_socket(common["host"], common["port"])
        config = uvicorn.Config(make_app(), **common)
        settle_heap()
        server = StoppableServer(config, signals=(signal.SIGTERM,))
        if notify is not None:
            server.on_started = functools.partial(_notify, notify)
        server.run(sockets=[sock])
    except (CannotStart, DatabaseOpenError) as exc:
        print(f"valetkey: worker {os.getpid()}: {exc}", file=sys.stderr)
        code = EXIT_CANNOT_START
    except BaseException:  # report and leave: never fall back into the parent's code
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _notify(fd: int) -> None:
    """Tell the parent this worker listens (it may have stopped reading: never mind then)."""
    with contextlib.suppress(OSError):
        os.write(fd, b"1")
        os.close(fd)


class _Workers:
    """The parent's side: fork the workers, replace one that dies, stop them all on a signal."""

    def __init__(
        self,
        make_app: Callable[[], Any],
        common: dict[str, Any],
        shared: socket.socket | None,
        count: int,
        probe: socket.socket,
    ) -> None:
        self.make_app, self.common, self.shared, self.probe = make_app, common, shared, probe
        self.children: dict[int, float] = {}
        self.stopping = False
        self.stopped_by: int | None = None
        self.status = 0
        self.parent = os.getpid()
        self.starting = count  # workers not yet listening
        self.ready_r, self.ready_w = os.pipe()

    def spawn(self) -> None:
        # Blocked across fork: a signal arriving now is the parent's to handle, after the fork.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                os.close(self.ready_r)
                if self.shared is None:
                    self.probe.close()  # the parent's hold on the port
                notify = self.ready_w if self.starting else None
                _child(self.make_app, self.common, self.shared, self.parent, notify)
            self.children[pid] = time.monotonic()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def stop(self) -> None:
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def on_signal(self, signum: int, _frame: object) -> None:
        if self.stopped_by is None:
            self.stopped_by = signum
        self.stop()

    def next_exit(self, on_ready: Callable[[], None]) -> tuple[int, int]:
        """The next worker to exit (pid 0: none yet); while they start, counts those listening
        and calls ``on_ready`` once all of them do."""
        if not self.starting or self.stopping:
            return os.wait()
        if select.select([self.ready_r], [], [], 0.05)[0]:
            self.starting = max(0, self.starting - len(os.read(self.ready_r, 64)))
            if not self.starting:
                on_ready()
        return os.waitpid(-1, os.WNOHANG)

    def exited(self, pid: int, wait_status: int) -> None:
        started = self.children.pop(pid, None)
        if started is None or self.stopping:
            return
        code = os.waitstatus_to_exitcode(wait_status)
        if code > 0 and time.monotonic() - started < CRASH_LOOP_SECONDS:
            # It failed on its own while starting (a killed worker has a negative code).
            print(f"valetkey: worker {pid} failed at start-up; stopping", file=sys.stderr)
            self.status = code if code == EXIT_CANNOT_START else 1
            self.stop()
            return
        print(f"valetkey: worker {pid} exited (code {code}); starting another", file=sys.stderr)
        self.spawn()


def run_workers(
    make_app: Callable[[], Any],
    common: dict[str, Any],
    workers: int,
    probe: socket.socket,
    on_ready: Callable[[], None] = lambda: None,
) -> int:
    """Fork ``workers`` processes that serve ``make_app()``, call ``on_ready`` once all of them
    listen, and return the exit status (``startstop``: 130 after SIGINT, 0 after SIGTERM, 3 if a
    worker failed to start).

    ``probe`` is the parent's socket, bound (not listening) to the configured address: it proved
    the port free and, for ``--port 0``, chose it. Where the platform has SO_REUSEPORT, each worker
    binds its own socket to that port, and the probe stays bound until the end so that the kernel
    cannot hand the port to anyone else; elsewhere the workers share the probe.
    """
    shared: socket.socket | None = probe
    if hasattr(socket, "SO_REUSEPORT"):
        common = {**common, "port": probe.getsockname()[1]}
        shared = None
    pool = _Workers(make_app, common, shared, workers, probe)
    previous = {s: signal.signal(s, pool.on_signal) for s in STOP_SIGNALS}
    early = pending_signal()  # arrived while the parent started: start no worker
    if early is not None:
        pool.on_signal(early, None)
    try:
        for _ in range(workers):
            if not pool.stopping:
                pool.spawn()
        while pool.children:
            try:
                pid, wait_status = pool.next_exit(on_ready)
            except ChildProcessError:
                break
            if pid:
                pool.exited(pid, wait_status)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        probe.close()
        os.close(pool.ready_r)
        os.close(pool.ready_w)
    return pool.status or exit_status(pool.stopped_by)
