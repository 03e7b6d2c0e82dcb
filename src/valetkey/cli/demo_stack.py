"""The demo's servers wired together: authorization server, resource server (demo API), demo
client app and inspector, each on its own loopback origin, sharing one event sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from valetkey.cli.stoppable import StoppableServer
from valetkey.cli.stopsignals import pending_signal
from valetkey.core.events import RecordingSink
from valetkey.core.settings import Settings, build_settings, parse_toml

DEFAULT_PORTS = {"server": 9000, "resource": 9001, "client": 9002, "inspector": 9003}
PARTS = {
    "server": "authorization server",
    "resource": "resource server",
    "client": "demo client app",
    "inspector": "flow inspector",
}
INSECURE_CLIENT = "demo-insecure-public"


@dataclass
class DemoStack:
    settings: Settings
    sink: RecordingSink
    urls: dict[str, str]
    servers: list[uvicorn.Server] = field(default_factory=list)
    bus: Any = None
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    stopped_by: int | None = None  # the signal that stopped it (SIGINT: exit 130)

    def stop(self) -> None:
        if self.bus is not None:
            self.bus.close()
        for server in self.servers:
            server.should_exit = True


def demo_settings_text(ports: dict[str, int]) -> str:
    text = resources.files("valetkey.demo").joinpath("demo.toml").read_text(encoding="utf-8")
    text = text.replace("http://localhost:9002", f"http://localhost:{ports['client']}")
    return text.replace("http://127.0.0.1:9001", f"http://127.0.0.1:{ports['resource']}")


def build_stack(
    data_dir: str, ports: dict[str, int] | None = None, host: str = "127.0.0.1"
) -> DemoStack:
    from valetkey.asgi import create_app
    from valetkey.demo.app import create_demo_client_app
    from valetkey.inspector import EventBus, create_inspector_app
    from valetkey.inspector.guard import named_hosts_only
    from valetkey.server.bootstrap import build_state

    p = {**DEFAULT_PORTS, **(ports or {})}
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    data = parse_toml(demo_settings_text(p))
    data.setdefault("database", f"sqlite:///{os.path.abspath(data_dir)}/valetkey.db")
    urls = {
        "server": f"http://{host}:{p['server']}",
        "resource": f"http://{host}:{p['resource']}",
        "client": f"http://localhost:{p['client']}",
        "inspector": f"http://{host}:{p['inspector']}",
    }
    settings = build_settings(data, os.environ).with_issuer(urls["server"])
    sink = RecordingSink()
    state = build_state(settings, sink=sink)
    insecure = settings.demo.get("insecure") is True
    config = _client_config(settings, urls)
    client_http = httpx.AsyncClient(timeout=10.0, trust_env=False)
    bus = EventBus()
    bus.attach(sink)
    links = {
        "client": urls["client"] + "/",
        "attacks": urls["client"] + "/attacks",
        "server": urls["server"] + "/",
    }
    apps: list[tuple[Any, str, int]] = [
        (create_app(state), host, p["server"]),
        (create_demo_client_app(config, sink, client_http), host, p["client"]),
        # No credential in the demo: only requests naming its host (no DNS rebinding).
        (
            named_hosts_only(create_inspector_app(bus, links, insecure=insecure), host),
            host,
            p["inspector"],
        ),
    ]
    stack = DemoStack(settings, sink, urls, bus=bus, closers=[client_http.aclose])
    apps.append((_resource_app(urls, data_dir, sink, stack.closers), host, p["resource"]))
    for app, bind, port in apps:
        cfg = uvicorn.Config(
            app, host=bind, port=port, log_level="warning", timeout_graceful_shutdown=1
        )
        # No signal handling of its own: serve_stack handles the signals for all four together.
        stack.servers.append(StoppableServer(cfg, signals=()))
    return stack


def _client_config(settings: Settings, urls: dict[str, str]) -> Any:
    """The demo client app's view of the demo configuration: its clients, secrets and users."""
    from valetkey.demo.config import ClientRegistration, DemoClientConfig

    insecure = settings.demo.get("insecure") is True
    secrets = {c.client_id: c.client_secret for c in settings.clients}
    users = {u.username: u.password or "" for u in settings.users}
    return DemoClientConfig(
        base_url=urls["client"],
        issuer=urls["server"],
        resource_url=urls["resource"],
        inspector_url=urls["inspector"] + "/",
        confidential=ClientRegistration("demo-web", secrets.get("demo-web"), pkce=False),
        service=ClientRegistration("demo-service", secrets.get("demo-service")),
        public_no_pkce=ClientRegistration(
            INSECURE_CLIENT, None, pkce=False, insecure="public client without PKCE"
        )
        if insecure and INSECURE_CLIENT in secrets
        else None,
        legacy=ClientRegistration("demo-legacy", secrets.get("demo-legacy"))
        if settings.allow_deprecated_grants and "demo-legacy" in secrets
        else None,
        implicit=ClientRegistration("demo-implicit", None, pkce=False)
        if settings.allow_deprecated_grants and "demo-implicit" in secrets
        else None,
        victim=("demo", users.get("demo", "")),
        attacker=("mallory", users.get("mallory", "")),
        insecure=insecure,
    )


def _resource_app(
    urls: dict[str, str], data_dir: str, sink: RecordingSink, closers: list[Any]
) -> Any:
    """The demo API (valetkey.resource), validating the server's JWT access tokens."""
    from valetkey.resource import JWTValidator
    from valetkey.resource.demo_api import create_demo_api
    from valetkey.resource.files import FileStore

    validator = JWTValidator(urls["server"], urls["resource"], sink=sink)
    closers.append(validator.aclose)
    files = FileStore(Path(data_dir) / "resource.db")
    return create_demo_api(validator, files, issuer=urls["server"], audience=urls["resource"])


@contextlib.contextmanager
def _stop_on_signals(stack: DemoStack) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # tests run the stack in a thread and stop it with stack.stop()
        return

    def handle(sig: int, frame: object) -> None:
        if stack.stopped_by is None:
            stack.stopped_by = sig
        if any(s.should_exit for s in stack.servers):
            for server in stack.servers:
                server.force_exit = True  # a second Ctrl-C: do not wait for open connections
        stack.stop()

    original = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    early = pending_signal()  # arrived while the stack was built: stop at once
    if early is not None:
        handle(early, None)
    try:
        yield
    finally:
        for sig, handler in original.items():
            signal.signal(sig, handler)


def bind_ports(host: str, ports: dict[str, int]) -> list[socket.socket]:
    """The four listening sockets, bound before anything is announced: a taken port is one line
    that names the part, with what to do (a demo may already be running on the same ports)."""
    from valetkey.cli.startstop import CannotStart, bind_socket

    sockets: list[socket.socket] = []
    try:
        for part, port in ports.items():
            try:
                sockets.append(bind_socket(host, port))
            except CannotStart as exc:
                raise CannotStart(
                    f"{exc.message} (the demo's {PARTS[part]}, --{part}-port). A demo may "
                    "already be running: stop it, or choose free ports with "
                    + ", ".join(f"--{name}-port" for name in DEFAULT_PORTS)
                ) from None
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


async def serve_stack(
    stack: DemoStack,
    sockets: Sequence[socket.socket] = (),
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve until stopped (Ctrl-C, SIGTERM or stack.stop()), then stop every server together.
    ``sockets`` (``bind_ports``): each server serves the one bound to its port; without them
    each binds its own. ``on_ready`` is called once every server listens."""
    bound = {sock.getsockname()[1]: sock for sock in sockets}

    def serve(server: uvicorn.Server) -> Awaitable[None]:
        sock = bound.get(server.config.port)
        return server.serve(sockets=[sock] if sock else None)

    async def watch() -> None:
        waiting = on_ready
        while not any(s.should_exit for s in stack.servers):
            if waiting is not None and all(s.started for s in stack.servers):
                waiting()
                waiting = None
            await asyncio.sleep(0.1 if waiting is None else 0.02)
        stack.stop()  # also ends the inspector's live streams, so shutdown does not wait on them

    try:
        with _stop_on_signals(stack):
            if not any(s.should_exit for s in stack.servers):  # stopped already: start nothing
                await asyncio.gather(watch(), *(serve(s) for s in stack.servers))
    finally:
        for close in stack.closers:
            await close()
