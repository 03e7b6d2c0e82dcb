"""Judging an attempt from plain values: what the lab saw and how the client's process ended."""

from __future__ import annotations

import pytest

from valetkey.lab.catalogue import BY_NAME
from valetkey.lab.judge import Observed, ProcessResult, crash, judge, uncaught

CLEAN_REFUSAL = ProcessResult(1, "refused: StateMismatch: state differs\n", 0.5, 20)
FINISHED = ProcessResult(0, "finished the flow\n", 0.5, 20)
PY_TRACE = (
    "Traceback (most recent call last):\n  File \"x.py\", line 3, in <module>\n"
    "    main()\nKeyError: 'access_token'\n"
)
JS_TRACE = (
    "file:///c.mjs:12\n  throw err\n  ^\n\nSyntaxError: Unexpected token < in JSON at position 0\n"
    "    at JSON.parse (<anonymous>)\n    at main (file:///c.mjs:9:3)\n\nNode.js v20.20.2\n"
)
DELIVERED = Observed("the callback's state was not the one it sent", None, False)
ACCEPTED = Observed("x", "it sent a code to /token with the code, although ...", False)

CASES = [
    # (fault, observed, process, verdict, evidence contains)
    ("state-altered", DELIVERED, CLEAN_REFUSAL, "refused", "state differs"),
    ("state-altered", ACCEPTED, CLEAN_REFUSAL, "accepted", "sent a code"),
    ("state-altered", ACCEPTED, ProcessResult(1, PY_TRACE, 1, 20), "accepted", "sent a code"),
    ("state-altered", DELIVERED, ProcessResult(1, PY_TRACE, 1, 20), "crashed", "KeyError"),
    ("token-html", DELIVERED, ProcessResult(1, JS_TRACE, 1, 20), "crashed", "SyntaxError"),
    ("token-slow", DELIVERED, ProcessResult(None, "", 20, 20), "crashed", "hung"),
    ("token-503", DELIVERED, ProcessResult(-9, "", 1, 20), "crashed", "signal 9"),
    ("token-503", DELIVERED, ProcessResult(3, "  \n", 1, 20), "crashed", "without saying why"),
    ("token-503", DELIVERED, ProcessResult(0, "", 1, 20), "refused", "exit status 0"),
    ("id-token-aud", Observed(None, None, False), CLEAN_REFUSAL, "not_reached", "before the lab"),
    ("baseline", Observed(None, None, True), FINISHED, "survived", "finished"),
    ("baseline", Observed(None, None, False), CLEAN_REFUSAL, "gave_up", "state differs"),
    ("jwks-rotated", Observed("rotated", None, False), CLEAN_REFUSAL, "gave_up", "did not finish"),
    ("refresh-reuse", Observed("rotated", "it refreshed with ...", True), FINISHED, "accepted", ""),
    ("error-without-state", Observed("d", None, False, "MARK123"),
     ProcessResult(1, "refused: access_denied: The user declined (lab MARK123)\n", 1, 20),
     "accepted", "repeats the forged error"),
    ("error-without-state", Observed("d", None, False, "MARK123"), CLEAN_REFUSAL, "refused", ""),
]  # fmt: skip


@pytest.mark.parametrize(("name", "seen", "proc", "verdict", "evidence"), CASES)
def test_verdicts(name: str, seen: Observed, proc: ProcessResult, verdict: str, evidence: str) -> None:
    got, detail = judge(BY_NAME[name], seen, proc)
    assert got == verdict, detail
    assert evidence in detail


def test_an_uncaught_exception_is_found_in_python_and_javascript_output() -> None:
    assert uncaught(PY_TRACE) == "KeyError: 'access_token'"
    assert uncaught(JS_TRACE) == "SyntaxError: Unexpected token < in JSON at position 0"
    assert uncaught("refused: ResponseBodyError: invalid_grant\n") is None
    # A refusal that quotes a URL with "at" in it is no stack frame.
    assert uncaught("refused: cannot reach http://127.0.0.1/at x\n") is None


def test_a_clean_exit_is_no_crash() -> None:
    assert crash(CLEAN_REFUSAL) is None and crash(FINISHED) is None
