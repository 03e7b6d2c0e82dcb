"""``valetkey lab``: an authorization server that misbehaves on purpose, to test OAuth clients.

``lab serve`` runs it for a client you drive by hand; ``lab run --client COMMAND`` runs a client
command once per fault and reports what the client did (table, JSON, JUnit XML).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import time
from pathlib import Path

import click
from rich.console import Console

from valetkey.core.events import RecordingSink
from valetkey.lab import catalogue, markdown, report, runner
from valetkey.lab.server import LabServer

DEFAULT_CLIENT_ID = "lab-client"
DEFAULT_REDIRECT = "http://127.0.0.1/callback"


@click.group("lab")
def lab() -> None:
    """An authorization server that misbehaves on purpose, to test OAuth clients.

    Each fault is an issuer of its own, http://HOST:PORT/f/FAULT; a client under test needs only
    that issuer URL and a client ID (any: the lab takes every client, public with PKCE S256).
    """


@lab.command("faults")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print a Markdown table.")
def faults(as_markdown: bool) -> None:
    """List the faults: what the lab does, what a correct client does, the rule and its spec."""
    if as_markdown:
        click.echo(markdown.catalogue(), nl=False)
        return
    for f in catalogue.FAULTS:
        click.echo(f"{f.name}: the lab {f.does}.\n    a correct client: {f.should} "
                   f"({f.rule}, {f.spec}); {f.judged_by}")  # fmt: skip


def _server(host: str, port: int, hold: float, inspector_port: int | None) -> LabServer:
    sink = RecordingSink()
    try:
        server = LabServer.create(host, port, sink=sink, hold_seconds=hold)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    if inspector_port is not None:
        from valetkey.inspector import EventBus, create_inspector_app

        bus = EventBus()
        bus.attach(sink)
        links = {"server": server.lab.base_url + "/"}
        server.beside.append((create_inspector_app(bus, links), host, inspector_port))
    return server


HOST = click.option("--host", default="127.0.0.1", show_default=True)
INSPECTOR = click.option(
    "--inspector-port", type=click.IntRange(1, 65535), default=None,
    help="Also serve the flow inspector on this port: each fault's flow is drawn there.",
)  # fmt: skip


@lab.command("serve")
@HOST
@click.option("--port", default=9400, show_default=True, type=click.IntRange(0, 65535))
@INSPECTOR
@click.option("--hold", default=60.0, show_default=True, help="Seconds token-slow holds a request.")
def serve(host: str, port: int, inspector_port: int | None, hold: float) -> None:
    """Run the lab until Ctrl-C; point a client at http://HOST:PORT/f/FAULT."""
    server = _server(host, port, hold, inspector_port)
    click.echo(f"valetkey lab at {server.lab.base_url}/ (the fault list as JSON)")
    click.echo(f"  issuers: {server.lab.issuer('FAULT')}, e.g. {server.lab.issuer('baseline')}")
    click.echo(f"  what each client did: {server.lab.base_url}/lab/attempts")
    if inspector_port is not None:
        click.echo(f"  inspector: http://{host}:{inspector_port}/")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve())


@lab.command("run")
@click.option("--client", "template", required=True, metavar="COMMAND",
              help="The client to test, run once per fault: a command with {issuer}, {client_id}, "
              "{redirect_uri} (and {fault}) in it; 'valetkey' runs valetkey's own client.")
@click.option("--client-id", default=DEFAULT_CLIENT_ID, show_default=True)
@click.option("--redirect-uri", default=DEFAULT_REDIRECT, show_default=True)
@click.option("--fault", "names", multiple=True, help="Only this fault (repeatable); default: all.")
@click.option("--timeout", default=20.0, show_default=True, help="Seconds each run may take.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1, 16),
              help="Runs at once (each fault is its own issuer).")
@click.option("--name", default=None, help="The client's name in the report.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False), help="Write the report as JSON.")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False), help="Write JUnit XML.")
@HOST
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="The lab's port (0: any free one).")
@INSPECTOR
def run(template: str, client_id: str, redirect_uri: str, names: tuple[str, ...], timeout: float,
        jobs: int, name: str | None, json_file: str | None, junit_file: str | None, host: str,
        port: int, inspector_port: int | None) -> None:  # fmt: skip
    """Run a client command once per fault and report: refused, survived, accepted or crashed.

    Exits 1 when the client accepted a fault, gave up on one it should survive, or crashed.
    """
    try:
        chosen = catalogue.select(names)
    except KeyError as exc:
        raise click.BadParameter(f"no such fault: {exc.args[0]}", param_hint="--fault") from None
    console = Console(stderr=True)
    server = _server(host, port, timeout + 5, inspector_port)
    with server.in_background() as lab_:
        console.print(f"valetkey lab at {lab_.base_url}: {len(chosen)} runs of {template!r}")
        outcomes = runner.run_all(
            lab_, chosen, template, client_id=client_id, redirect_uri=redirect_uri,
            limit=timeout, jobs=jobs,
            progress=lambda o: console.print(f"  {o.fault.name}: {o.verdict}", highlight=False),
        )  # fmt: skip
        done = report.Report(
            name or template, template, datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            outcomes,
        )  # fmt: skip
        _write(done, json_file, junit_file)
        Console().print(report.table(done))
        click.echo(report.summary(done))
        if inspector_port is not None:
            click.echo(f"inspector: http://{host}:{inspector_port}/ (Ctrl-C to stop)")
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(1)
    if not done.passed:
        raise SystemExit(1)


def _write(done: report.Report, json_file: str | None, junit_file: str | None) -> None:
    if json_file:
        Path(json_file).write_text(json.dumps(report.to_json(done), indent=2) + "\n")
    if junit_file:
        Path(junit_file).write_text(report.to_junit(done))
