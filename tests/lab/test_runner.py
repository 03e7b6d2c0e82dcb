"""Running real client processes against a real lab: the next move, the exit, the time limit."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Iterator

import pytest

from valetkey.core.events import RecordingSink
from valetkey.lab.catalogue import BY_NAME
from valetkey.lab.runner import run_fault, run_process
from valetkey.lab.server import LabServer
from valetkey.lab.state import Lab

pytestmark = pytest.mark.e2e
PY = shlex.quote(sys.executable)


def _client(code: str) -> str:
    """A tiny client: Python with only urllib, ``{issuer}`` as ``I``."""
    prelude = "import sys, urllib.request as u; I = sys.argv[1]; "
    return f"{PY} -c {shlex.quote(prelude + code)} {{issuer}}"


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[Lab, RecordingSink]]:
    sink = RecordingSink()
    with LabServer.create(sink=sink, hold_seconds=10).in_background() as running:
        yield running, sink


GO_TO_AUTHORIZE = (
    "u.urlopen(I + '/.well-known/openid-configuration').read(); "
    "u.urlopen(I + '/authorize?client_id=c&redirect_uri=http://127.0.0.1:1/cb')"
)


def test_a_client_that_uses_foreign_metadata_is_judged_accepted(lab) -> None:
    running, sink = lab
    outcome = run_fault(running, BY_NAME["discovery-issuer"], _client(GO_TO_AUTHORIZE),
                        client_id="c", redirect_uri="x", limit=10)  # fmt: skip
    assert outcome.verdict == "accepted" and "/authorize" in outcome.detail
    assert any("GET metadata" in m for m in outcome.moves)
    verdicts = [e for e in sink.named("lab.verdict") if e.data["lab_fault"] == "discovery-issuer"]
    assert [e.checks[0].outcome for e in verdicts] == ["fail"]


def test_a_client_that_stops_after_discovery_has_refused(lab) -> None:
    running, sink = lab
    code = "u.urlopen(I + '/.well-known/openid-configuration').read(); print('refused: foreign issuer'); sys.exit(1)"
    outcome = run_fault(running, BY_NAME["discovery-issuer"], _client(code),
                        client_id="c", redirect_uri="x", limit=10)  # fmt: skip
    assert (outcome.verdict, outcome.detail, outcome.exit_code) == ("refused", "refused: foreign issuer", 1)
    last = [e for e in sink.named("lab.verdict") if e.data["lab_fault"] == "discovery-issuer"][-1]
    assert last.checks[0].outcome == "pass" and last.checks[0].spec.startswith("RFC 8414")


def test_an_uncaught_exception_is_a_crash(lab) -> None:
    running, _ = lab
    code = "u.urlopen(I + '/.well-known/openid-configuration').read(); {}['access_token']"
    outcome = run_fault(running, BY_NAME["discovery-issuer"], _client(code),
                        client_id="c", redirect_uri="x", limit=10)  # fmt: skip
    assert outcome.verdict == "crashed" and "KeyError" in outcome.detail


def test_a_client_past_the_time_limit_is_killed_with_its_children() -> None:
    begun = time.monotonic()
    script = f"{PY} -c 'import time; time.sleep(30)' & {PY} -c 'import time; time.sleep(30)'"
    result = run_process(["sh", "-c", script], 1.0, None)
    assert result.exit_code is None and time.monotonic() - begun < 10
