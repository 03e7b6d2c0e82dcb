"""`valetkey lab serve` as a real process, with the inspector drawing a fault's flow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.servers import free_port, running

pytestmark = pytest.mark.e2e


def _events(flow: dict[str, Any]) -> list[dict[str, Any]]:
    found = [s["event"] for s in flow["steps"] if s.get("event")]
    found += [sub["event"] for s in flow["steps"] for sub in s.get("subs", [])]
    return found + [e["event"] for e in flow["extras"]]


CLIENTS_DIR = Path(__file__).with_name("clients")


def test_serve_answers_any_client_and_the_inspector_draws_the_verdict(tmp_path: Path) -> None:
    port, inspector = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["lab", "serve", "--port", str(port), "--inspector-port", str(inspector)]
    with running(args, base + "/", tmp_path):
        index = httpx.get(base + "/").json()
        assert {f["name"] for f in index["faults"]} >= {"baseline", "scope-wider"}
        issuer = f"{base}/f/scope-wider"
        # Authlib takes a scope wider than it asked for (docs/lab.md); valetkey's client refuses it.
        client = subprocess.run(
            [sys.executable, str(CLIENTS_DIR / "authlib_client.py"), issuer, "any-client-id",
             "http://127.0.0.1/callback"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        attempts = httpx.get(base + "/lab/attempts").json()["attempts"]
        assert attempts[0]["violation"].startswith("it called /userinfo"), client.stdout
        flows = httpx.get(f"http://127.0.0.1:{inspector}/api/flows").json()["flows"]
        verdicts = [e for f in flows for e in _events(f) if e["name"] == "lab.verdict"]
        assert len(verdicts) == 1
        check = verdicts[0]["checks"][0]
        assert (check["rule"], check["outcome"]) == ("check_granted_scope", "fail")
        assert check["spec"] == "RFC 6749 §3.3, RFC 9700 §2.3"
