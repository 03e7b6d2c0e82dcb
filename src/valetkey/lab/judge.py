"""The verdict on one client's attempt at one fault, from plain values: what the lab saw the
client do next, and how the client's process ended.

- ``accepted``: the client made the move the fault forbids (it exchanged a forged callback's code,
  used a token that came with a bad ID token, reused a rotated refresh token, ...) or, for the
  forged error response, repeated its description as the server's answer. A defect.
- ``crashed``: otherwise, the process did not end cleanly: it hit the time limit, died from a
  signal, left an uncaught exception (a Python traceback or a JavaScript stack), or exited non-zero
  without a word. An error.
- ``refused``: a fault the client must refuse, committed by the lab, and none of the above.
- ``survived`` / ``gave_up``: a fault the client must survive: it finished the flow, or it did not.
- ``not_reached``: the client stopped before the lab could commit the fault (see the baseline).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from valetkey.lab.catalogue import Fault

Verdict = Literal["refused", "survived", "accepted", "gave_up", "crashed", "not_reached"]
PASSED: frozenset[str] = frozenset({"refused", "survived"})
FAILED: frozenset[str] = frozenset({"accepted", "gave_up"})  # JUnit <failure>
ERRORED: frozenset[str] = frozenset({"crashed", "not_reached"})  # JUnit <error>

_PY_TRACEBACK = "Traceback (most recent call last):"
_JS_FRAME = re.compile(r"^\s+at \S.*$", re.MULTILINE)


@dataclass(frozen=True)
class ProcessResult:
    exit_code: int | None  # None: killed at the time limit
    output: str  # stdout and stderr, interleaved
    seconds: float
    limit: float


@dataclass(frozen=True)
class Observed:
    """What the lab saw during the attempt (a snapshot of ``attempt.Attempt``)."""

    delivered: str | None
    violation: str | None
    completed: bool
    marker: str | None = None  # a text only a client that took a forged error would repeat


def last_line(text: str, limit: int = 240) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[-1] if lines else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def uncaught(output: str) -> str | None:
    """The error line of an uncaught Python or JavaScript exception in ``output``, or None."""
    if _PY_TRACEBACK in output:
        return last_line(output.split(_PY_TRACEBACK)[-1])
    frame = _JS_FRAME.search(output)
    if frame is None:
        return None
    before = output[: frame.start()].rstrip().splitlines()
    return last_line(before[-1] if before else frame.group(0))


def crash(proc: ProcessResult) -> str | None:
    """Why the process did not end cleanly, or None."""
    if proc.exit_code is None:
        return f"hung: still running after the {proc.limit:g} s time limit (killed)"
    if proc.exit_code < 0:
        return f"killed by signal {-proc.exit_code}"
    error = uncaught(proc.output)
    if error is not None:
        return f"uncaught exception: {error}"
    if proc.exit_code != 0 and not proc.output.strip():
        return f"exited with status {proc.exit_code} without saying why"
    return None


def judge(fault: Fault, seen: Observed, proc: ProcessResult) -> tuple[Verdict, str]:
    """The verdict and the evidence for it."""
    if seen.violation is not None:
        return "accepted", seen.violation
    if seen.marker and seen.marker in proc.output:
        return "accepted", "its output repeats the forged error response's description"
    reason = crash(proc)
    if reason is not None:
        return "crashed", reason
    said = last_line(proc.output) or f"(exit status {proc.exit_code}, no output)"
    if fault.expect == "survive":
        if seen.completed:
            return "survived", "finished the flow"
        return "gave_up", f"did not finish the flow: {said}"
    if seen.delivered is None:
        return "not_reached", f"stopped before the lab committed the fault: {said}"
    return "refused", said
