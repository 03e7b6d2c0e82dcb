"""npm packages for interop tests, installed into a git-ignored node_modules on first use.

Without Node.js or the npm registry a test says it was skipped; on CI (``CI=true``, or
``VALETKEY_REQUIRE_NODE=1``) it fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest


def _installed(directory: Path) -> bool:
    wanted = json.loads((directory / "package.json").read_text())["dependencies"]
    for name, version in wanted.items():
        package = directory / "node_modules" / name / "package.json"
        if not package.exists() or json.loads(package.read_text())["version"] != version:
            return False
    return True


def _install(directory: Path, cache: Path) -> str | None:
    """None when the packages of ``directory/package.json`` are ready, else why not."""
    if not shutil.which("node") or not shutil.which("npm"):
        return "Node.js and npm are needed (apt-get install -y nodejs npm)"
    if _installed(directory):
        return None
    command = ["npm", "install", "--no-package-lock", "--no-audit", "--no-fund"]
    command += ["--loglevel=error", "--cache", str(cache), "--prefix", str(directory)]
    env = os.environ | {"npm_config_update_notifier": "false"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    except subprocess.TimeoutExpired:
        return "npm install timed out (is the registry reachable?)"
    if done.returncode != 0 or not _installed(directory):
        return f"npm install in {directory.name} failed: {done.stderr.strip()[-300:]}"
    return None


def require_packages(directory: Path, cache: Path, what: str) -> None:
    """Install or skip (fail on CI), naming ``what`` the packages are for."""
    problem = _install(directory, cache)
    if problem is None:
        return
    if os.environ.get("CI") == "true" or os.environ.get("VALETKEY_REQUIRE_NODE") == "1":
        pytest.fail(f"the {what} interop tests are required here (CI): {problem}")
    pytest.skip(f"SKIPPED: {what} interop: {problem}")


def run_node(script: Path, payload: dict[str, Any], *args: str) -> Any:
    """``node SCRIPT ARGS`` with ``payload`` as JSON on stdin; its stdout parsed as JSON."""
    done = subprocess.run(
        ["node", str(script), *args],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
