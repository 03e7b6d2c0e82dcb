"""``valetkey serve``: run the authorization server on uvicorn, with the HTTP runtime's protocol."""

from __future__ import annotations

import sys
from typing import Any

import click

from valetkey.cli.config import CONFIG_HELP, load_settings

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
def serve(config_path: str | None, host: str, port: int, workers: int, log_level: str) -> None:
    """Run the authorization server."""
    import uvicorn

    from valetkey.asgi import create_app
    from valetkey.cli.workers import run_workers, settle_heap
    from valetkey.runtime.lean import LeanProtocol
    from valetkey.server.bootstrap import build_state

    settings = load_settings(config_path)
    if settings.demo.get("insecure"):
        raise click.ClickException(
            "this configuration enables the demo's insecure switches ([demo] insecure = true); "
            "`valetkey serve` refuses it. Use `make demo` / `valetkey demo` to run the attack scenarios."
        )
    shown_host = f"[{host}]" if ":" in host else host
    issuer = settings.issuer or f"http://{shown_host}:{port}"
    settings = settings.with_issuer(issuer)
    try:
        state = build_state(settings)
    except Exception as exc:  # a bad database URL, an unreachable server, ...
        raise click.ClickException(f"cannot start: {type(exc).__name__}: {exc}") from exc
    click.echo(
        f"valetkey authorization server: issuer {issuer}, listening on http://{shown_host}:{port}",
        err=True,
    )
    click.echo(f"  metadata: {issuer}/.well-known/oauth-authorization-server", err=True)
    sys.stderr.flush()
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": log_level in ("debug", "info"),
        "loop": "uvloop" if sys.platform != "win32" else "asyncio",
        "http": LeanProtocol,  # bounded requests; hot endpoints without a task, one write each
        "server_header": False,
    }
    if workers > 1:
        # Workers are forked from this process, which has migrated the database and applied the
        # configuration: each opens its own store connections and skips doing that again.
        state.store.close()
        settle_heap()  # the workers inherit a settled heap: shared pages, out of the collector's way
        sock = uvicorn.Config("valetkey.cli.serve:serve", **common).bind_socket()  # app: unused
        status = run_workers(
            lambda: create_app(build_state(settings, apply=False)), common, workers, sock
        )
        if status:
            raise SystemExit(status)
        return
    app = create_app(state)
    settle_heap()
    uvicorn.run(app, **common)
