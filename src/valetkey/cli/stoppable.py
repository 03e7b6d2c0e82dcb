"""uvicorn's server, stopped by signals without re-raising them.

uvicorn handles SIGINT/SIGTERM with a graceful shutdown, then raises the same signal again: SIGTERM
then kills the process (status -15 instead of a clean 0) and SIGINT surfaces as a KeyboardInterrupt.
This server remembers the first signal instead, and its caller turns it into the exit status
(``stopsignals.exit_status``). Its handlers take over from ``stopsignals``' (a signal that arrived
before stops it at once) and give them back when it has stopped.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from valetkey.cli.stopsignals import exit_status, pending_signal


class StoppableServer(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM),
    ) -> None:
        super().__init__(config)
        self.signals = signals
        self.stopped_by: int | None = None
        self.on_started: Callable[[], None] | None = None  # called once it listens

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit and self.on_started is not None:
            self.on_started()

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.stopped_by is None:
            self.stopped_by = sig
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in self.signals}
        early = pending_signal()  # arrived while it started: it stops at once
        if early in self.signals:
            self.handle_exit(early, None)
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def serve_on(
    app: Any, options: dict[str, Any], sock: socket.socket, on_ready: Callable[[], None]
) -> int:
    """Serve ``app`` on the bound socket ``sock`` (``on_ready`` once it listens) until a signal
    stops it; the exit status."""
    server = StoppableServer(uvicorn.Config(app, **options))
    server.on_started = on_ready
    server.run(sockets=[sock])
    return exit_status(server.stopped_by)
