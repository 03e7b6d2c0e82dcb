"""Refusals that revoke a grant, as typed decisions that carry what to revoke.

A replayed authorization code (RFC 6749 §4.1.2) or a reused rotated refresh token (RFC 9700
§4.14.2) is refused like any other bad request, and the decision also names the grant to revoke.
The store applies a :class:`Revocation` without knowing why (the grant and every token issued from
it); the server emits ``grant.revoked`` from the decision's type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol, TypeVar

from valetkey.core.checks import Rejected, Rule, run_rules
from valetkey.core.events import Check


@dataclass(frozen=True)
class Revocation:
    """Revoke ``grant_id`` and every token issued from it; ``reason`` is stored with the grant."""

    grant_id: str
    reason: str
    spec: str
    summary: ClassVar[str] = "The grant and every token issued from it are revoked"


@dataclass(frozen=True)
class Replay(Revocation):
    """An authorization code presented again after it was redeemed."""

    reason: str = "authorization code replayed"
    spec: str = "RFC 9700 §4.2.4"
    summary: ClassVar[str] = (
        "Code replay: the grant and every token issued from the code are revoked"
    )


@dataclass(frozen=True)
class Reuse(Revocation):
    """A refresh token presented again after it was rotated."""

    reason: str = "refresh token reused"
    spec: str = "RFC 9700 §4.14.2"
    summary: ClassVar[str] = "Refresh token reuse: the whole grant is revoked"


class Refused(Rejected):
    """A refusal whose decision also revokes: the store rolls the request back, then applies
    ``revocation``; the client gets ``error`` like any other refusal."""

    def __init__(self, rejected: Rejected, revocation: Revocation) -> None:
        super().__init__(rejected.error, rejected.checks)
        self.revocation = revocation


class Revoking(Protocol):
    """A decision context a rule may mark with the revocation its refusal carries."""

    revoke: Revocation | None


C = TypeVar("C", bound=Revoking)


def run_revoking_rules(rules: Sequence[Rule[C]], ctx: C) -> tuple[Check, ...]:
    """``run_rules``; a refusal by the rule that set ``ctx.revoke`` becomes :class:`Refused`."""
    try:
        return run_rules(rules, ctx)
    except Rejected as rejected:
        if ctx.revoke is None:
            raise
        raise Refused(rejected, ctx.revoke) from rejected.__cause__
