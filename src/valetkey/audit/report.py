"""An audit's report: a table for the terminal, JSON, JUnit XML (one testcase per check: a fail is
a failure, a skip is skipped) and a self-contained HTML page."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from typing import Any

from rich.table import Table

from valetkey.audit.runner import Report

STYLES = {"pass": "green", "fail": "bold red", "skip": "yellow"}
COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "skip": "#9a6700"}


def to_json(report: Report) -> dict[str, Any]:
    return {
        "issuer": report.issuer,
        "client_id": report.client_id,
        "client_type": report.client_type,
        "date": report.date,
        "counts": report.counts,
        "high_severity_failures": [f.check.id for f in report.high_failures],
        "findings": [f.to_json() for f in report.findings],
    }


def _clean(text: str) -> str:
    """XML 1.0 allows no control characters but tab, newline and carriage return."""
    return "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20)


def to_junit(report: Report) -> str:
    counts = report.counts
    suite = ET.Element(
        "testsuite", name=f"valetkey audit {report.issuer}", tests=str(len(report.findings)),
        failures=str(counts.get("fail", 0)), errors="0", skipped=str(counts.get("skip", 0)),
        time=f"{sum(f.seconds for f in report.findings):.3f}", timestamp=report.date,
    )  # fmt: skip
    for f in report.findings:
        case = ET.SubElement(
            suite, "testcase", classname=f"audit.{f.check.severity}", name=f.check.id,
            time=f"{f.seconds:.3f}",
        )  # fmt: skip
        text = _clean(
            f"{f.check.title} ({f.check.spec}, severity {f.check.severity}): {f.evidence}"
        )
        if f.status == "fail":
            ET.SubElement(case, "failure", type=f.check.severity, message=text).text = text
        elif f.status == "skip":
            ET.SubElement(case, "skipped", message=text)
        else:
            ET.SubElement(case, "system-out").text = text
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def table(report: Report) -> Table:
    out = Table(title=f"valetkey audit {report.issuer} ({report.client_type} client "
                f"{report.client_id})", title_justify="left")  # fmt: skip
    for name in ("check", "result", "severity", "spec", "evidence"):
        out.add_column(name, overflow="fold")
    for f in report.findings:
        out.add_row(f.check.id, f"[{STYLES[f.status]}]{f.status}[/]", f.check.severity,
                    f.check.spec, f.evidence)  # fmt: skip
    return out


def summary(report: Report) -> str:
    counts = ", ".join(f"{n} {s}" for s, n in sorted(report.counts.items()))
    high = report.high_failures
    verdict = f"HIGH SEVERITY: {', '.join(f.check.id for f in high)}" if high else "no high failure"
    return f"{report.issuer}: {len(report.findings)} checks: {counts}: {verdict}"


def to_html(report: Report) -> str:
    e = html.escape
    rows = "\n".join(
        f"<tr><td><code>{e(f.check.id)}</code><br>{e(f.check.title)}</td>"
        f'<td style="color:{COLOURS[f.status]};font-weight:bold">{f.status}</td>'
        f"<td>{f.check.severity}</td><td>{e(f.check.spec)}</td><td>{e(f.evidence)}</td></tr>"
        for f in report.findings
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>valetkey audit {e(report.issuer)}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #d0d7de;padding:.4em;vertical-align:top;text-align:left}}
th{{background:#f6f8fa}}code{{font-size:13px}}</style></head><body>
<h1>valetkey audit</h1>
<p>Issuer <code>{e(report.issuer)}</code>, {report.client_type} client
<code>{e(report.client_id)}</code>, {e(report.date)}.</p>
<p>{e(summary(report))}</p>
<table><tr><th>check</th><th>result</th><th>severity</th><th>spec</th><th>evidence</th></tr>
{rows}
</table></body></html>
"""
