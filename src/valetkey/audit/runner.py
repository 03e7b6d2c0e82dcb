"""Run the checks against a target, one finding per check."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from valetkey.audit.catalogue import CHECKS
from valetkey.audit.check import Check, Finding
from valetkey.audit.model import Result, Unavailable, skipped
from valetkey.audit.target import Target
from valetkey.client import ClientError


@dataclass(frozen=True)
class Report:
    issuer: str
    client_id: str
    client_type: str  # "public" or "confidential"
    date: str  # ISO 8601, UTC
    findings: tuple[Finding, ...]

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(f.status for f in self.findings))

    @property
    def high_failures(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "fail" and f.check.severity == "high"]


def run_check(target: Target, check: Check) -> Result:
    try:
        return check.probe(target)
    except Unavailable as exc:
        return skipped(str(exc))
    except (httpx.HTTPError, ClientError) as exc:
        return skipped(f"could not run: {type(exc).__name__}: {exc}")


def audit(
    target: Target,
    checks: Sequence[Check] = CHECKS,
    progress: Callable[[Finding], None] | None = None,
) -> Report:
    """Discover the target (raises ClientError when that fails), then run every check."""
    target.discover()
    findings = []
    for check in checks:
        began = time.monotonic()
        result = run_check(target, check)
        finding = Finding(check, result.status, result.evidence, time.monotonic() - began)
        findings.append(finding)
        if progress:
            progress(finding)
    return Report(
        target.config.issuer,
        target.config.client_id,
        "public" if target.config.public else "confidential",
        datetime.now(UTC).isoformat(timespec="seconds"),
        tuple(findings),
    )
