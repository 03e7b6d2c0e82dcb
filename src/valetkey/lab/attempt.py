"""One client's attempt at one fault: what the lab handed out, and what the client did with it.

Everything the lab hands out (codes, access and refresh tokens) is recorded. A fault *taints* what
it touched: the code of a forged callback, the tokens that came with a forged ID token, a refresh
token rotated away. The client accepts the fault the moment it presents a tainted value again;
that first presentation is the attempt's ``violation``, the evidence of an "accepted" verdict.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from valetkey.core.secrets import new_token
from valetkey.lab.catalogue import Fault
from valetkey.lab.judge import Observed

Kind = Literal["code", "access", "refresh"]
REFRESHES = 2  # the client script refreshes twice; the flow is complete after the last call


@dataclass
class Issued:
    kind: Kind
    label: str  # "the code", "the access token of refresh 1"
    taint: str | None = None  # why presenting it again means the client accepted the fault
    revoked: bool = False
    retired: bool = False  # a refresh token rotated away


@dataclass(frozen=True)
class CodeGrant:
    """What an authorization code was issued for (checked honestly at the token endpoint)."""

    client_id: str
    redirect_uri: str
    challenge: str | None
    method: str | None
    nonce: str | None
    scope: str


@dataclass(frozen=True)
class Move:
    at: float  # seconds since the attempt began
    what: str


@dataclass
class Attempt:
    fault: Fault
    number: int
    begun: float = field(default_factory=time.monotonic)
    flow_id: str = field(default_factory=lambda: "lab-" + new_token(9))
    marker: str = field(default_factory=lambda: new_token(9))  # for error-without-state
    moves: list[Move] = field(default_factory=list)
    issued: dict[str, Issued] = field(default_factory=dict)
    grants: dict[str, CodeGrant] = field(default_factory=dict)
    used_codes: set[str] = field(default_factory=set)
    delivered: str | None = None  # the fault, as the lab committed it
    violation: str | None = None
    off_limits: str | None = None  # why the flow's endpoints must not be used (discovery)
    client_id: str = ""  # as the code was exchanged: what refreshes answer for
    scope: str = ""
    refreshes: int = 0
    latest_access: str | None = None
    completed: bool = False
    keys_rotated: bool = False
    active: bool = True  # false once replaced by a newer attempt

    def move(self, what: str) -> None:
        self.moves.append(Move(round(time.monotonic() - self.begun, 3), what))

    def issue(self, kind: Kind, label: str, taint: str | None = None) -> str:
        value = new_token(24)
        self.issued[value] = Issued(kind, label, taint)
        if kind == "access":
            self.latest_access = value
        return value

    def deliver(self, what: str) -> None:
        if self.delivered is None:
            self.delivered = what
            self.move("lab: " + what)

    def accepted(self, evidence: str) -> None:
        if self.violation is None:
            self.violation = evidence
            self.move("ACCEPTED: " + evidence)

    def present(self, value: str | None, kind: Kind, where: str) -> Issued | None:
        """The record of a value the client sent back; presenting a tainted one is accepting."""
        found = self.issued.get(value or "")
        if found is None or found.kind != kind:
            return None
        if found.taint is not None:
            self.accepted(f"{where} with {found.label}, although {found.taint}")
        return found

    def taint(self, value: str, why: str) -> None:
        self.issued[value].taint = why

    def enter(self, endpoint: str) -> None:
        """Going to an endpoint the faulty metadata named is accepting that metadata."""
        if self.off_limits is not None:
            self.accepted(f"it went to {endpoint}, although {self.off_limits}")

    def revoke_all(self) -> None:
        for record in self.issued.values():
            record.revoked = True

    @property
    def seen_only_discovery(self) -> bool:
        return all(m.what.startswith("GET metadata") for m in self.moves)

    def observed(self) -> Observed:
        marker = self.marker if self.fault.name == "error-without-state" else None
        return Observed(self.delivered, self.violation, self.completed, marker)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fault": self.fault.name,
            "attempt": self.number,
            "delivered": self.delivered,
            "violation": self.violation,
            "completed": self.completed,
            "moves": [f"{m.at:.3f}s {m.what}" for m in self.moves],
        }
