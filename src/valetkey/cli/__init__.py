"""The ``valetkey`` command: the composition root that wires every part together."""

from __future__ import annotations

import click

from valetkey import __version__
from valetkey.cli.admin import client_group
from valetkey.cli.admin_users import grants_group, user_group
from valetkey.cli.call import call
from valetkey.cli.demo import demo
from valetkey.cli.keys import keys_group
from valetkey.cli.resource import resource
from valetkey.cli.serve import serve
from valetkey.cli.token import token


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="valetkey")
def main() -> None:
    """valetkey: a strict, friendly OAuth 2.0 system (server, resource server, client, inspector)."""


main.add_command(serve)
main.add_command(demo)
main.add_command(client_group)
main.add_command(user_group)
main.add_command(grants_group)
main.add_command(keys_group)
main.add_command(resource)
main.add_command(token)
main.add_command(call)

__all__ = ["main"]
