"""Serving the lab (and any app beside it, such as the inspector) with uvicorn, in the foreground
or in a background thread while a runner drives clients against it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from valetkey.core.events import EventSink
from valetkey.lab.app import create_lab_app
from valetkey.lab.state import Lab


def bound_socket(host: str, port: int) -> socket.socket:
    """A listening socket bound now, so the lab knows its own origin (port 0: any free port)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


@dataclass
class LabServer:
    lab: Lab
    sock: socket.socket
    beside: list[tuple[Any, str, int]] = field(default_factory=list)  # (app, host, port)
    servers: list[uvicorn.Server] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        sink: EventSink | None = None,
        hold_seconds: float = 60.0,
    ) -> LabServer:
        sock = bound_socket(host, port)
        shown = f"[{host}]" if ":" in host else host
        lab = Lab(f"http://{shown}:{sock.getsockname()[1]}", sink=sink, hold_seconds=hold_seconds)
        return cls(lab, sock)

    def _config(self, app: Any, **where: Any) -> uvicorn.Config:
        return uvicorn.Config(
            app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1, **where
        )

    async def serve(self) -> None:
        """Serve until ``stop()`` (or Ctrl-C in the foreground)."""
        self.servers = [uvicorn.Server(self._config(create_lab_app(self.lab)))]
        self.servers += [uvicorn.Server(self._config(a, host=h, port=p)) for a, h, p in self.beside]
        tasks = [self.servers[0].serve(sockets=[self.sock])]
        tasks += [s.serve() for s in self.servers[1:]]
        await asyncio.gather(self._watch(), *tasks)

    async def _watch(self) -> None:
        while not any(s.should_exit for s in self.servers):
            await asyncio.sleep(0.1)
        self.stop()

    def stop(self) -> None:
        for server in self.servers:
            server.should_exit = True

    @contextlib.contextmanager
    def in_background(self) -> Iterator[Lab]:
        thread = threading.Thread(target=asyncio.run, args=(self.serve(),), daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not (self.servers and all(s.started for s in self.servers)):
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the lab did not start")
            time.sleep(0.02)
        try:
            yield self.lab
        finally:
            self.stop()
            thread.join(timeout=10)
            self.sock.close()
