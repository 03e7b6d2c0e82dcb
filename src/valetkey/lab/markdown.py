"""The catalogue and a run's results as Markdown tables (docs/lab.md is written from these)."""

from __future__ import annotations

from collections.abc import Sequence

from valetkey.lab.catalogue import FAULTS
from valetkey.lab.report import Report

MARK = {
    "refused": "refused",
    "survived": "survived",
    "accepted": "**ACCEPTED**",
    "gave_up": "**gave up**",
    "crashed": "**crashed**",
    "not_reached": "not reached",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def catalogue() -> str:
    lines = [
        "| Fault | What the lab does | What a correct client does | Rule | Spec | Judged |",
        "|---|---|---|---|---|---|",
    ]
    for f in FAULTS:
        cells = (f"`{f.name}`", f.does, f.should, f"`{f.rule}`", f.spec, f.judged_by)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def results(reports: Sequence[Report]) -> str:
    """One column per client, one row per fault; each cell the verdict, details below."""
    head = "| Fault | " + " | ".join(_cell(r.client) for r in reports) + " |"
    lines = [head, "|---|" + "---|" * len(reports)]
    by_client = [{o.fault.name: o for o in r.outcomes} for r in reports]
    for f in FAULTS:
        cells = [MARK[o.verdict] if (o := found.get(f.name)) else "" for found in by_client]
        if any(cells):
            lines.append(f"| `{f.name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def evidence(report: Report) -> str:
    """What each client said or did, fault by fault (the evidence behind each verdict)."""
    lines = [f"#### {report.client}", "", f"`{report.command}`", ""]
    lines += ["| Fault | Verdict | Evidence |", "|---|---|---|"]
    for o in report.outcomes:
        lines.append(f"| `{o.fault.name}` | {MARK[o.verdict]} | {_cell(o.detail)} |")
    return "\n".join(lines) + "\n"
