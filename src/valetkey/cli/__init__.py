"""The ``valetkey`` command: the composition root that wires every part together.

Subcommands are imported when they run (or when help lists them), not all at start: ``valetkey
serve`` then loads neither the client library and its HTTP stack nor the admin commands' tables,
which keeps its start-up time and resident memory down.
"""

from __future__ import annotations

import signal


def _interrupted(_signum: int, _frame: object) -> None:
    raise SystemExit(130)  # EXIT_INTERRUPTED, before it can be imported


# Ctrl-C while this module imports click ends the process with 130, without a traceback; the handler
# is put back at the end of the module, and from then on the group turns KeyboardInterrupt into 130.
try:
    _outer = signal.signal(signal.SIGINT, _interrupted)
except ValueError:  # imported outside the main thread: signals are not ours to handle
    _outer = _interrupted
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
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command: Any = getattr(importlib.import_module(module), attr)
        return command  # type: ignore[no-any-return]

    def invoke(self, ctx: click.Context) -> Any:
        """Ctrl-C at any moment of any command (its imports included) ends with status 130, no
        traceback and no click "Aborted!"; commands that handle it themselves say more first."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="valetkey")
def main() -> None:
    """valetkey: a strict, friendly OAuth 2.0 system (server, resource server, client, inspector)."""


if _outer is not _interrupted:
    signal.signal(signal.SIGINT, _outer if _outer is not None else signal.default_int_handler)

__all__ = ["main"]
