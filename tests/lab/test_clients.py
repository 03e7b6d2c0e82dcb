"""Real clients through the whole catalogue, as real processes against a real lab.

valetkey's own client must refuse (or survive) every fault; a fault it accepts is a defect of
src/valetkey/client/, marked below until it is fixed. The third-party clients' verdicts are
whatever they are (docs/lab.md publishes them); here their reports must be complete and well formed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.peers import CLIENTS, THIRD_PARTY, require_node_clients
from tests.support.servers import isolated_env
from valetkey.lab.catalogue import FAULTS
from valetkey.lab.judge import ERRORED, FAILED, PASSED
from valetkey.lab.report import Report, to_json, to_junit
from valetkey.lab.runner import run_all
from valetkey.lab.server import LabServer
from valetkey.lab.state import Lab

pytestmark = pytest.mark.e2e
VERDICTS = PASSED | FAILED | ERRORED
# Faults valetkey's client accepts today: defects in src/valetkey/client/ (see docs/lab.md).
OWN_DEFECTS: dict[str, str] = {}  # faults valetkey's own client does not yet refuse


@pytest.fixture(scope="module")
def own_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`valetkey lab run --client valetkey` as a user runs it, JSON and JUnit written."""
    tmp = tmp_path_factory.mktemp("lab-own")
    done = subprocess.run(
        [sys.executable, "-m", "valetkey", "lab", "run", "--client", "valetkey", "--jobs", "2",
         "--timeout", "15", "--json", str(tmp / "r.json"), "--junit", str(tmp / "r.xml")],
        capture_output=True, text=True, timeout=300, cwd=tmp,
        env={**os.environ, **isolated_env(tmp)},
    )  # fmt: skip
    report = json.loads((tmp / "r.json").read_text())
    report["exit_code"], report["stdout"] = done.returncode, done.stdout
    report["junit"] = ET.parse(tmp / "r.xml").getroot()
    return report


def _own_case(fault: str) -> Any:
    marks = []
    if fault in OWN_DEFECTS:
        marks.append(pytest.mark.xfail(reason="defect: " + OWN_DEFECTS[fault], strict=True))
    return pytest.param(fault, marks=marks, id=fault)


@pytest.mark.parametrize("fault", [_own_case(f.name) for f in FAULTS])
def test_valetkey_client_refuses_or_survives(own_report: dict[str, Any], fault: str) -> None:
    result = next(r for r in own_report["results"] if r["fault"] == fault)
    expected = "survived" if result["expect"] == "survive" else "refused"
    assert result["verdict"] == expected, result["detail"]


def test_the_cli_run_reports_in_every_form(own_report: dict[str, Any]) -> None:
    assert [r["fault"] for r in own_report["results"]] == [f.name for f in FAULTS]
    failing = [r["fault"] for r in own_report["results"] if not r["ok"]]
    assert own_report["exit_code"] == (1 if failing else 0)
    assert "valetkey: 28 runs" in own_report["stdout"]
    suite = own_report["junit"].find("testsuite")
    assert suite is not None and int(suite.get("tests")) == len(FAULTS)
    assert int(suite.get("failures")) + int(suite.get("errors")) == len(failing)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with LabServer.create(hold_seconds=20).in_background() as running:
        yield running


@pytest.mark.parametrize("name", THIRD_PARTY)
def test_a_third_party_client_through_the_whole_catalogue(lab: Lab, name: str, tmp_path: Path) -> None:
    if name != "Authlib":
        require_node_clients()
    outcomes = run_all(lab, FAULTS, CLIENTS[name], client_id="lab-client",
                       redirect_uri="http://127.0.0.1/callback", limit=15, jobs=2)  # fmt: skip
    report = Report(name, CLIENTS[name], "2026-01-01T00:00:00+00:00", outcomes)
    assert [o.fault.name for o in outcomes] == [f.name for f in FAULTS]
    assert {o.verdict for o in outcomes} <= VERDICTS
    by_fault = {o.fault.name: o for o in outcomes}
    # The driver itself works: the honest flow finishes, so every other verdict means something.
    assert by_fault["baseline"].verdict == "survived", by_fault["baseline"].output
    for o in outcomes:
        assert o.detail and o.moves, o.fault.name  # evidence for every verdict
        if o.verdict == "accepted":
            assert o.delivered is not None
    (tmp_path / "r.xml").write_text(to_junit(report))
    suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    assert suite is not None and int(suite.get("tests")) == len(FAULTS)
    assert json.loads(json.dumps(to_json(report)))["counts"] == report.counts
