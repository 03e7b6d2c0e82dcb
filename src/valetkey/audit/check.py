"""What an audit is made of: checks as data (name, spec section, severity, the probe that runs it)
and the finding each produces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from valetkey.audit.model import Result, Severity, Status
from valetkey.audit.target import Target


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
