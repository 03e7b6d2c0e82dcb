"""docs/lab.md: the fault catalogue is the code's, and the published results cover every client
and every fault."""

from __future__ import annotations

import re
from pathlib import Path

from tests.lab.peers import CLIENTS
from tests.lab.publish import BEGIN, END
from valetkey.lab import markdown
from valetkey.lab.catalogue import FAULTS

DOC = Path(__file__).parents[2] / "docs" / "lab.md"


def _section(text: str, begin: str, end: str) -> str:
    found = re.search(re.escape(begin) + r"\n(.*?)" + re.escape(end), text, re.DOTALL)
    assert found, f"docs/lab.md lacks {begin}"
    return found.group(1)


def test_the_catalogue_in_the_docs_is_the_codes() -> None:
    begin = (
        "<!-- lab-catalogue: written from valetkey.lab.catalogue by "
        "`valetkey lab faults --markdown`; a test keeps them equal -->"
    )
    assert _section(DOC.read_text(), begin, "<!-- /lab-catalogue -->") == markdown.catalogue()


def test_the_published_results_cover_every_client_and_fault() -> None:
    results = _section(DOC.read_text(), BEGIN, END)
    header = next(line for line in results.splitlines() if line.startswith("| Fault |"))
    assert [c.split()[0] for c in header.strip("|").split("|")[1:]] == list(CLIENTS)
    rows = [line for line in results.splitlines() if line.startswith("| `")]
    table = rows[: len(FAULTS)]
    assert [r.split("|")[1].strip(" `") for r in table] == [f.name for f in FAULTS]
    assert all(len(r.strip("|").split("|")) == 1 + len(CLIENTS) for r in table)
    assert re.search(r"Run on \d{4}-\d{2}-\d{2} with valetkey \S+, Authlib \S+", results)
