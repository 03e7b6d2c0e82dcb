"""Attack scenarios, run for real against the real server, with the defence on and (where the demo
configuration allows) off. Each one is one flow in the inspector, from ``attack.started`` to
``attack.finished``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx

from valetkey.client import ClientError, OAuthServerError, PendingAuthorization, grants, start
from valetkey.client.io import Flow
from valetkey.core.flows import authorization_flow_id
from valetkey.demo.base import DemoClient
from valetkey.demo.session import COOKIE, Pending, Session
from valetkey.demo.victim import sign_in_and_approve

T = TypeVar("T")


@dataclass
class Scenario:
    name: str
    title: str
    defence: str  # what protects against it
    expected_on: str
    expected_off: str | None  # None: the server has no switch to turn the defence off


@dataclass
class AttackResult:
    scenario: Scenario
    defence_on: bool
    expected: str
    outcome: str
    as_expected: bool
    flow_id: str
    notes: list[str] = field(default_factory=list)


SCENARIOS = (
    Scenario(
        "code_interception",
        "Code interception by a malicious app",
        "PKCE",
        "the malicious app's token request fails: invalid_grant (no code_verifier)",
        "the malicious app gets tokens (public client without PKCE)",
    ),
    Scenario(
        "login_csrf",
        "Login CSRF (attacker's code injected into the callback)",
        "state",
        "the client refuses the callback: state does not match",
        "the client accepts it: the victim is signed in as the attacker",
    ),
    Scenario(
        "code_replay",
        "Authorization code replay",
        "one-time codes",
        "the second redemption fails and the grant is revoked",
        None,
    ),
    Scenario(
        "refresh_replay",
        "Refresh token replay",
        "refresh token rotation",
        "the old refresh token is refused and the whole family revoked",
        None,
    ),
    Scenario(
        "redirect_tampering",
        "Redirect URI tampering",
        "exact redirect URI matching",
        "the server shows an error page and does not redirect",
        None,
    ),
)
BY_NAME = {s.name: s for s in SCENARIOS}


class Run:
    """Shared plumbing: the attack's flow, a victim browser, the result."""

    def __init__(self, client: DemoClient, scenario: Scenario, defence_on: bool) -> None:
        self.client, self.scenario, self.defence_on = client, scenario, defence_on
        self.expected = scenario.expected_on if defence_on else (scenario.expected_off or "")
        self.flow_id = ""
        self.notes: list[str] = []

    def started(self, flow_id: str, kind: str) -> None:
        self.flow_id = flow_id
        self.client.emit(
            "attack.started",
            flow_id,
            channel="local",
            source="client",
            target="client",
            summary=f"Attack: {self.scenario.title} (defence {self.defence_label})",
            data={
                "kind": kind,
                "attack": self.scenario.name,
                "title": self.scenario.title,
                "defence": self.defence_label,
                "expected": self.expected,
                "insecure": None if self.defence_on else f"{self.scenario.defence} switched off",
            },
        )

    @property
    def defence_label(self) -> str:
        return f"{self.scenario.defence} {'on' if self.defence_on else 'OFF'}"

    def browser(self) -> httpx.AsyncClient:
        """A fresh browser with its own cookie jar (the server's sign-in cookie lands there)."""
        return httpx.AsyncClient(timeout=10.0, trust_env=False)

    async def open_callback(
        self, http: httpx.AsyncClient, location: str, session: Session
    ) -> httpx.Response:
        """The browser follows the redirect to the client, carrying that browser's client cookie."""
        return await http.get(location, headers={"Cookie": f"{COOKIE}={session.sid}"})

    async def authorize_as(
        self, mode: str, who: tuple[str, str], session: Session
    ) -> tuple[Pending, str]:
        """Start a login at the client and sign in at the server; return the callback URL."""
        pending = await self.client.oauth.prepare(mode, False)
        if not self.flow_id:
            self.started(pending.flow_id, "confidential" if mode == "confidential" else "pkce")
        url = self.client.begin_login(session, pending)
        async with self.browser() as http:
            response = await sign_in_and_approve(http, url, *who)
        return pending, response.headers.get("location", "")

    async def attempt(self, flow: Flow[T]) -> tuple[T | None, ClientError | None]:
        """Run a library flow as one of this scenario's actors: its result, or what was refused."""
        try:
            return await self.client.oauth.run(flow, self.flow_id), None
        except ClientError as exc:
            return None, exc

    def finish(self, outcome: str, as_expected: bool) -> AttackResult:
        self.client.emit(
            "attack.finished",
            self.flow_id,
            channel="local",
            source="client",
            target="client",
            summary=("As expected: " if as_expected else "UNEXPECTED: ") + outcome,
            data={"outcome": outcome, "expected": self.expected, "as_expected": as_expected},
            error=None if as_expected else "unexpected_outcome",
        )
        return AttackResult(
            self.scenario,
            self.defence_on,
            self.expected,
            outcome,
            as_expected,
            self.flow_id,
            self.notes,
        )


def _callback(location: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(location).query))


def _from_history(pending: Pending, callback: dict[str, str]) -> PendingAuthorization:
    """What someone holding only the redirect URL has: its state, never the code_verifier."""
    return PendingAuthorization("", callback.get("state", ""), pending.request.redirect_uri, "code")


def _refusal(exc: ClientError | None) -> tuple[str | None, str]:
    if isinstance(exc, OAuthServerError):
        return exc.error, f"{exc.error} ({exc.error_description})"
    return None, str(exc) if exc else "accepted"


async def code_interception(run: Run) -> AttackResult:
    client = run.client
    mode = "pkce" if run.defence_on else "insecure"
    pending, location = await run.authorize_as(mode, client.config.victim, client.sessions.new())
    client.emit(
        "code.intercepted",
        run.flow_id,
        channel="front",
        source="browser",
        target="client",
        summary="A malicious app registered on the same redirect URI receives the code first",
        data={"actor": "malicious app", "client_id": pending.client.client_id},
    )
    callback = _callback(location)
    flow = grants.authorization_code(
        pending.client, _from_history(pending, callback), callback, client.clock.now()
    )
    tokens, refused = await run.attempt(flow)  # no code_verifier: it never saw one
    if tokens is not None:
        thief = client.sessions.new()
        client.oauth.receive_tokens(thief, pending.client, tokens, run.flow_id, "The malicious app")
        return run.finish(
            "the malicious app redeemed the stolen code and holds the user's tokens",
            not run.defence_on,
        )
    error, text = _refusal(refused)
    return run.finish(f"token request refused: {text}", run.defence_on and error == "invalid_grant")


async def login_csrf(run: Run) -> AttackResult:
    client = run.client
    attacker = client.sessions.new()
    _pending, location = await run.authorize_as("confidential", client.config.attacker, attacker)
    client.emit(
        "code.planted",
        run.flow_id,
        channel="front",
        source="browser",
        target="client",
        summary="The attacker stops before the callback and makes the victim's browser open it",
        data={"actor": "attacker", "attacker": client.config.attacker[0]},
    )
    victim = client.sessions.new()
    victim.skip_state_check = not run.defence_on
    async with run.browser() as http:
        response = await run.open_callback(http, location, victim)
    if response.status_code == 400:
        return run.finish(
            "the client refused the callback (state does not match this browser's login)",
            run.defence_on,
        )
    claims = (victim.decoded.get("access_token") or {}).get("claims", {})
    outcome = f"the victim's browser is now signed in to the client as the attacker (sub {claims.get('sub')})"
    return run.finish(outcome, not run.defence_on and victim.tokens is not None)


async def code_replay(run: Run) -> AttackResult:
    client = run.client
    victim = client.sessions.new()
    pending, location = await run.authorize_as("pkce", client.config.victim, victim)
    async with run.browser() as http:
        await run.open_callback(http, location, victim)  # the real client redeems the code
    callback = _callback(location)
    # From browser history: the code alone. It is refused, and revokes nothing: a stranger holding
    # a leaked code cannot end the user's grant (the verifier is checked before the replay rule).
    history = grants.authorization_code(
        pending.client, _from_history(pending, callback), callback, client.clock.now()
    )
    _ignored, first = await run.attempt(history)
    # From a logged token request (code and verifier, e.g. a debugging proxy's log): a replay
    # proper. Refused, and everything issued from the code is revoked (RFC 9700 §4.2.4).
    logged = grants.authorization_code(pending.client, pending.request, callback, client.clock.now())
    _tokens, refused = await run.attempt(logged)
    after = ""
    if victim.tokens is not None and victim.tokens.refresh_token:
        new, also = await run.attempt(
            grants.refresh(pending.client, victim.tokens, client.clock.now())
        )
        after = (
            f"; the legitimate client's refresh token now fails too: {_refusal(also)[0]}"
            if new is None
            else "; but the legitimate refresh token still works"
        )
    error, text = _refusal(refused)
    status = refused.status if isinstance(refused, OAuthServerError) else None
    ok = status == 400 and error == "invalid_grant" and "fails too" in after
    ok = ok and _refusal(first)[0] == "invalid_grant"
    return run.finish(
        f"the code alone (browser history) refused: {_refusal(first)[1]}; "
        f"the logged request with its verifier refused: {text}{after}",
        ok,
    )


async def refresh_replay(run: Run) -> AttackResult:
    client = run.client
    victim = client.sessions.new()
    pending, location = await run.authorize_as("pkce", client.config.victim, victim)
    async with run.browser() as http:
        await run.open_callback(http, location, victim)
    old = victim.tokens
    if old is None:
        return run.finish("the victim's login failed, so there is no refresh token", False)
    cfg, now = pending.client, client.clock.now()
    new, first = await run.attempt(grants.refresh(cfg, old, now))
    _again, second = await run.attempt(grants.refresh(cfg, old, now))
    _after, third = await run.attempt(grants.refresh(cfg, new or old, now))
    ok = new is not None and _refusal(second)[0] == "invalid_grant"
    ok = ok and _refusal(third)[0] == "invalid_grant"
    rotated = "rotation worked (200)" if new else f"rotation failed: {_refusal(first)[1]}"
    outcome = (
        f"{rotated}; the replayed old token was refused: {_refusal(second)[1]}; "
        f"the family is revoked, the new token fails too: {_refusal(third)[0]}"
    )
    return run.finish(outcome, ok)


async def redirect_tampering(run: Run) -> AttackResult:
    client = run.client
    reg = client.config.confidential
    evil = "https://attacker.example/callback"
    config = await client.oauth.client_for(reg, "read:profile")
    request = start(
        config, evil, pkce_method=None
    )  # an authorization URL naming the attacker's site
    run.started(authorization_flow_id(reg.client_id, evil, request.state, None, None), "other")
    async with run.browser() as http:
        response = await http.get(request.url)
    location = response.headers.get("location")
    outcome = f"HTTP {response.status_code}, " + (
        "no redirect: the error page is shown to the user"
        if not location
        else f"redirected to {location}"
    )
    return run.finish(outcome, response.status_code == 400 and not location)


RUNNERS: dict[str, Callable[[Run], Awaitable[AttackResult]]] = {
    "code_interception": code_interception,
    "login_csrf": login_csrf,
    "code_replay": code_replay,
    "refresh_replay": refresh_replay,
    "redirect_tampering": redirect_tampering,
}


async def run_scenario(client: DemoClient, name: str, defence_on: bool) -> AttackResult | None:
    scenario = BY_NAME.get(name)
    if scenario is None or (
        not defence_on
        and (
            scenario.expected_off is None
            or (name == "code_interception" and client.config.public_no_pkce is None)
        )
    ):
        return None
    return await RUNNERS[name](Run(client, scenario, defence_on))


def describe(result: AttackResult) -> dict[str, Any]:
    return {
        "name": result.scenario.name,
        "title": result.scenario.title,
        "defence_on": result.defence_on,
        "expected": result.expected,
        "outcome": result.outcome,
        "as_expected": result.as_expected,
        "flow_id": result.flow_id,
    }
