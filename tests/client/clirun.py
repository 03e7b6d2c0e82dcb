"""Running the CLI: in process (click's runner) or as a real process waiting for a browser."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from click.testing import CliRunner, Result

from tests.support.flows import login_and_consent
from tests.support.forms import the_form
from valetkey.cli import main

HIDDEN = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')


def cli(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def cli_json(*args: str) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


@dataclass
class Waiting:
    proc: subprocess.Popen[str]
    url: str
    before_url: list[str]

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, "".join(self.before_url) + err


@contextmanager
def waiting_cli(args: list[str], env: dict[str, str]) -> Iterator[Waiting]:
    """Start `valetkey ARGS` and read stderr until the authorization URL appears on its own line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "valetkey", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if line.startswith(("http://", "https://")) and " " not in line.strip():
                yield Waiting(proc, line.strip(), lines)
                return
        raise AssertionError("the CLI printed no URL:\n" + "".join(lines))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def deliver(browser: httpx.Client, location: str) -> httpx.Response:
    """Follow the redirect to the CLI's loopback listener, as a browser would (fragment included)."""
    parts = urlsplit(location)
    target = location.split("#", 1)[0]
    page = browser.get(target)
    if parts.fragment:  # the page's script posts the fragment back; do what it does
        assert "location.hash" in page.text
        page = browser.post(target, data={"fragment": parts.fragment})
    return page


def through_pages(browser: httpx.Client, response: httpx.Response) -> httpx.Response:
    """From a page of the server, sign in and consent until the redirect back to the client."""
    for _ in range(6):
        if response.status_code in (302, 303):
            return response
        form = the_form(response.text, str(response.url))
        data = dict(form.fields)
        if "password" in form.fields:
            data.update(username="alice", password="wonderland")
        else:
            data["decision"] = "approve"
        response = browser.post(form.action, data=data)
    raise AssertionError("the flow did not finish")


def sign_in_via_forms(browser: httpx.Client, url: str, decision: str = "approve") -> httpx.Response:
    if "/start/" in url:  # the CLI's local page that POSTs the authorization request
        page = browser.get(url).text
        form = the_form(page, url)
        pairs = [
            (html.unescape(k), html.unescape(v)) for k, v in HIDDEN.findall(page)
        ]  # repeats kept
        body = urlencode(pairs).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        response = through_pages(browser, browser.post(form.action, content=body, headers=headers))
        assert response.status_code in (302, 303), response.text
        return deliver(browser, response.headers["location"])
    response = login_and_consent(browser, url, decision=decision)
    assert response.status_code in (302, 303), response.text
    return deliver(browser, response.headers["location"])
