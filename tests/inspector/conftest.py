"""The whole demo (AS, RS, client app, inspector) in process on free loopback ports, and Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.chromium import launched_chromium
from tests.support.servers import free_port
from valetkey.cli.demo_stack import DEFAULT_PORTS, DemoStack, build_stack, serve_stack

ARTIFACTS = Path(__file__).parents[1] / "artifacts"


def _wait_ready(urls: list[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending and time.monotonic() < deadline:
        try:
            if httpx.get(pending[0], timeout=1.0).status_code < 500:
                pending.pop(0)
                continue
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    if pending:
        raise RuntimeError(f"demo not ready: {pending}")


@contextlib.contextmanager
def running_demo(data_dir: str) -> Iterator[DemoStack]:
    """The whole demo (its four servers) on free ports, in a thread of this process."""
    ports = {name: free_port() for name in DEFAULT_PORTS}
    stack = build_stack(data_dir, ports)
    thread = threading.Thread(target=lambda: asyncio.run(serve_stack(stack)), daemon=True)
    thread.start()
    u = stack.urls
    _wait_ready(
        [
            u["server"] + "/.well-known/oauth-authorization-server",
            u["resource"] + "/",
            u["client"] + "/",
            u["inspector"] + "/api/flows",
        ]
    )
    try:
        yield stack
    finally:
        stack.stop()
        thread.join(15)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    """One demo for the session: what a test's user approved is remembered for the next tests."""
    with running_demo(str(tmp_path_factory.mktemp("demo"))) as stack:
        yield stack


@pytest.fixture
def fresh_demo(tmp_path: Path) -> Iterator[DemoStack]:
    """A demo of this test's own, for a test that needs a user who has approved nothing yet."""
    with running_demo(str(tmp_path / "demo")) as stack:
        yield stack


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Module-scoped: Playwright's sync API holds a running event loop in the main thread until it
    stops, which would break later tests that run their own loop."""
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def context(chromium: Any) -> Iterator[Any]:
    ctx = chromium.new_context(viewport={"width": 1440, "height": 900})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
