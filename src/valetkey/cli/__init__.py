"""The ``valetkey`` command: the composition root that wires every part together.

Subcommands are imported when they run (or when help lists them), not all at start: ``valetkey
serve`` then loads neither the client library and its HTTP stack nor the admin commands' tables,
which keeps its start-up time and resident memory down.
"""

from __future__ import annotations

import signal
import sys

from valetkey.cli.stopsignals import STOP_SIGNALS, StopSignals, exit_status

# Commands that serve until stopped: SIGTERM is a requested stop for them (status 0), and their
# start-up and stop are handled by the process's StopSignals (valetkey.cli.stopsignals) from the
# command line to their end; the other commands get Python's KeyboardInterrupt for Ctrl-C back
# once their module is imported, and SIGTERM's default action.
SERVERS = ("serve", "demo")


def _stop_signals(argv: list[str]) -> StopSignals:
    """Until the command runs (imports, click, the command's own module), a signal is remembered
    and acted on at the next safe point: the end of this module's imports, the command's import."""
    server = bool(argv) and argv[0] in SERVERS
    return StopSignals(STOP_SIGNALS if server else (signal.SIGINT,)).install()


_importing = _stop_signals(sys.argv[1:2])  # released at the end of the module
import importlib  # noqa: E402
from typing import Any  # noqa: E402

import click  # noqa: E402

from valetkey import __version__  # noqa: E402

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
    _starting: StopSignals | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``valetkey ...`` as a process (in-process callers use ``main``): see :func:`_stop_signals`.
        For ``serve`` and ``demo`` they stay until the process exits."""
        self._starting = _stop_signals(sys.argv[1:2])
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
        resolved = super().resolve_command(ctx, args)  # the command's module is imported
        if self._starting is not None:
            self._starting.safe_point()
            if resolved[0] not in SERVERS:
                self._starting.release()  # Python's KeyboardInterrupt from now on
        return resolved

    def invoke(self, ctx: click.Context) -> Any:
        """Ctrl-C at any moment of any other command ends with status 130, no traceback and no
        click "Aborted!"; commands that handle it themselves say more first."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise click.exceptions.Exit(exit_status(signal.SIGINT)) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="valetkey")
def main() -> None:
    """valetkey: a strict, friendly OAuth 2.0 system (server, resource server, client, inspector)."""


_importing.release()
_importing.safe_point()

__all__ = ["main"]
