"""A lab run's report: a table for the terminal, JSON, and JUnit XML for CI (one testcase per
fault; ``accepted`` and ``gave_up`` are failures, ``crashed`` and ``not_reached`` errors)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from valetkey.lab.judge import ERRORED, FAILED, PASSED
from valetkey.lab.runner import Outcome

STYLES = {
    "refused": "green",
    "survived": "green",
    "accepted": "bold red",
    "gave_up": "red",
    "crashed": "bold magenta",
    "not_reached": "yellow",
}


@dataclass(frozen=True)
class Report:
    client: str  # a label for the client under test
    command: str
    date: str  # ISO 8601, UTC
    outcomes: Sequence[Outcome]

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(o.verdict for o in self.outcomes))

    @property
    def passed(self) -> bool:
        return all(o.verdict in PASSED for o in self.outcomes)


def to_json(report: Report) -> dict[str, Any]:
    return {
        "client": report.client,
        "command": report.command,
        "date": report.date,
        "passed": report.passed,
        "counts": report.counts,
        "results": [
            {
                "fault": o.fault.name,
                "stage": o.fault.stage,
                "expect": o.fault.expect,
                "verdict": o.verdict,
                "ok": o.verdict in PASSED,
                "detail": o.detail,
                "lab_did": o.delivered,
                "rule": o.fault.rule,
                "spec": o.fault.spec,
                "correct_client": o.fault.should,
                "seconds": o.seconds,
                "exit_code": o.exit_code,
                "moves": list(o.moves),
                "output": o.output,
            }
            for o in report.outcomes
        ],
    }


def to_junit(report: Report) -> str:
    counts = report.counts
    suite = ET.Element(
        "testsuite",
        name=f"valetkey lab: {report.client}",
        tests=str(len(report.outcomes)),
        failures=str(sum(counts.get(v, 0) for v in FAILED)),
        errors=str(sum(counts.get(v, 0) for v in ERRORED)),
        skipped="0",
        time=f"{sum(o.seconds for o in report.outcomes):.3f}",
        timestamp=report.date,
    )
    for o in report.outcomes:
        case = ET.SubElement(
            suite, "testcase", classname=f"lab.{o.fault.stage}", name=o.fault.name,
            time=f"{o.seconds:.3f}",
        )  # fmt: skip
        if o.verdict not in PASSED:
            tag = "failure" if o.verdict in FAILED else "error"
            problem = ET.SubElement(case, tag, type=o.verdict, message=_clean(o.detail))
            problem.text = _clean(
                f"The lab {o.fault.does}.\nA correct client would {o.fault.should} "
                f"({o.fault.rule}, {o.fault.spec}).\nVerdict: {o.verdict}: {o.detail}\n\n"
                "What the lab saw:\n" + "\n".join(o.moves)
            )
        ET.SubElement(case, "system-out").text = _clean(o.output)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _clean(text: str) -> str:
    """XML 1.0 allows no control characters but tab, newline and carriage return."""
    return "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20)


def table(report: Report) -> Table:
    out = Table(title=f"valetkey lab: {report.client}", title_justify="left", expand=False)
    for name in ("fault", "verdict", "what the lab did / the rule", "evidence"):
        out.add_column(name, overflow="fold")
    for o in report.outcomes:
        style = STYLES.get(o.verdict, "")
        out.add_row(
            o.fault.name,
            f"[{style}]{o.verdict}[/]",
            f"{o.fault.does}\n[dim]{o.fault.rule} · {o.fault.spec}[/]",
            o.detail,
        )
    return out


def summary(report: Report) -> str:
    counts = ", ".join(f"{n} {v}" for v, n in sorted(report.counts.items()))
    verdict = "every fault refused or survived" if report.passed else "DEFECTS FOUND"
    return f"{report.client}: {len(report.outcomes)} runs: {counts}: {verdict}"
