"""What every attack scenario shares: its description, its result, and a :class:`Run` (the
attack's flow, a scripted victim browser, the outcome event)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx

from valetkey.client import ClientError, OAuthServerError, PendingAuthorization
from valetkey.client.dpop import DPoPSession
from valetkey.client.io import Flow
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
        self, mode: str, who: tuple[str, str], session: Session, dpop: DPoPSession | None = None
    ) -> tuple[Pending, str]:
        """Start a login at the client and sign in at the server; return the callback URL. With
        ``dpop`` the client redeems the code with proofs of that key (RFC 9449 §5)."""
        pending = replace(await self.client.oauth.prepare(mode, False), dpop=dpop)
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


def callback_params(location: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(location).query))


def from_history(pending: Pending, callback: dict[str, str]) -> PendingAuthorization:
    """What someone holding only the redirect URL has: its state, never the code_verifier."""
    return PendingAuthorization("", callback.get("state", ""), pending.request.redirect_uri, "code")


def refusal(exc: ClientError | None) -> tuple[str | None, str]:
    if isinstance(exc, OAuthServerError):
        return exc.error, f"{exc.error} ({exc.error_description})"
    return None, str(exc) if exc else "accepted"
