"""The ``valetkey`` command: the composition root that wires every part together.

Subcommands are imported when they run (or when help lists them), not all at start: ``valetkey
serve`` then loads neither the client library and its HTTP stack nor the admin commands' tables,
which keeps its start-up time and resident memory down.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from valetkey import __version__

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


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="valetkey")
def main() -> None:
    """valetkey: a strict, friendly OAuth 2.0 system (server, resource server, client, inspector)."""


__all__ = ["main"]
