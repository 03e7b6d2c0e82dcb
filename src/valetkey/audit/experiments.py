"""Flows several checks read, each run once per audit (``Target.memo``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from valetkey.audit.model import Unavailable
from valetkey.audit.navigate import Landing
from valetkey.audit.target import Grant, Target, body, summary
from valetkey.core import pkce

# Every printable ASCII class a state may hold (RFC 6749 appendix A.5: %x20-7E), the URL-special
# ones included: a server that decodes, trims or re-encodes it changes what the client compares.
ODD_STATE = "audit state/+=&%20~.;'!"


@dataclass(frozen=True)
class Exchange:
    grant: Grant
    response: httpx.Response

    @property
    def tokens(self) -> dict[str, Any]:
        return body(self.response)


def baseline(t: Target) -> Exchange:
    """A normal flow: S256, an odd state, the code redeemed once."""

    def make() -> Exchange:
        grant = t.code(state=ODD_STATE)
        response = t.exchange(grant)
        if response.status_code != 200 or "access_token" not in body(response):
            raise Unavailable(f"the code exchange failed: {summary(response)}")
        return Exchange(grant, response)

    return t.memo("baseline", make)


def error_redirect(t: Target) -> Landing:
    """An authorization request whose only fault is an unknown response_type (RFC 6749 section
    4.1.2.1: the error goes back to the client, with state)."""

    def make() -> Landing:
        challenge = pkce.challenge_for(pkce.new_verifier(), "S256")
        return t.authorize(response_type="audit_unknown", state=ODD_STATE,
                           code_challenge=challenge, code_challenge_method="S256")  # fmt: skip

    return t.memo("error_redirect", make)


@dataclass(frozen=True)
class Attempt:
    """A code asked for some way, and what redeeming it gave (None: no code was issued)."""

    landing: Landing
    redeemed: httpx.Response | None


def attempt(t: Target, method: str | None, send_verifier: bool = True) -> Attempt:
    """Ask for a code with PKCE ``method`` (None: no challenge) and redeem it, if one comes, with
    the matching verifier (or, with no challenge, a verifier anyway when ``send_verifier``)."""

    def make() -> Attempt:
        verifier = pkce.new_verifier()
        params: dict[str, str | None] = {}
        if method:
            params = {"code_challenge": pkce.challenge_for(verifier, method),
                      "code_challenge_method": method}  # fmt: skip
        landing = t.authorize(**params)
        code = landing.params.get("code")
        if not code:
            return Attempt(landing, None)
        grant = Grant(code, verifier if (method or send_verifier) else None, landing, "")
        return Attempt(landing, t.exchange(grant))

    return t.memo(f"attempt-{method}-{send_verifier}", make)


@dataclass(frozen=True)
class Replay:
    first: httpx.Response
    second: httpx.Response


def replay(t: Target) -> Replay:
    def make() -> Replay:
        grant = t.code()
        first = t.exchange(grant)
        if first.status_code != 200:
            raise Unavailable(f"the first exchange failed: {summary(first)}")
        return Replay(first, t.exchange(grant))

    return t.memo("replay", make)


@dataclass(frozen=True)
class Rotation:
    old: str
    new: str | None
    reuse: httpx.Response | None = None  # the old one sent again after rotation
    after: httpx.Response | None = None  # then the new one


def rotation(t: Target) -> Rotation:
    def make() -> Rotation:
        first = t.exchange(t.code())
        old = body(first).get("refresh_token")
        if not isinstance(old, str):
            raise Unavailable(
                f"no refresh token was issued (scope? grant types?): {summary(first)}"
            )
        refreshed = t.refresh(old)
        if refreshed.status_code != 200:
            raise Unavailable(f"the first refresh failed: {summary(refreshed)}")
        new = body(refreshed).get("refresh_token")
        if not isinstance(new, str) or new == old:
            return Rotation(old, None)
        reuse = t.refresh(old)
        return Rotation(old, new, reuse, t.refresh(new))

    return t.memo("rotation", make)
