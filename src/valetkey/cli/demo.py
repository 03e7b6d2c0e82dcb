"""``valetkey demo``: the whole system on SQLite with a demo configuration, on loopback."""

from __future__ import annotations

import asyncio
import os
from importlib import resources
from pathlib import Path

import click
import uvicorn
from starlette.applications import Starlette

from valetkey.core.events import EventSink
from valetkey.core.settings import build_settings, parse_toml

AS_PORT = 9000
RS_PORT = 9001
RS_AUDIENCE = "http://127.0.0.1:9001"


def demo_settings_text() -> str:
    return resources.files("valetkey.demo").joinpath("demo.toml").read_text(encoding="utf-8")


@click.command()
@click.option(
    "--data-dir",
    default=".data/demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the demo's SQLite database lives.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
def demo(data_dir: str, host: str) -> None:
    """Run the demo: authorization server with demo clients and a demo user, on SQLite."""
    from valetkey.core.events import RecordingSink
    from valetkey.server import create_app
    from valetkey.server.bootstrap import build_state

    Path(data_dir).mkdir(parents=True, exist_ok=True)
    data = parse_toml(demo_settings_text())
    data.setdefault("database", f"sqlite:///{os.path.abspath(data_dir)}/valetkey.db")
    issuer = f"http://{host}:{AS_PORT}"
    settings = build_settings(data, os.environ).with_issuer(issuer)
    sink = RecordingSink()
    state = build_state(settings, sink=sink)
    user = settings.users[0]
    click.echo(
        "\n".join(
            [
                "",
                "valetkey demo is running (Ctrl-C to stop)",
                f"  authorization server  {issuer}   (metadata: {issuer}/.well-known/oauth-authorization-server)",
                f"  demo user             username: {user.username}   password: {user.password}",
                f"  resource server       {RS_AUDIENCE}   (GET /api/profile, GET|POST /api/files)",
                "  clients               demo-native (public, PKCE), demo-web (confidential), demo-service (client credentials)",
                "",
            ]
        )
    )
    servers = [
        uvicorn.Server(
            uvicorn.Config(create_app(state), host=host, port=AS_PORT, log_level="warning")
        ),
        uvicorn.Server(
            uvicorn.Config(
                _resource_app(issuer, data_dir, sink), host=host, port=RS_PORT, log_level="warning"
            )
        ),
    ]
    asyncio.run(_serve_all(servers))


def _resource_app(issuer: str, data_dir: str, sink: EventSink) -> Starlette:
    from valetkey.resource import JWTValidator
    from valetkey.resource.demo_api import create_demo_api
    from valetkey.resource.files import FileStore

    validator = JWTValidator(issuer, RS_AUDIENCE, sink=sink)
    files = FileStore(Path(data_dir) / "resource.db")
    return create_demo_api(validator, files, issuer=issuer, audience=RS_AUDIENCE)


async def _serve_all(servers: list[uvicorn.Server]) -> None:
    await asyncio.gather(*(s.serve() for s in servers))
