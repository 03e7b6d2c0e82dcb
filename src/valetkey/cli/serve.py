"""``valetkey serve``: run the authorization server on uvicorn, with the HTTP runtime's protocol."""

from __future__ import annotations

import functools
import socket
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from valetkey.cli.config import CONFIG_HELP, load_settings

if TYPE_CHECKING:
    from valetkey.core.settings import Settings
    from valetkey.runtime import Runtime
    from valetkey.server.state import ServerState

CONFIG_ENV = "VALETKEY_CONFIG"


@click.command()
@click.option(
    "--config", "config_path", envvar=CONFIG_ENV, type=click.Path(dir_okay=False), help=CONFIG_HELP
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes (share the database).",
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@click.option(
    "--inspector",
    is_flag=True,
    help="Also serve the flow inspector at /inspector/, behind the admin credential "
    "inspector_token (docs/inspector.md).",
)
def serve(
    config_path: str | None, host: str, port: int, workers: int, log_level: str, inspector: bool
) -> None:
    """Run the authorization server."""
    from valetkey.cli.startstop import bind_socket, stop_at_safe_points
    from valetkey.cli.stopsignals import safe_point

    stop_at_safe_points()  # a signal from now on stops it at the next safe point
    from valetkey.cli.observability import log_settings, multiprocess_metrics
    from valetkey.runtime.lean import LeanProtocol

    settings = load_settings(config_path)
    from valetkey.asgi import metrics_path_problem
    from valetkey.cli.startstop import CannotStart

    problem = metrics_path_problem(settings.metrics_path)
    if problem is not None:
        raise CannotStart(problem)
    if inspector:
        from valetkey.cli.inspector_serve import inspector_problem

        problem = inspector_problem(settings)
        if problem is not None:
            raise CannotStart(problem)
    if settings.demo.get("insecure"):
        raise click.ClickException(
            "this configuration enables the demo's insecure switches ([demo] insecure = true); "
            "`valetkey serve` refuses it. Use `make demo` / `valetkey demo` to run the attack scenarios."
        )
    # Bound before anything is announced: a taken port is one line, and --port 0 is a real port.
    sock = bind_socket(host, port)
    click.get_current_context().call_on_close(sock.close)  # also when stopped while starting
    port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    issuer = settings.issuer or f"http://{shown_host}:{port}"
    settings = settings.with_issuer(issuer)
    safe_point()
    try:
        state = _start(settings)
    finally:
        safe_point()  # a signal while it ran wins over a failure to start (PostgreSQL unreachable)
    ready = functools.partial(_announce, issuer, f"http://{shown_host}:{port}", inspector)
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": log_level in ("debug", "info"),
        "loop": "uvloop" if sys.platform != "win32" else "asyncio",
        "http": LeanProtocol,  # bounded requests; hot endpoints without a task, one write each
        "server_header": False,
        **log_settings(settings, log_level),
    }
    with multiprocess_metrics(settings, workers):
        status = _run(settings, state, common, workers, sock, ready, inspector)
    if status:
        raise SystemExit(status)
    safe_point()  # a signal after the server's own handling (while closing): its status


def _run(
    settings: Settings,
    state: ServerState,
    common: dict[str, Any],
    workers: int,
    sock: socket.socket,
    ready: Callable[[], None],
    inspector: bool,
) -> int:
    from valetkey.cli.observability import metrics_on, serve_metrics_port
    from valetkey.cli.stoppable import serve_on
    from valetkey.cli.workers import run_workers, settle_heap
    from valetkey.server.bootstrap import build_state

    if workers > 1:
        # Workers are forked from this process, which has migrated the database and applied the
        # configuration: each opens its own store connections and skips doing that again.
        state.store.close()
        state.close_throttle()  # had the parent opened Redis, its workers open their own
        if metrics_on(settings):  # the parent serves the port: every worker's samples, added up
            from valetkey.runtime.metrics import exposition_registry

            serve_metrics_port(settings, common["host"], exposition_registry())
        settle_heap()  # the workers inherit a settled heap: shared pages, out of the collector's way
        return run_workers(
            lambda: _app(build_state(settings, apply=False), inspector),
            common,
            workers,
            sock,
            ready,
        )
    app = _app(state, inspector)
    if app.metrics is not None:
        serve_metrics_port(settings, common["host"], app.metrics.registry)
    settle_heap()
    return serve_on(app, common, sock, ready)


def _app(state: ServerState, inspector: bool) -> Runtime:
    """The server's app, with the inspector mounted when asked (one per serving process)."""
    from valetkey.asgi import create_app

    if not inspector:
        return create_app(state)
    from valetkey.cli.inspector_serve import mount_inspector

    mount, close = mount_inspector(state)
    app = create_app(state, [mount])
    app.on_shutdown.append(close)
    return app


def _start(settings: Settings) -> ServerState:
    """Open the database, migrate it and apply the configuration; a failure is one line."""
    from valetkey.cli.startstop import CannotStart
    from valetkey.server.bootstrap import DatabaseOpenError, build_state

    try:
        return build_state(settings)
    except DatabaseOpenError as exc:
        raise CannotStart(str(exc)) from None
    except Exception as exc:  # anything else that stops the start: one line, no traceback
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise CannotStart(f"cannot start: {type(exc).__name__}: {first}") from exc


def _announce(issuer: str, listening: str, inspector: bool) -> None:
    """Said once the server (every worker) listens: a client can connect right away."""
    click.echo(
        f"valetkey authorization server: issuer {issuer}, listening on {listening}", err=True
    )
    click.echo(f"  metadata: {issuer}/.well-known/oauth-authorization-server", err=True)
    if inspector:
        click.echo(
            f"  inspector: {listening}/inspector/ (the admin credential: inspector_token)", err=True
        )
    sys.stderr.flush()
