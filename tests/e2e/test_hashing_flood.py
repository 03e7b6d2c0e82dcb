"""A flood of sign-ins against a real `valetkey serve`: the Argon2 work queues behind a bounded
number of slots, so memory stays bounded (each check holds 7 MiB), and every sign-in is either
served or told to come back (503 + Retry-After): no 500, no dropped connection."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.flows import authorize_url
from tests.support.forms import the_form
from tests.support.serveproc import ServeProcess

SIGN_INS = 64
PEAK_RSS_LIMIT = 150 * 1024 * 1024
CONFIG = """
database = "sqlite:///{dir}/valetkey.db"
password_hash_concurrency = 2

[[resources]]
identifier = "https://api.valetkey.test"
scopes = ["read:profile"]

[[clients]]
client_id = "cli"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1/callback"]
grant_types = ["authorization_code"]
scope = "read:profile"

[[users]]
username = "alice"
password = "wonderland"
"""
AUTHORIZE = {
    "response_type": "code",
    "client_id": "cli",
    "redirect_uri": "http://127.0.0.1/callback",
    "scope": "read:profile",
    "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "code_challenge_method": "S256",
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServeProcess]:
    proc = ServeProcess(CONFIG.replace("{dir}", str(tmp_path)), tmp_path)
    proc.start()
    yield proc
    proc.stop()


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process under it (uvicorn workers, if any)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").iterdir():
            children = (task / "children").read_text().split()
            queue.extend(int(c) for c in children)
    return found


def peak_rss(pid: int) -> int:
    """VmHWM (the peak resident set) in bytes, summed over the process tree."""
    total = 0
    for member in process_tree(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) * 1024
    return total


async def filled_form(client: httpx.AsyncClient, base: str) -> tuple[str, dict[str, str]]:
    page = await client.get(authorize_url(base, **AUTHORIZE))
    assert page.status_code == 200, page.text
    form = the_form(page.text, str(page.url))
    return form.action, {**form.fields, "username": "alice", "password": "wonderland"}


async def flood(base: str) -> list[httpx.Response]:
    """Each of SIGN_INS browsers (own cookies, own connection) gets its sign-in form, then all
    send it at once."""
    limits = httpx.Limits(max_connections=1)
    clients = [httpx.AsyncClient(timeout=60, limits=limits) for _ in range(SIGN_INS)]
    try:
        forms = await asyncio.gather(*(filled_form(c, base) for c in clients))
        posts = (
            c.post(action, data=data) for c, (action, data) in zip(clients, forms, strict=True)
        )
        return list(await asyncio.gather(*posts))
    finally:
        for c in clients:
            await c.aclose()


def test_64_concurrent_sign_ins_stay_under_150_mb_and_each_is_served_or_told_to_retry(
    server: ServeProcess,
) -> None:
    assert server.proc is not None
    responses = asyncio.run(flood(server.base))
    statuses = [r.status_code for r in responses]
    assert len(responses) == SIGN_INS
    for r in responses:
        assert r.status_code in (200, 303, 503), (r.status_code, r.text[:300])
        if r.status_code == 503:
            assert int(r.headers["retry-after"]) >= 1
    assert statuses.count(200) + statuses.count(303) > 0, statuses
    peak = peak_rss(server.proc.pid)
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak / 2**20:.0f} MiB"
    assert "Traceback" not in server.log_text()
