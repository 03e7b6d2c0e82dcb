"""Real server processes on loopback ports, and in-process apps over httpx.ASGITransport."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def isolated_env(workdir: Path) -> dict[str, str]:
    """XDG directories inside ``workdir``: a process a test starts never reads or writes the
    user's own data (tokens, profiles, the default database)."""
    return {
        "XDG_DATA_HOME": str(workdir / "xdg-data"),
        "XDG_CONFIG_HOME": str(workdir / "xdg-config"),
        "XDG_CACHE_HOME": str(workdir / "xdg-cache"),
    }


def wait_until_ready(
    url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 15.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=0.5).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"not ready after {timeout}s: {url}\n{log.read_text()}")


@contextmanager
def running(
    args: Sequence[str], ready_url: str, workdir: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``valetkey ARGS`` until the block ends; its output goes to a log file shown on failure."""
    log = workdir / f"proc-{Path(args[0]).name}-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "valetkey", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **isolated_env(workdir), **(env or {})},
            cwd=workdir,
        )
    try:
        wait_until_ready(ready_url, proc, log)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def auth_server(
    config: str, workdir: Path, *, port: int | None = None, extra: Sequence[str] = ()
) -> Iterator[str]:
    port = port or free_port()
    path = workdir / f"server-{port}.toml"
    if not any(line.startswith("database") for line in config.splitlines()):
        # An explicit database in the test's directory, never the documented default.
        config = f'database = "sqlite:///{workdir / f"server-{port}.db"}"\n' + config
    path.write_text(config)
    base = f"http://127.0.0.1:{port}"
    with running(
        ["serve", "--config", str(path), "--port", str(port), *extra],
        f"{base}/.well-known/oauth-authorization-server",
        workdir,
    ):
        yield base


@contextmanager
def lean_uvicorn_in_thread(app: object, **config: object) -> Iterator[int]:
    """``app`` on real uvicorn with ``valetkey serve``'s protocol (uvloop, loopback), in a thread of
    this process; yields the port."""
    import uvicorn

    from valetkey.runtime.lean import LeanProtocol

    port = free_port()
    settings: dict[str, object] = {"log_level": "critical", "access_log": False, **config}
    server = uvicorn.Server(
        uvicorn.Config(
            app,  # type: ignore[arg-type]
            host="127.0.0.1",
            port=port,
            loop="uvloop",
            http=LeanProtocol,
            **settings,  # type: ignore[arg-type]
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class LoopbackTransport(httpx.BaseTransport):
    """``app`` on real uvicorn with ``valetkey serve``'s protocol (``lean_uvicorn_in_thread``), for
    a sync httpx client: each request goes to the loopback port with its own Host header, so a test
    written for the ASGI transport (``http://as.test/...``) runs unchanged on the lean path. Closing
    the transport (the client) stops the server."""

    def __init__(self, app: object) -> None:
        from contextlib import ExitStack

        self._stack = ExitStack()
        self.port = self._stack.enter_context(
            lean_uvicorn_in_thread(app, server_header=False, lifespan="off")
        )
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        sent = httpx.Request(
            request.method, url, headers=request.headers, content=request.read()
        )
        response = self._inner.handle_request(sent)
        try:
            body = response.read()
        finally:
            response.close()
        return httpx.Response(
            response.status_code, headers=response.headers, content=body, request=request
        )

    def close(self) -> None:
        self._inner.close()
        self._stack.close()
