"""SIGINT and SIGTERM while a ``valetkey`` process starts and stops: remembered, acted on at safe
points, never raised where they land.

An exception raised by a signal handler lands anywhere: in the middle of library code (SQLAlchemy
logs a traceback when one interrupts a connection's close), in a weakref callback or a ``__del__``
(where Python prints "Exception ignored" and carries on: the signal is lost), or inside an ``exec``
of generated code (dataclasses, namedtuples), after which CPython takes a KeyboardInterrupt for an
unhandled Ctrl-C and kills the process with SIGINT once it has exited (status -2, nothing printed).
So the first signal is only recorded, and the process stops at its next :meth:`StopSignals.safe_point`
(the end of the imports, each start-up stage's end, the end of the command); a second signal stops
it at once. While a server serves, its own handlers take over (a signal that arrived before they
did stops it at once: :func:`pending_signal`) and give these back when it has stopped.

Light on purpose (no click, no threading): ``valetkey.cli`` installs it before anything else.
"""

from __future__ import annotations

import signal

TYPE_CHECKING = False  # typing itself is not imported: it costs more than all of this module
if TYPE_CHECKING:
    from typing import Any

# Documented in the README ("Starting and stopping"); scripts and service managers can rely on them.
EXIT_STOPPED = 0  # stopped by SIGTERM (a requested stop: systemd, docker stop, kill)
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT): 128 + 2, as a shell reports a process ended by it
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_status(signum: int | None) -> int:
    """The exit status after a graceful stop on ``signum`` (None: not stopped by a signal)."""
    return EXIT_INTERRUPTED if signum == signal.SIGINT else EXIT_STOPPED


class StopSignals:
    active: StopSignals | None = None  # the process's, from the command line to the command's end

    def __init__(self, signals: tuple[int, ...] = STOP_SIGNALS) -> None:
        self.signals = signals
        self.signum: int | None = None  # the first one received
        self.previous: dict[int, Any] = {}

    def handle(self, signum: int, _frame: object) -> None:
        if self.signum is None:
            self.signum = signum
            return
        raise SystemExit(exit_status(self.signum))  # a second signal: at once

    def install(self) -> StopSignals:
        """Handle ``signals`` (outside the main thread: nothing, signals are not ours to handle)."""
        try:
            self.previous = {sig: signal.signal(sig, self.handle) for sig in self.signals}
        except ValueError:
            return self
        StopSignals.active = self
        return self

    def installed(self) -> bool:
        return all(signal.getsignal(sig) == self.handle for sig in self.signals)

    def release(self) -> None:
        """The previous handlers back (once only)."""
        previous, self.previous = self.previous, {}
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        if StopSignals.active is self:
            StopSignals.active = None

    def safe_point(self) -> None:
        """Stop here (``SystemExit`` with the signal's status) if a stop signal has arrived."""
        if self.signum is not None:
            raise SystemExit(exit_status(self.signum))


def safe_point() -> None:
    """:meth:`StopSignals.safe_point` of the process's stop signals, if they are handled."""
    if StopSignals.active is not None:
        StopSignals.active.safe_point()


def pending_signal() -> int | None:
    """The stop signal that has arrived, if any: a server that installs its own handlers stops at
    once on it, as if it had arrived a moment later."""
    stops = StopSignals.active
    return stops.signum if stops is not None else None
