"""``valetkey demo``: the whole system on SQLite with the demo configuration, on loopback."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import click

from valetkey.cli.demo_stack import DEFAULT_PORTS, DemoStack, bind_ports, build_stack, serve_stack
from valetkey.cli.startstop import CannotStart, stop_at_safe_points
from valetkey.cli.stopsignals import exit_status, safe_point


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
    stop_at_safe_points()
    ports = {
        "server": server_port,
        "resource": resource_port,
        "client": client_port,
        "inspector": inspector_port,
    }
    twice = sorted({p for p in ports.values() if list(ports.values()).count(p) > 1})
    if twice:
        raise click.UsageError(f"each part needs its own port; {twice[0]} is given twice")
    sockets = bind_ports(host, ports)
    for sock in sockets:  # also when stopped while starting
        click.get_current_context().call_on_close(sock.close)
    safe_point()
    try:
        stack = _open_stack(data_dir, ports, host)
    finally:
        safe_point()  # a signal while it ran wins over a failure to start
    asyncio.run(serve_stack(stack, sockets, on_ready=functools.partial(_banner, stack)))
    status = exit_status(stack.stopped_by)
    if status:
        raise SystemExit(status)
    safe_point()  # a signal after the servers' own handling (while closing): its status


def _banner(stack: DemoStack) -> None:
    """Printed once every part listens."""
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


def _open_stack(data_dir: str, ports: dict[str, int], host: str) -> DemoStack:
    """``build_stack`` with its start-up failures (data directory, database) as one line each."""
    from valetkey.server.bootstrap import DatabaseOpenError

    try:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = str(exc.strerror or exc).lower()
        raise CannotStart(
            f"cannot create the demo's data directory {data_dir}: {reason} (choose another with "
            "--data-dir)"
        ) from None
    try:
        return build_stack(data_dir, ports, host)
    except DatabaseOpenError as exc:
        raise CannotStart(str(exc)) from None
