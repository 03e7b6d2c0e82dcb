"""Attack scenarios, run for real against the real server, with the defence on and (where the demo
configuration allows) off. Each one is one flow in the inspector, from ``attack.started`` to
``attack.finished``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from valetkey.core.flows import authorization_flow_id
from valetkey.core.secrets import new_token
from valetkey.demo.session import COOKIE, Pending, Session
from valetkey.demo.victim import sign_in_and_approve

if TYPE_CHECKING:
    from valetkey.demo.app import DemoClient


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
        pending = self.client.oauth.prepare(mode, False)
        if not self.flow_id:
            self.started(pending.flow_id, "confidential" if mode == "confidential" else "pkce")
        url = self.client.begin_login(session, pending)
        async with self.browser() as http:
            response = await sign_in_and_approve(http, url, *who)
        return pending, response.headers.get("location", "")

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


def _code(location: str) -> str:
    return dict(parse_qsl(urlsplit(location).query)).get("code", "")


async def code_interception(run: Run) -> AttackResult:
    client = run.client
    mode = "pkce" if run.defence_on else "insecure"
    _pending, location = await run.authorize_as(mode, client.config.victim, client.sessions.new())
    reg = client.config.registration(mode)
    client.emit(
        "code.intercepted",
        run.flow_id,
        channel="front",
        source="browser",
        target="client",
        summary="A malicious app registered on the same redirect URI receives the code first",
        data={"actor": "malicious app", "client_id": reg.client_id},
    )
    form = {
        "grant_type": "authorization_code",
        "code": _code(location),
        "redirect_uri": client.config.redirect_uri,
    }
    r, body = await client.oauth.token_request(
        reg, form, run.flow_id
    )  # no code_verifier: it never saw one
    if r.status_code == 200:
        thief = client.sessions.new()
        await client.oauth.receive_tokens(thief, reg, body, run.flow_id, who="The malicious app")
        return run.finish(
            "the malicious app redeemed the stolen code and holds the user's tokens",
            not run.defence_on,
        )
    outcome = f"token request refused: {body.get('error')} ({body.get('error_description')})"
    return run.finish(outcome, run.defence_on and body.get("error") == "invalid_grant")


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
    _pending, location = await run.authorize_as("pkce", client.config.victim, victim)
    async with run.browser() as http:
        await run.open_callback(http, location, victim)  # the real client redeems the code
    reg = client.config.public
    form = {
        "grant_type": "authorization_code",
        "code": _code(location),
        "redirect_uri": client.config.redirect_uri,
    }
    r, body = await client.oauth.token_request(
        reg, form, run.flow_id
    )  # replayed from browser history
    refresh = (victim.tokens or {}).get("refresh_token")
    after = ""
    if refresh:
        r2, body2 = await client.oauth.token_request(
            reg, {"grant_type": "refresh_token", "refresh_token": str(refresh)}, run.flow_id
        )
        after = (
            f"; the legitimate client's refresh token now fails too: {body2.get('error')}"
            if r2.status_code != 200
            else "; but the legitimate refresh token still works"
        )
    ok = r.status_code == 400 and body.get("error") == "invalid_grant" and "fails too" in after
    return run.finish(
        f"replay refused: {body.get('error')} ({body.get('error_description')}){after}", ok
    )


async def refresh_replay(run: Run) -> AttackResult:
    client = run.client
    victim = client.sessions.new()
    _pending, location = await run.authorize_as("pkce", client.config.victim, victim)
    async with run.browser() as http:
        await run.open_callback(http, location, victim)
    reg = client.config.public
    old = str((victim.tokens or {}).get("refresh_token", ""))
    r1, body1 = await client.oauth.token_request(
        reg, {"grant_type": "refresh_token", "refresh_token": old}, run.flow_id
    )
    new = str(body1.get("refresh_token", ""))
    _r2, body2 = await client.oauth.token_request(
        reg, {"grant_type": "refresh_token", "refresh_token": old}, run.flow_id
    )
    _r3, body3 = await client.oauth.token_request(
        reg, {"grant_type": "refresh_token", "refresh_token": new}, run.flow_id
    )
    ok = (
        r1.status_code == 200
        and body2.get("error") == "invalid_grant"
        and body3.get("error") == "invalid_grant"
    )
    outcome = (
        f"rotation worked ({r1.status_code}); the replayed old token was refused: {body2.get('error')} "
        f"({body2.get('error_description')}); the family is revoked, the new token fails too: {body3.get('error')}"
    )
    return run.finish(outcome, ok)


async def redirect_tampering(run: Run) -> AttackResult:
    client = run.client
    reg = client.config.confidential
    evil = "https://attacker.example/callback"
    state = new_token(12)
    run.started(authorization_flow_id(reg.client_id, evil, state, None, None), "other")
    query = urlencode(
        {
            "response_type": "code",
            "client_id": reg.client_id,
            "redirect_uri": evil,
            "scope": "read:profile",
            "state": state,
        }
    )
    async with run.browser() as http:
        response = await http.get(f"{client.config.issuer}/authorize?{query}")
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
