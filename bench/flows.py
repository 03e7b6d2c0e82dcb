"""W2 / W2s driver: the Authorization Code + PKCE flow as a client and a form-filling browser do it.

Each virtual user has its own cookie jar and one keep-alive connection (so a node:cluster worker
that holds the user's in-memory session keeps serving it). The driver follows the server's own
redirects and fills whatever login or consent form it is shown: valetkey's, oidc-provider's dev
interactions, or the Authlib peer's pages.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

from bench.config import REDIRECT, RESOURCE, SCOPE_CODE, USERNAME


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.buttons: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = a.get("action", "")
        elif tag == "input" and a.get("name") and a.get("type") != "submit":
            self.fields.setdefault(a["name"], a.get("value", ""))
        elif tag in ("button", "input") and a.get("name"):
            self.buttons.append((a["name"], a.get("value", "")))


def fill(html: str, password: str) -> tuple[str, dict[str, str]]:
    """The first form on the page, filled as the user would: credentials, or approve."""
    parser = _Forms()
    parser.feed(html)
    if parser.action is None:
        raise RuntimeError("expected a login or consent form")
    data = dict(parser.fields)
    if "password" in data:
        data["password"] = password
        for name in ("username", "login"):
            if name in data:
                data[name] = USERNAME
    else:
        approve = [(n, v) for n, v in parser.buttons if v in ("approve", "allow", "yes")]
        name, value = approve[0] if approve else ("decision", "approve")
        data[name] = value
    return parser.action, data


@dataclass
class Target:
    name: str
    base: str
    authorize_path: str
    token_path: str = "/token"
    resource: bool = False  # send RFC 8707 resource= (oidc-provider needs it for JWT tokens)
    client_id: str = "bench-native"


@dataclass
class FlowStats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    last_error: str = ""


async def one_flow(http: httpx.AsyncClient, t: Target, password: str, prompt: str = "") -> None:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    params = {
        "response_type": "code",
        "client_id": t.client_id,
        "redirect_uri": REDIRECT,
        "scope": SCOPE_CODE,
        "state": secrets.token_urlsafe(12),
        "code_challenge": challenge.decode(),
        "code_challenge_method": "S256",
    }
    if t.resource:
        params["resource"] = RESOURCE
    if prompt:
        params["prompt"] = prompt  # W2: consent asked every time, not remembered
    response = await http.get(f"{t.base}{t.authorize_path}?{urlencode(params)}")
    for _ in range(10):
        if response.status_code in (302, 303):
            location = urljoin(str(response.url), response.headers["location"])
            if location.startswith(REDIRECT):
                await _redeem(http, t, location, verifier, params["state"])
                return
            response = await http.get(location)
        elif response.status_code == 200 and "<form" in response.text:
            action, data = fill(response.text, password)
            response = await http.post(urljoin(str(response.url), action), data=data)
        else:
            raise RuntimeError(f"unexpected {response.status_code} at {response.url}")
    raise RuntimeError("the flow did not reach the client's redirect URI")


async def _redeem(
    http: httpx.AsyncClient, t: Target, location: str, verifier: str, state: str
) -> None:
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    if "code" not in query or query.get("state") != state:
        raise RuntimeError(f"no code in the redirect: {query.get('error', location)[:80]}")
    form = {
        "grant_type": "authorization_code",
        "code": query["code"],
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": t.client_id,
    }
    response = await http.post(t.base + t.token_path, data=form)
    body = response.json()
    if response.status_code != 200 or "access_token" not in body or "refresh_token" not in body:
        raise RuntimeError(f"token endpoint: {response.status_code} {str(body)[:120]}")


class Driver:
    """Virtual users: one cookie jar and one keep-alive connection each.

    W2s (``session=True``): every user logs in and consents once in ``setup``; the measured flows
    then reuse the session and the remembered consent. W2: cookies are cleared before every flow
    and ``prompt=consent`` asks for consent again (a fresh browser, a full login each time).
    """

    def __init__(self, target: Target, password: str, *, users: int, session: bool) -> None:
        self.target, self.password, self.session = target, password, session
        # Run by run, a user's connection idles while other servers are measured; the servers
        # close connections idle for 5 s (uvicorn's and Node's default), so the driver drops its own
        # after 2 s rather than race such a close with its next request.
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=2.0)
        self.clients = [httpx.AsyncClient(limits=limits, timeout=30) for _ in range(users)]

    async def setup(self) -> None:
        if self.session:
            await asyncio.gather(*(one_flow(c, self.target, self.password) for c in self.clients))

    async def run(self, seconds: float) -> FlowStats:
        stats = FlowStats()
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(*(self._loop(c, stop_at, stats) for c in self.clients))
        return stats

    async def _loop(self, http: httpx.AsyncClient, stop_at: float, stats: FlowStats) -> None:
        while time.perf_counter() < stop_at:
            if not self.session:
                http.cookies.clear()
            began = time.perf_counter()
            try:
                await one_flow(http, self.target, self.password, "" if self.session else "consent")
            except (RuntimeError, httpx.HTTPError, ValueError) as exc:
                stats.errors += 1
                stats.last_error = str(exc)[:200]
                await asyncio.sleep(0.05)
                continue
            stats.latencies.append(time.perf_counter() - began)

    async def close(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients))
