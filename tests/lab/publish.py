"""`make lab`: run valetkey's client and the three third-party clients through the whole catalogue
and write their real results into docs/lab.md, between the lab-results markers."""

from __future__ import annotations

import datetime
import re
import sys
from pathlib import Path

from tests.lab.peers import CLIENTS, node_clients_problem, versions
from valetkey.lab import markdown
from valetkey.lab.catalogue import FAULTS
from valetkey.lab.report import Report, summary
from valetkey.lab.runner import run_all
from valetkey.lab.server import LabServer

DOC = Path(__file__).parents[2] / "docs" / "lab.md"
BEGIN, END = "<!-- lab-results: written by `make lab` -->", "<!-- /lab-results -->"
SHOWN = {  # the commands as a reader would type them from the repository's root
    "valetkey": "valetkey lab run --client valetkey",
    "openid-client": "node tests/lab/clients/openid_client.mjs {issuer} {client_id} {redirect_uri}",
    "oauth4webapi": "node tests/lab/clients/oauth4webapi.mjs {issuer} {client_id} {redirect_uri}",
    "Authlib": "python tests/lab/clients/authlib_client.py {issuer} {client_id} {redirect_uri}",
}


def run_clients(date: str, found: dict[str, str]) -> list[Report]:
    reports = []
    with LabServer.create(hold_seconds=25).in_background() as lab:
        for name, template in CLIENTS.items():
            print(f"[lab] {name}: {len(FAULTS)} runs", flush=True)
            outcomes = run_all(lab, FAULTS, template, client_id="lab-client",
                               redirect_uri="http://127.0.0.1/callback", limit=20, jobs=2)  # fmt: skip
            report = Report(f"{name} {found.get(name, '?')}", SHOWN[name], date, outcomes)
            print(f"[lab] {summary(report)}", flush=True)
            reports.append(report)
    return reports


def render(reports: list[Report], found: dict[str, str], date: str) -> str:
    stack = ", ".join(f"{k} {v}" for k, v in found.items())
    parts = [
        BEGIN,
        "",
        f"Run on {date} with {stack}, on loopback, `--timeout 20`, 2 runs at a time.",
        "",
        markdown.results(reports),
        "What each client said or did, fault by fault (the verdict's evidence):",
        "",
    ]
    parts += [markdown.evidence(r) for r in reports]
    return "\n".join(parts) + "\n" + END


def main() -> int:
    problem = node_clients_problem()
    if problem is not None:
        print(f"[lab] cannot run the npm clients: {problem}", file=sys.stderr)
        return 1
    found = versions()
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    text = render(run_clients(date, found), found, date)
    doc = DOC.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(doc):
        print(f"[lab] {DOC} has no {BEGIN} ... {END} section", file=sys.stderr)
        return 1
    DOC.write_text(pattern.sub(lambda _: text, doc))
    print(f"[lab] wrote the results into {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
