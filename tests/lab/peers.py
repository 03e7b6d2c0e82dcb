"""The clients the lab is run against: valetkey's own, and three third-party libraries, each a
small driver in tests/lab/clients/. The npm ones are installed at run time into
tests/lab/clients/node_modules (git-ignored), from the npm registry."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import valetkey

CLIENTS_DIR = Path(__file__).parent / "clients"
NPM_PACKAGES = ("openid-client", "oauth4webapi")


def _script(runner: str, name: str) -> str:
    path = shlex.quote(str(CLIENTS_DIR / name))
    return f"{runner} {path} {{issuer}} {{client_id}} {{redirect_uri}}"


# name in the report -> client command
CLIENTS = {
    "valetkey": "valetkey",
    "openid-client": _script("node", "openid_client.mjs"),
    "oauth4webapi": _script("node", "oauth4webapi.mjs"),
    "Authlib": _script(shlex.quote(sys.executable), "authlib_client.py"),
}
THIRD_PARTY = ("openid-client", "oauth4webapi", "Authlib")


def node_clients_problem() -> str | None:
    """Install the npm clients when missing; why they cannot be run, or None."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are needed (Node.js 20)"
    if _installed():
        return None
    with tempfile.TemporaryDirectory(prefix="vk-npm-cache-") as cache:  # nothing in ~/.npm
        done = subprocess.run(
            ["npm", "install", "--no-package-lock", "--no-audit", "--no-fund", "--loglevel=error",
             "--cache", cache],
            cwd=CLIENTS_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )  # fmt: skip
    if done.returncode != 0 or not _installed():
        return f"npm install failed: {done.stderr.strip()[-500:]}"
    return None


def _installed() -> bool:
    """The exact versions package.json pins (the published results name them)."""
    wanted = json.loads((CLIENTS_DIR / "package.json").read_text())["dependencies"]
    for name, version in wanted.items():
        manifest = CLIENTS_DIR / "node_modules" / name / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text())["version"] != version:
            return False
    return True


def require_node_clients() -> None:
    """Skip without the npm clients, or fail on CI (CI=true or VALETKEY_REQUIRE_NODE=1)."""
    problem = node_clients_problem()
    if problem is None:
        return
    if os.environ.get("CI") == "true" or os.environ.get("VALETKEY_REQUIRE_NODE") == "1":
        pytest.fail(f"the lab's npm clients cannot run: {problem}")
    pytest.skip(f"SKIPPED: the lab's npm clients cannot run: {problem}")


def versions() -> dict[str, str]:
    """The version of each client under test (and of Node.js)."""
    out = {"valetkey": valetkey.__version__, "Authlib": importlib.metadata.version("authlib")}
    for package, name in zip(NPM_PACKAGES, ("openid-client", "oauth4webapi"), strict=True):
        manifest = CLIENTS_DIR / "node_modules" / package / "package.json"
        if manifest.exists():
            out[name] = str(json.loads(manifest.read_text())["version"])
    node = shutil.which("node")
    if node is not None:
        out["Node.js"] = subprocess.run(
            [node, "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    out["Python"] = sys.version.split()[0]
    return out
