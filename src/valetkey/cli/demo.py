"""``valetkey demo``: the whole system on SQLite with the demo configuration, on loopback."""

from __future__ import annotations

import asyncio
import contextlib

import click

from valetkey.cli.demo_stack import DEFAULT_PORTS, build_stack, serve_stack


@click.command()
@click.option(
    "--data-dir",
    default=".data/demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the demo's SQLite database lives.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--server-port",
    default=DEFAULT_PORTS["server"],
    show_default=True,
    type=click.IntRange(1, 65535),
)
@click.option(
    "--resource-port",
    default=DEFAULT_PORTS["resource"],
    show_default=True,
    type=click.IntRange(1, 65535),
)
@click.option(
    "--client-port",
    default=DEFAULT_PORTS["client"],
    show_default=True,
    type=click.IntRange(1, 65535),
)
@click.option(
    "--inspector-port",
    default=DEFAULT_PORTS["inspector"],
    show_default=True,
    type=click.IntRange(1, 65535),
)
def demo(
    data_dir: str,
    host: str,
    server_port: int,
    resource_port: int,
    client_port: int,
    inspector_port: int,
) -> None:
    """Run the demo: authorization server, resource server, demo client app and flow inspector,
    each on its own loopback origin, with demo clients and users."""
    ports = {
        "server": server_port,
        "resource": resource_port,
        "client": client_port,
        "inspector": inspector_port,
    }
    stack = build_stack(data_dir, ports, host)
    users = {u.username: u.password for u in stack.settings.users}
    u = stack.urls
    click.echo(
        "\n".join(
            [
                "",
                "valetkey demo is running (Ctrl-C to stop). Open:",
                "",
                f"    {u['inspector']}/",
                "",
                f"  flow inspector        {u['inspector']}/   (the diagram, live)",
                f"  demo client app       {u['client']}/   (log in, call the API, attack scenarios)",
                f"  authorization server  {u['server']}   (metadata: {u['server']}/.well-known/oauth-authorization-server)",
                f"  resource server       {u['resource']}   (GET /api/profile, GET|POST /api/files)",
                f"  demo user             username: demo   password: {users.get('demo')}",
                "  INSECURE demo switches are on ([demo] insecure = true): only for the attack scenarios",
                "",
            ]
        )
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_stack(stack))
