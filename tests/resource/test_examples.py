"""The middleware protects a plain Starlette app and a FastAPI app in a few lines (real processes)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.resource.conftest import AS, AUDIENCE
from tests.support.servers import free_port, wait_until_ready

EXAMPLES = Path(__file__).with_name("examples")
ROOT = Path(__file__).resolve().parents[2]


def code_lines(path: Path) -> int:
    """Lines a developer writes besides imports: statements after the import block."""
    tree = ast.parse(path.read_text())
    body = [n for n in tree.body if not isinstance(n, ast.Import | ast.ImportFrom)]
    lines = set()
    for node in body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        lines.update(range(start, (node.end_lineno or node.lineno) + 1))
    return len([n for n in lines if path.read_text().splitlines()[n - 1].strip()])


@contextmanager
def uvicorn_app(module: str, auth: AS, workdir: Path) -> Iterator[str]:
    port = free_port()
    log = workdir / f"{module}.log"
    env = {**os.environ, "VALETKEY_ISSUER": auth.base, "VALETKEY_AUDIENCE": AUDIENCE}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                f"tests.resource.examples.{module}:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{base}/hello", proc, log)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("module", ["starlette_app", "fastapi_app"])
def test_example_app_is_protected(module: str, auth: AS, tmp_path: Path) -> None:
    assert code_lines(EXAMPLES / f"{module}.py") < 10
    good = auth.user_token("read:profile")
    wrong_scope = auth.user_token("read:files")
    with uvicorn_app(module, auth, tmp_path) as base:
        r = httpx.get(f"{base}/hello")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert "error=" not in r.headers["www-authenticate"]
        r = httpx.get(f"{base}/hello", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
        r = httpx.get(f"{base}/hello", headers={"Authorization": f"Bearer {wrong_scope}"})
        assert r.status_code == 403, r.text
        assert r.json() == {
            "error": "insufficient_scope",
            "error_description": "the access token lacks the scope this request needs: read:profile",
            "scope": "read:profile",
        }
        r = httpx.get(f"{base}/hello", headers={"Authorization": f"Bearer {good}"})
        assert r.status_code == 200, r.text
        assert (
            r.json()["hello"]
            == httpx.get(
                f"{auth.base}/userinfo",
                headers={"Authorization": f"Bearer {auth.user_token('openid')}"},
            ).json()["sub"]
        )
