"""``kill -9`` of ``valetkey serve`` on SQLite under load, then a restart on the same database.

Clients run every kind of request; the server process is killed (SIGKILL: no shutdown, no flush)
in the middle, started again on the same file and port, and killed again. Afterwards nothing a
client was answered is lost (each token answered is active, each refresh token rotates, each code
not yet redeemed redeems), nothing is half written, and SQLite's integrity check passes. A request
in flight at the kill gets no answer; a grant it may have used is counted apart, not as lost.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.faults.conftest import check_holdings, scaled, signed_in, sqlite_config
from tests.support.consistency import half_written
from tests.support.load import Ledger, run_load, stop_load
from tests.support.serveproc import ServeProcess

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

KILLS = int(scaled(2, 10))
LOAD = scaled(1.5, 5)  # seconds of load before each kill


def test_kill9_under_load_loses_nothing(tmp_path: Path) -> None:
    server = ServeProcess(sqlite_config(tmp_path), tmp_path).start()
    try:
        cookies, chains = signed_in(server.base, 3)
        ledger = Ledger()
        for _ in range(KILLS):
            stop = threading.Event()
            clients = run_load(ledger, [server.base], cookies, chains, stop)
            time.sleep(LOAD)
            server.kill9()
            stop_load(stop, clients)
            server.start()  # the same file, the same port
        served = [o for o in ledger.outcomes if o.ok]
        assert len(served) > 50, "too little load before the kills"
        assert len(ledger.cc_tokens) > 10 and len(ledger.chains) > len(chains)
        held = check_holdings(ledger, server.base)
        assert held.checked > 0
        assert not held.lost_chains, held.lost_chains
        assert not held.chains_not_rotating, held.chains_not_rotating
        assert not held.codes_not_redeemable, held.codes_not_redeemable
        assert not held.tokens_not_active, held.tokens_not_active
        server.stop()
        assert half_written(f"sqlite:///{tmp_path / 'valetkey.db'}") == []
    finally:
        server.stop()
