"""The ``valetkey`` command: the composition root that wires every part together.

Subcommands are imported when they run (or when help lists them), not all at start: ``valetkey
serve`` then loads neither the client library and its HTTP stack nor the admin commands' tables,
which keeps its start-up time and resident memory down.
"""

from __future__ import annotations

import contextlib
import signal
import sys

# Commands that serve until stopped: SIGTERM is a requested stop for them (status 0), and they
# handle both signals themselves once they run (valetkey.cli.startstop); the other commands keep
# Python's KeyboardInterrupt for Ctrl-C and the default action of SIGTERM.
SERVERS = ("serve", "demo")
_STATUS: dict[int, int] = {signal.SIGINT: 130, signal.SIGTERM: 0}  # startstop's, not imported yet


def _quit(signum: int, _frame: object) -> None:
    raise SystemExit(_STATUS[signum])


class _QuitAtOnce:
    """Until the command runs (imports, click, the command's own module): a signal ends the process
    at once with its status and no traceback; nothing is open yet. Raising SystemExit rather than
    KeyboardInterrupt matters: CPython kills a process whose KeyboardInterrupt escaped an ``exec``
    of generated code (dataclasses and namedtuples, while modules import) with SIGINT at exit."""

    def __init__(self, command: list[str]) -> None:
        server = bool(command) and command[0] in SERVERS
        self.signals = (signal.SIGINT, signal.SIGTERM) if server else (signal.SIGINT,)
        self.previous: dict[int, Any] = {}

    def install(self) -> _QuitAtOnce:
        with contextlib.suppress(ValueError):  # not in the main thread: not ours to handle
            self.previous = {sig: signal.signal(sig, _quit) for sig in self.signals}
        return self

    def release(self) -> None:
        """The previous handlers back."""
        for sig, handler in self.previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


_importing = _QuitAtOnce(sys.argv[1:2]).install()  # released at the end of the module

import importlib  # noqa: E402
from typing import Any  # noqa: E402

import click  # noqa: E402

from valetkey import __version__  # noqa: E402
from valetkey.cli.startstop import EXIT_INTERRUPTED  # noqa: E402

# command name -> "module:attribute"
COMMANDS = {
    "serve": "valetkey.cli.serve:serve",
    "demo": "valetkey.cli.demo:demo",
    "client": "valetkey.cli.admin:client_group",
    "user": "valetkey.cli.admin_users:user_group",
    "grants": "valetkey.cli.admin_users:grants_group",
    "keys": "valetkey.cli.keys:keys_group",
    "profile": "valetkey.cli.profile:profile_group",
    "resource": "valetkey.cli.resource:resource",
    "token": "valetkey.cli.token:token",
    "call": "valetkey.cli.call:call",
    "lab": "valetkey.cli.lab:lab",
    "audit": "valetkey.cli.audit:audit_command",
}


class LazyGroup(click.Group):
    _quitting: _QuitAtOnce | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``valetkey ...`` as a process (in-process callers use ``main``): see :class:`_QuitAtOnce`.
        Its handlers stay once the command has run, while the process exits."""
        self._quitting = _QuitAtOnce(sys.argv[1:2]).install()
        return super().__call__(*args, **kwargs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command: Any = getattr(importlib.import_module(module), attr)
        return command  # type: ignore[no-any-return]

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        resolved = super().resolve_command(ctx, args)
        if self._quitting is not None and resolved[0] not in SERVERS:
            self._quitting.release()  # its module is imported: Python's KeyboardInterrupt from now on
        return resolved

    def invoke(self, ctx: click.Context) -> Any:
        """Ctrl-C at any moment of any other command ends with status 130, no traceback and no
        click "Aborted!"; commands that handle it themselves say more first."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="valetkey")
def main() -> None:
    """valetkey: a strict, friendly OAuth 2.0 system (server, resource server, client, inspector)."""


_importing.release()

__all__ = ["main"]
