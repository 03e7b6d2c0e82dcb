"""A PostgreSQL outage under load: the database of a running ``valetkey serve`` stops and comes back.

A private cluster (never the shared server) serves one instance; clients run every kind of request
without pause; the cluster is stopped (``pg_ctl stop -m fast``: every session cut), left down,
started again. One run, observed from every side by the tests below:

- while the database is down, protocol endpoints answer JSON 503 with ``Retry-After`` (or, when
  they need no database, their usual answer) and browser pages an error page; every request is
  answered, and a connection is closed only with ``Connection: close``;
- once it is back, the same server serves again without a restart;
- no client loses a grant it used correctly, and no answer says nothing was issued when something
  was: refresh tokens still rotate, codes not redeemed still redeem, tokens answered are active,
  and the database holds exactly the tokens that were answered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.conftest import Holdings, check_holdings, config_for, scaled, signed_in
from tests.support.consistency import count
from tests.support.hostile import problems
from tests.support.load import KINDS, SUCCESS, Ledger, Outcome, run_load, stop_load
from tests.support.pgcluster import private_cluster
from tests.support.serveproc import ServeProcess

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.e2e]

# Seconds of load before, during and after the outage (``make soak``: a 30-second outage).
BEFORE, OUTAGE, AFTER = scaled(1.5, 5), scaled(3.0, 30), scaled(3.0, 10)
RECOVERY = 1.0  # seconds the server may take to reconnect once the database is back


@dataclass
class OutageRun:
    ledger: Ledger
    stopping: float  # pg_ctl stop began
    down: float  # the database is down from here
    starting: float  # ... until pg_ctl start began (it may accept connections before it returns)
    up: float  # ... and up again from here
    holdings: Holdings
    svc_rows: int  # client-credentials tokens in the database
    log: str

    def inside(self, op: str | None = None) -> list[Outcome]:
        """Requests that began and ended while the database was surely down: ``pg_ctl start -w``
        notices readiness on its next poll, so the database may serve a moment before ``up``."""
        return self.ledger.during(self.down, self.starting, op)


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OutageRun]:
    with private_cluster() as cluster:
        url = cluster.create_database("valetkey")
        server = ServeProcess(config_for(url), Path(tmp_path_factory.mktemp("outage"))).start()
        try:
            cookies, chains = signed_in(server.base, 3)
            ledger, stop = Ledger(), threading.Event()
            clients = run_load(ledger, [server.base], cookies, chains, stop)
            time.sleep(BEFORE)
            stopping = time.monotonic()
            cluster.stop("fast")
            down = time.monotonic()
            time.sleep(OUTAGE)
            starting = time.monotonic()
            cluster.start()
            up = time.monotonic()
            time.sleep(AFTER)
            stop_load(stop, clients)
            svc_rows = count(url, "SELECT count(*) FROM access_tokens WHERE client_id = 'svc'")
            holdings = check_holdings(ledger, server.base)
            yield OutageRun(
                ledger, stopping, down, starting, up, holdings, svc_rows, server.log_text()
            )
        finally:
            server.stop()


def _show(outcomes: list[Outcome]) -> str:
    return "\n".join(
        f"  {o.op} {o.answer.status if o.answer else 'NO ANSWER ' + o.error} "
        f"{(o.answer.body[:120] if o.answer else b'')!r}"
        for o in outcomes[:8]
    )


PROTOCOL_OPS = [op for op, kind in KINDS.items() if kind == "json"]


@pytest.mark.parametrize("op", PROTOCOL_OPS)
def test_protocol_endpoint_during_outage(outage: OutageRun, op: str) -> None:
    """JSON 503 with Retry-After (RFC 9110 §15.6.4), or the usual answer if no database is needed
    (metadata and keys may be served from memory)."""
    seen = outage.inside(op)
    assert seen, f"no {op} request fell inside the outage: the run is inconclusive"
    wrong = [
        o
        for o in seen
        if o.answer is None
        or o.answer.status not in (503, SUCCESS[op])
        or problems("json", o.answer, outage=True)
    ]
    assert not wrong, f"{len(wrong)} of {len(seen)} {op} answers during the outage:\n{_show(wrong)}"


def test_browser_page_during_outage(outage: OutageRun) -> None:
    seen = outage.inside("authorize")
    assert seen, "no authorization request fell inside the outage: the run is inconclusive"
    wrong = [
        o
        for o in seen
        if o.answer is None or o.answer.status != 503 or problems("page", o.answer, outage=True)
    ]
    assert not wrong, f"{len(wrong)} of {len(seen)} page answers during the outage:\n{_show(wrong)}"


def test_every_request_is_answered(outage: OutageRun) -> None:
    unanswered = [o for o in outage.ledger.outcomes if o.answer is None]
    assert not unanswered, f"{len(unanswered)} requests got no answer:\n{_show(unanswered)}"


def test_the_server_recovers_without_a_restart(outage: OutageRun) -> None:
    after = outage.ledger.started_after(outage.up + RECOVERY)
    assert len({o.op for o in after}) == len(KINDS), "too little load after the outage"
    failed = [o for o in after if not o.ok]
    assert not failed, (
        f"{len(failed)} of {len(after)} requests failed after recovery:\n{_show(failed)}"
    )


def test_no_client_loses_a_grant(outage: OutageRun) -> None:
    held = outage.holdings
    assert held.checked > 0
    assert not held.lost_chains, held.lost_chains
    assert not held.chains_not_rotating, held.chains_not_rotating
    assert not held.codes_not_redeemable, held.codes_not_redeemable


def test_tokens_answered_stay_valid(outage: OutageRun) -> None:
    assert not outage.holdings.tokens_not_active, outage.holdings.tokens_not_active


def test_nothing_issued_means_nothing_issued(outage: OutageRun) -> None:
    """Each client-credentials token in the database was answered to its client: none was
    written behind an answer that said nothing was issued."""
    answered = len(outage.ledger.cc_tokens)
    assert outage.svc_rows == answered, f"{outage.svc_rows} tokens stored, {answered} answered"
