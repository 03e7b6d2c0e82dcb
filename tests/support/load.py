"""Load for the fault suite: clients that use their grants correctly, and a record of every answer.

Each ``Client`` runs in a thread, round after round, the requests a real deployment sees: client
credentials, introspection, refresh rotation, UserInfo, an authorization request with a live session
and remembered consent, the code's redemption, revocation, metadata and keys. It uses its grants as
a careful client does: a refresh token or a code is replaced only by a successful answer; after an
error it keeps what it had and tries again later. Every answer (or its absence) is recorded with
its start and end time, so a test can tell what happened before, during and after a fault.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx

from tests.conftest import SVC_SECRET
from tests.support.flows import redirect_params
from tests.support.hostile import Answer
from valetkey.core import pkce

CLI_SCOPE = "openid profile email read:profile offline_access"
# The load's browser client: public, with an https redirect URI that names its owner, so remembered
# consent applies to it (RFC 8252 §8.6 asks again for loopback and private-use redirects).
LOAD_CLIENT = "load-spa"
LOAD_REDIRECT = "https://spa.load.test/callback"
LOAD_CLIENT_CONFIG = f"""
[[clients]]
client_id = "{LOAD_CLIENT}"
token_endpoint_auth_method = "none"
redirect_uris = ["{LOAD_REDIRECT}"]
grant_types = ["authorization_code", "refresh_token"]
scope = "{CLI_SCOPE}"
"""
# The operations, what the oracle expects of each (JSON or a page), and its success status.
KINDS = {
    "token-cc": "json",
    "introspect": "json",
    "token-refresh": "json",
    "userinfo": "json",
    "authorize": "page",
    "token-code": "json",
    "revoke": "json",
    "metadata": "json",
    "jwks": "json",
}
CODE_AGE = 1.0  # seconds a client holds a code before redeeming it: a fault finds some in hand
SUCCESS = {op: (303 if op == "authorize" else 200) for op in KINDS}


@dataclass
class Outcome:
    op: str
    target: str  # the base URL it was sent to
    t0: float
    t1: float
    answer: Answer | None  # None: no answer at all
    error: str = ""  # the transport error when there was no answer

    @property
    def ok(self) -> bool:
        return self.answer is not None and self.answer.status == SUCCESS[self.op]


@dataclass
class Chain:
    """One refresh-token grant, held by one client."""

    refresh: str
    access: str
    lost: str = ""  # why the server stopped honouring it
    unanswered: bool = False  # its last rotation got no answer: it may have happened
    ambiguous: str = ""  # refused after an unanswered rotation: a reuse, not a loss


@dataclass
class Ledger:
    """What the clients were given and still hold, shared by all of them."""

    outcomes: list[Outcome] = field(default_factory=list)
    cc_tokens: list[str] = field(default_factory=list)  # answered 200 to client credentials
    revoked: set[str] = field(default_factory=set)  # revocation answered 200, or not answered
    chains: list[Chain] = field(default_factory=list)
    codes: list[tuple[str, str, float]] = field(default_factory=list)  # (code, verifier, when)
    lost_codes: list[str] = field(default_factory=list)
    ambiguous_codes: list[str] = field(default_factory=list)  # refused after an unanswered try
    unanswered_codes: set[str] = field(default_factory=set)  # a redemption got no answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def during(self, start: float, end: float, op: str | None = None) -> list[Outcome]:
        """Outcomes whose request started and ended inside ``[start, end]``."""
        return [
            o for o in self.outcomes if start <= o.t0 and o.t1 <= end and (op is None or o.op == op)
        ]

    def started_after(self, when: float) -> list[Outcome]:
        return [o for o in self.outcomes if o.t0 >= when]


def _answer(response: httpx.Response) -> Answer:
    headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in response.headers.raw]
    return Answer(response.status_code, headers, response.content)


class Client(threading.Thread):
    """A client application (and its user's browser) spreading its requests over ``bases``."""

    def __init__(
        self,
        ledger: Ledger,
        bases: Sequence[str],
        cookies: httpx.Cookies,
        chain: Chain,
        stop: threading.Event,
        *,
        pause: float = 0.005,
        pick: Callable[[Sequence[str]], str] = random.choice,
    ) -> None:
        super().__init__(daemon=True)
        self.ledger, self.bases, self.stop, self.pause, self.pick = ledger, bases, stop, pause, pick
        self.chain = chain
        self.token: str | None = None  # the last client-credentials token it was given
        self.previous: str | None = None  # the one before, to revoke
        self.http = httpx.Client(timeout=30, follow_redirects=False, cookies=cookies)

    def call(self, op: str, method: str, path: str, **kwargs: object) -> httpx.Response | None:
        base = self.pick(self.bases)
        t0 = time.monotonic()
        try:
            response = self.http.request(method, base + path, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            self.ledger.record(Outcome(op, base, t0, time.monotonic(), None, repr(exc)))
            return None
        self.ledger.record(Outcome(op, base, t0, time.monotonic(), _answer(response)))
        return response

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.round()
                time.sleep(self.pause)
        finally:
            self.http.close()

    def round(self) -> None:
        svc = ("svc", SVC_SECRET)
        data = {"grant_type": "client_credentials", "scope": "read:files"}
        r = self.call("token-cc", "POST", "/token", data=data, auth=svc)
        if r is not None and r.status_code == 200:
            with self.ledger.lock:
                self.ledger.cc_tokens.append(r.json()["access_token"])
            self.previous, self.token = self.token, r.json()["access_token"]
        if self.token:  # the last token it was given, whatever this round's answer
            self.call("introspect", "POST", "/introspect", data={"token": self.token}, auth=svc)
        self.refresh()
        bearer = {"authorization": f"Bearer {self.chain.access}"}
        self.call("userinfo", "GET", "/userinfo", headers=bearer)
        self.authorize()
        self.redeem()
        # The token before the last, until a revocation is answered; without one (the usual case
        # while the database is down, where no new token comes), a token never issued, which the
        # server looks up all the same (and answers 200, RFC 7009 §2.2): every round revokes.
        revoking = self.previous or secrets.token_urlsafe(32)
        r = self.call("revoke", "POST", "/revoke", data={"token": revoking}, auth=svc)
        if self.previous and (r is None or r.status_code == 200):  # unanswered: it may be revoked
            with self.ledger.lock:
                self.ledger.revoked.add(self.previous)
            self.previous = None
        self.call("metadata", "GET", "/.well-known/oauth-authorization-server")
        self.call("jwks", "GET", "/jwks.json")

    def refresh(self) -> None:
        chain = self.chain
        if chain.lost or chain.ambiguous:
            return
        data = {"grant_type": "refresh_token", "refresh_token": chain.refresh, "client_id": LOAD_CLIENT}
        r = self.call("token-refresh", "POST", "/token", data=data)
        if r is None:
            chain.unanswered = True
        elif r.status_code == 200:
            body = r.json()
            chain.refresh, chain.access = body["refresh_token"], body["access_token"]
            chain.unanswered = False
        elif r.status_code == 400 and chain.unanswered:
            chain.ambiguous = r.text  # the unanswered rotation had happened: this was a reuse
        elif r.status_code == 400:
            chain.lost = r.text  # a grant used correctly, refused: the client has lost it

    def authorize(self) -> None:
        verifier = pkce.new_verifier()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": LOAD_CLIENT,
                "redirect_uri": LOAD_REDIRECT,
                "scope": CLI_SCOPE,
                "state": "load",
                "code_challenge": pkce.challenge_for(verifier, "S256"),
                "code_challenge_method": "S256",
            }
        )
        r = self.call("authorize", "GET", f"/authorize?{query}")
        if r is not None and r.status_code == 303:
            code = redirect_params(r.headers["location"]).get("code")
            if code:
                with self.ledger.lock:
                    self.ledger.codes.append((code, verifier, time.monotonic()))

    def redeem(self) -> None:
        with self.ledger.lock:
            codes = self.ledger.codes
            if not codes or codes[0][2] > time.monotonic() - CODE_AGE:
                return
            code, verifier, when = codes.pop(0)
        if redeem(self, code, verifier, tried=code in self.ledger.unanswered_codes) == "retry":
            with self.ledger.lock:
                self.ledger.codes.append((code, verifier, when))


def code_request(code: str, verifier: str) -> dict[str, str]:
    """The token request that redeems a code the load's clients were given."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": LOAD_REDIRECT,
        "client_id": LOAD_CLIENT,
        "code_verifier": verifier,
    }


def redeem(client: Client, code: str, verifier: str, *, tried: bool = False) -> str:
    """Redeem a code: "ok", "lost" (refused: the client has lost it) or "retry" (no verdict).
    ``tried``: an earlier try got no answer, so a refusal may be the replay of a redemption."""
    r = client.call("token-code", "POST", "/token", data=code_request(code, verifier))
    if r is not None and r.status_code == 200:
        body = r.json()
        with client.ledger.lock:
            client.ledger.chains.append(Chain(body["refresh_token"], body["access_token"]))
        return "ok"
    if r is not None and r.status_code == 400:
        with client.ledger.lock:
            lost = client.ledger.ambiguous_codes if tried else client.ledger.lost_codes
            lost.append(f"{code[:8]}...: {r.text}")
        return "lost"
    if r is None:
        with client.ledger.lock:
            client.ledger.unanswered_codes.add(code)
    return "retry"


def run_load(
    ledger: Ledger,
    bases: Sequence[str],
    cookies: httpx.Cookies,
    chains: list[Chain],
    stop: threading.Event,
) -> list[Client]:
    """One client per chain (a refresh-token grant it holds), each in its thread, until ``stop``."""
    ledger.chains += [c for c in chains if not any(c is held for held in ledger.chains)]
    clients = [Client(ledger, bases, cookies, chain, stop) for chain in chains]
    for client in clients:
        client.start()
    return clients


def stop_load(stop: threading.Event, clients: list[Client]) -> None:
    stop.set()
    for client in clients:
        client.join(60)
