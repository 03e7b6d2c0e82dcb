"""What a probe concludes: pass, fail or skip, with the evidence seen on the wire."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
