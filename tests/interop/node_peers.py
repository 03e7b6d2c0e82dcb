"""oidc-provider with the device flow, and openid-client, from npm, for the device interop tests.

Both are pinned in tests/interop/device_node/package.json and installed from the npm registry into
tests/interop/device_node/node_modules (git-ignored) on first use. Without Node.js or the registry
the tests say they were skipped; on CI (CI=true, or VALETKEY_REQUIRE_NODE=1) they fail instead.
:func:`require_node_packages` takes any such directory of pinned npm packages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.forms import forms_in, the_form

NODE_DIR = Path(__file__).parent / "device_node"
WEB_SECRET = "device-web-secret-0123456789abcdefghijklmnop"


def _pinned(node_dir: Path) -> dict[str, str]:
    return dict(json.loads((node_dir / "package.json").read_text())["dependencies"])


def installed(node_dir: Path) -> bool:
    """Every package pinned in ``node_dir/package.json`` is in its node_modules at that version."""
    for name, version in _pinned(node_dir).items():
        package = node_dir / "node_modules" / name / "package.json"
        if not package.exists() or json.loads(package.read_text())["version"] != version:
            return False
    return True


def install(node_dir: Path, cache: Path) -> str | None:
    """None when the pinned packages are ready, else why not."""
    if not shutil.which("node") or not shutil.which("npm"):
        return "Node.js and npm are needed (apt-get install -y nodejs npm)"
    if installed(node_dir):
        return None
    command = ["npm", "install", "--no-package-lock", "--no-audit", "--no-fund"]
    command += ["--loglevel=error", "--cache", str(cache), "--prefix", str(node_dir)]
    env = os.environ | {"npm_config_update_notifier": "false"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    except subprocess.TimeoutExpired:
        return "npm install timed out (is the registry reachable?)"
    if done.returncode != 0 or not installed(node_dir):
        return f"npm install {' '.join(_pinned(node_dir))} failed: {done.stderr.strip()[-300:]}"
    return None


def require_node_packages(
    tmp_path_factory: pytest.TempPathFactory,
    node_dir: Path = NODE_DIR,
    what: str = "the oidc-provider device-flow interop tests",
) -> None:
    """Install the packages pinned in ``node_dir``; skip without Node.js, fail on CI."""
    problem = install(node_dir, tmp_path_factory.mktemp("npm-cache"))
    if problem is None:
        return
    if os.environ.get("CI") == "true" or os.environ.get("VALETKEY_REQUIRE_NODE") == "1":
        pytest.fail(f"{what} are required here (CI): {problem}")
    pytest.skip(f"SKIPPED: {what}: {problem}")


@dataclass(frozen=True)
class Peer:
    issuer: str
    resource: str


@contextmanager
def oidc_provider(
    workdir: Path, *, interval: int = 1, slow_down_first: bool = False
) -> Iterator[Peer]:
    """oidc-provider on a free loopback port (tests/interop/device_node/server.mjs)."""
    env = os.environ | {"DEVICE_INTERVAL": str(interval), "DEVICE_WEB_SECRET": WEB_SECRET}
    if slow_down_first:
        env["DEVICE_SLOW_DOWN_FIRST"] = "1"
    log = workdir / "oidc-provider.log"
    with log.open("w") as errors:
        proc = subprocess.Popen(
            ["node", str(NODE_DIR / "server.mjs")],
            stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL, text=True, env=env,
        )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, f"oidc-provider did not start:\n{log.read_text()}"
        yield Peer(**json.loads(line))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()


def user_approves(link: str, user_code: str | None = None, *, deny: bool = False) -> str:
    """Play the user on oidc-provider's own pages, with a browser's cookie jar and no JavaScript:
    open ``link`` (the verification URI, then type ``user_code``; or the complete URI, whose page
    posts the code itself), confirm the code (or abort), sign in and consent. Returns the last
    page's text."""
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        page = browser.get(link)
        entry = the_form(page.text, str(page.url))  # a text box, or the auto-posting form
        data = dict(entry.fields)
        if user_code is not None:
            data["user_code"] = user_code
        page = browser.post(entry.action, data=data)
        confirm = the_form(page.text, str(page.url))
        assert confirm.fields.get("confirm") == "yes", page.text
        if deny:  # the page's "[ Abort ]" button: the same form with abort=yes
            return browser.post(confirm.action, data=confirm.fields | {"abort": "yes"}).text
        page = browser.post(confirm.action, data=confirm.fields)
        for _ in range(10):
            if page.status_code in (302, 303):
                page = browser.get(str(page.url.join(page.headers["location"])))
                continue
            forms = forms_in(page.text, str(page.url))
            if not forms:
                return page.text
            form = forms[0]
            data = dict(form.fields)
            if "password" in data:
                data.update(login="alice", password="any")  # dev interactions take any login
            page = browser.post(form.action, data=data)
        raise AssertionError("the user's pages did not finish:\n" + page.text[:500])
