"""The report: JUnit XML a CI reads (one testcase per fault), JSON, and the Markdown tables."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from valetkey.lab import markdown
from valetkey.lab.catalogue import BY_NAME, FAULTS
from valetkey.lab.report import Report, summary, to_json, to_junit
from valetkey.lab.runner import Outcome, command


def _outcome(name: str, verdict: str, output: str = "refused: x\n") -> Outcome:
    return Outcome(BY_NAME[name], verdict, f"evidence for {name}", 0.5, 1, output,  # type: ignore[arg-type]
                   ("0.001s GET metadata",), "the lab did it")  # fmt: skip


REPORT = Report("some-client 1.0", "node c.mjs {issuer}", "2026-01-01T00:00:00+00:00", [
    _outcome("baseline", "survived", "finished the flow\n"),
    _outcome("state-altered", "refused"),
    _outcome("scope-wider", "accepted"),
    _outcome("jwks-rotated", "gave_up"),
    _outcome("token-html", "crashed", "SyntaxError: bad \x1b[31mcolour\x1b[0m\n    at x (y.js:1:2)\n"),
    _outcome("id-token-aud", "not_reached"),
])  # fmt: skip


def test_junit_has_one_testcase_per_fault_failures_for_defects_errors_for_crashes() -> None:
    root = ET.fromstring(to_junit(REPORT))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("6", "2", "2")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == ["baseline", "state-altered", "scope-wider", "jwks-rotated",
                           "token-html", "id-token-aud"]  # fmt: skip
    assert cases["baseline"].find("failure") is None and cases["baseline"].find("error") is None
    failure = cases["scope-wider"].find("failure")
    assert failure is not None and failure.get("type") == "accepted"
    assert "RFC 6749 §3.3" in (failure.text or "")  # the rule and its spec section
    error = cases["token-html"].find("error")
    assert error is not None and error.get("type") == "crashed"
    out = cases["token-html"].find("system-out")
    assert out is not None and "\x1b" not in (out.text or "")  # no control characters in XML


def test_json_carries_every_result_with_its_rule_and_evidence() -> None:
    data = json.loads(json.dumps(to_json(REPORT)))
    assert data["passed"] is False
    assert data["counts"] == {"survived": 1, "refused": 1, "accepted": 1, "gave_up": 1,
                              "crashed": 1, "not_reached": 1}  # fmt: skip
    first = data["results"][2]
    assert first["fault"] == "scope-wider" and first["ok"] is False
    assert first["spec"] == BY_NAME["scope-wider"].spec and first["moves"]
    assert "DEFECTS FOUND" in summary(REPORT)


def test_markdown_tables_list_every_fault() -> None:
    table = markdown.catalogue()
    assert all(f"`{f.name}`" in table for f in FAULTS)
    results = markdown.results([REPORT, REPORT])
    assert "| `scope-wider` | **ACCEPTED** | **ACCEPTED** |" in results
    assert "`token-503`" not in results  # not run: no row


def test_the_command_template_is_split_like_a_shell_and_filled_in() -> None:
    argv = command("node 'my dir/c.mjs' {issuer} --id={client_id}", {"issuer": "http://i", "client_id": "c"})
    assert argv == ["node", "my dir/c.mjs", "http://i", "--id=c"]
    assert command("valetkey", {"issuer": "http://i"})[1:4] == ["-m", "valetkey.lab.own_client", "http://i"]
