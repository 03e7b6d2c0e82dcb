"""``valetkey resource``: the demo API, protected by bearer tokens from an authorization server."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from valetkey.core.events import EventSink, FlowEvent

if TYPE_CHECKING:
    from valetkey.resource.token import TokenValidator


class StderrSink:
    """One JSON line per resource-server event on stderr (no secrets: events carry none)."""

    def emit(self, event: FlowEvent) -> None:
        line = {"event": event.name, "flow": event.flow_id, "summary": event.summary}
        if event.error:
            line["error"] = event.error
        sys.stderr.write(json.dumps(line) + "\n")
        sys.stderr.flush()


def _validator(
    issuer: str,
    audience: str,
    sink: EventSink,
    introspect: bool,
    client_id: str | None,
    client_secret: str | None,
    cache_seconds: float,
    cooldown: float,
) -> TokenValidator:
    from valetkey.resource import IntrospectionValidator, JWTValidator

    if introspect:
        assert client_id and client_secret
        return IntrospectionValidator(
            issuer,
            audience,
            client_id=client_id,
            client_secret=client_secret,
            cache_seconds=cache_seconds,
            sink=sink,
        )
    return JWTValidator(issuer, audience, refresh_cooldown=cooldown, sink=sink)


def _url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise click.BadParameter("must be an http(s) URL without query or fragment")
    return value


@click.command()
@click.option(
    "--issuer", required=True, callback=_url, help="The authorization server's issuer URL."
)
@click.option("--audience", required=True, help="This API's resource identifier (the tokens' aud).")
@click.option("--introspect", is_flag=True, help="Validate by RFC 7662 introspection, not locally.")
@click.option("--client-id", help="The resource server's client id at the authorization server.")
@click.option(
    "--client-secret",
    envvar="VALETKEY_RESOURCE_CLIENT_SECRET",
    help="Its secret (or set VALETKEY_RESOURCE_CLIENT_SECRET).",
)
@click.option(
    "--introspect-cache",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 3600),
    help="Seconds an introspection answer may be reused (never past the token's exp).",
)
@click.option(
    "--jwks-cooldown",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, 3600),
    help="Least seconds between JWK Set refetches caused by unknown key ids.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--data-dir",
    default=".data/resource",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the API's own SQLite database lives.",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    help="A browser origin allowed to call the API (repeatable).",
)
@click.option("--log-events", is_flag=True, help="Print every token decision as a JSON line.")
def resource(
    issuer: str,
    audience: str,
    introspect: bool,
    client_id: str | None,
    client_secret: str | None,
    introspect_cache: float,
    jwks_cooldown: float,
    host: str,
    port: int,
    data_dir: str,
    cors_origins: tuple[str, ...],
    log_events: bool,
) -> None:
    """Run the demo API (GET /api/profile, GET and POST /api/files) behind bearer tokens."""
    import uvicorn

    from valetkey.core.events import NullSink
    from valetkey.resource.demo_api import create_demo_api
    from valetkey.resource.files import FileStore

    sink: EventSink = StderrSink() if log_events else NullSink()
    if introspect and (not client_id or not client_secret):
        raise click.UsageError("--introspect needs --client-id and --client-secret")
    validator = _validator(
        issuer,
        audience,
        sink,
        introspect,
        client_id,
        client_secret,
        introspect_cache,
        jwks_cooldown,
    )
    try:
        files = FileStore(Path(data_dir) / "resource.db")
    except Exception as exc:
        raise click.ClickException(f"cannot open the database in {data_dir}: {exc}") from exc
    app = create_demo_api(
        validator, files, issuer=issuer, audience=audience, cors_origins=cors_origins
    )
    mode = "introspection" if introspect else "JWT (local)"
    click.echo(
        f"valetkey resource server: http://{host}:{port}  audience {audience}  "
        f"issuer {issuer}  validation {mode}",
        err=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
