"""What an audit is made of: checks as data (name, spec section, severity, the probe that runs it)
and the finding each produces (pass, fail or skip, with the evidence seen on the wire)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from valetkey.audit.target import Target

Severity = Literal["high", "medium", "low"]
Status = Literal["pass", "fail", "skip"]
SEVERITIES: tuple[Severity, ...] = ("high", "medium", "low")


@dataclass(frozen=True)
class Result:
    """What a probe concluded, and why (the requests and answers that show it)."""

    status: Status
    evidence: str


def passed(evidence: str) -> Result:
    return Result("pass", evidence)


def failed(evidence: str) -> Result:
    return Result("fail", evidence)


def skipped(evidence: str) -> Result:
    return Result("skip", evidence)


class Unavailable(Exception):
    """A probe cannot run here (a prerequisite failed, or the target offers nothing to test):
    the check is reported as skipped with this message."""


@dataclass(frozen=True)
class Check:
    id: str  # stable name, e.g. "pkce.required"
    title: str  # what a correct server does, in one line
    spec: str  # the spec and section, e.g. "RFC 9700 section 2.1.1"
    severity: Severity
    probe: Callable[[Target], Result]


@dataclass(frozen=True)
class Finding:
    check: Check
    status: Status
    evidence: str
    seconds: float

    def to_json(self) -> dict[str, object]:
        return {
            "check": self.check.id,
            "title": self.check.title,
            "spec": self.check.spec,
            "severity": self.check.severity,
            "status": self.status,
            "evidence": self.evidence,
            "seconds": round(self.seconds, 3),
        }
