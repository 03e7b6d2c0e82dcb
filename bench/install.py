"""Install the peers and the load generator at run time (nothing of theirs is committed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
PEERS = HERE / ".peers"  # gitignored: virtualenv, run directories, raw results
OIDC_DIR = HERE / "peers" / "oidc"  # package.json + server.mjs; node_modules is gitignored
AUTHLIB_VENV = PEERS / "authlib-venv"
AUTHLIB_PACKAGES = [
    "authlib>=1.3",
    "flask>=3",
    "gunicorn>=22",
    "argon2-cffi>=23.1",
    "sqlalchemy>=2",
]


def say(msg: str) -> None:
    print(f"[bench] {msg}", flush=True)


def _apt_install(package: str) -> bool:
    """``apt-get install`` a Debian package as root (waiting out another apt-get's lock); False
    when not root or the install failed."""
    if os.geteuid() != 0:
        return False
    say(f"installing {package} (Debian package)")
    for _ in range(30):  # another apt-get may hold the lock for a while
        done = subprocess.run(
            ["apt-get", "install", "-y", "-qq", package],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0:
            return True
        if "lock" not in done.stderr:
            subprocess.run(["apt-get", "update", "-qq"], check=False)
        time.sleep(5)
    return False


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: run `sudo apt-get install -y wrk`")
    _apt_install("wrk")
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("could not install wrk; run `apt-get install -y wrk`")
    return found


def ensure_haproxy() -> str | None:
    """HAProxy from Debian for the load-balanced row, installed when missing (as root); None, with
    the reason said, when it is missing and cannot be installed: that row is then skipped."""
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/sbin")
    if found:
        return found
    if not _apt_install("haproxy"):
        say("HAProxy is missing and could not be installed (`sudo apt-get install -y haproxy`)")
        return None
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/sbin")


def ensure_oidc_provider() -> str:
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        say("installing oidc-provider from npm")
        subprocess.run(
            ["npm", "install", "--no-package-lock", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=OIDC_DIR,
            check=True,
        )
    pkg = (OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").read_text()
    import json

    return str(json.loads(pkg)["version"])


def ensure_authlib() -> dict[str, str]:
    python = AUTHLIB_VENV / "bin" / "python"
    stamp = AUTHLIB_VENV / ".installed"
    if not stamp.exists():
        say("installing Authlib, Flask and gunicorn from PyPI into bench/.peers/authlib-venv")
        PEERS.mkdir(exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(AUTHLIB_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *AUTHLIB_PACKAGES], check=True)
        stamp.touch()
    out = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m;"
            "print(*(m.version(p) for p in ('authlib','flask','gunicorn')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return dict(zip(("authlib", "flask", "gunicorn"), out, strict=True))


def node_version() -> str:
    return subprocess.run(
        ["node", "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
