"""Several ``valetkey serve`` instances on one PostgreSQL database, run as an orchestrator runs them.

Three instances start at the same instant on an empty database. Then two, under load spread over
them as a load balancer spreads it, are restarted one by one (each taken out of rotation, stopped,
started, put back), and one is killed with SIGKILL in the middle of its requests. What the README
promises for several instances holds throughout: every instance serves the same keys and sees the
same grants, no answer is a 5xx, and no client loses what it was given.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import SVC_SECRET
from tests.faults.conftest import Holdings, check_holdings, config_for, signed_in
from tests.support.consistency import count, half_written
from tests.support.hostile import problems
from tests.support.load import KINDS, Client, Ledger, Outcome, run_load, stop_load
from tests.support.pgdb import scratch_database
from tests.support.serveproc import ServeProcess, start_together

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.e2e]

TOGETHER = 3  # instances started at once: the more, the likelier a race shows
INSTANCES = 2  # behind the load balancer
ISSUER = "http://valetkey.test"  # the load balancer's address, shared by every instance
ALGS = ("ES256", "RS256")  # access tokens and ID tokens: one active key each
KEY_RELOAD = 1.0  # key_reload_seconds in the fault suite's configuration


@dataclass
class Rotation:
    """The instances a load balancer sends requests to: it takes one out before it stops."""

    bases: list[str]
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pick(self, _: Sequence[str]) -> str:
        with self.lock:
            return random.choice(self.bases)

    def remove(self, base: str) -> None:
        with self.lock:
            self.bases.remove(base)

    def add(self, base: str) -> None:
        with self.lock:
            self.bases.append(base)


@dataclass
class Deployment:
    url: str
    servers: list[ServeProcess]

    @property
    def bases(self) -> list[str]:
        return [s.base for s in self.servers]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Two instances on one database, started one after the other."""
    with ExitStack() as stack:
        url = stack.enter_context(scratch_database("vk_instances"))
        workdir = Path(tmp_path_factory.mktemp("instances"))
        servers = [ServeProcess(config_for(url, ISSUER), workdir) for _ in range(INSTANCES)]
        for server in servers:
            stack.callback(server.stop)
            server.start()
        yield Deployment(url, servers)


def _race(workdir: Path) -> str | None:
    """Start three instances at once on an empty database; what went wrong, if anything."""
    with scratch_database("vk_together") as url:
        servers = [ServeProcess(config_for(url, ISSUER), workdir) for _ in range(TOGETHER)]
        try:
            try:
                start_together(servers)
            except RuntimeError as exc:
                return f"an instance did not start: {str(exc)[-600:]}"
            twice = count(url, "SELECT count(*) FROM signing_keys WHERE active") - len(ALGS)
            return f"the instances made {twice} signing keys too many" if twice else None
        finally:
            for server in servers:
                server.stop()


def test_instances_started_together(tmp_path: Path) -> None:
    """As an orchestrator starts them: at the same instant, on an empty database. Every instance
    starts and one set of signing keys is made. The race is tried up to four times."""
    for _ in range(4):
        problem = _race(tmp_path)
        assert problem is None, problem


def test_instances_share_keys_and_grants(deployment: Deployment) -> None:
    # Each instance re-reads the signing keys within key_reload_seconds (1 s here).
    time.sleep(KEY_RELOAD + 0.5)
    with httpx.Client(timeout=30) as http:
        keys = [http.get(f"{base}/jwks.json").json() for base in deployment.bases]
        assert all(k == keys[0] for k in keys), "the instances publish different keys"
        for issuer in deployment.bases:
            token = http.post(
                f"{issuer}/token",
                data={"grant_type": "client_credentials", "scope": "read:files"},
                auth=("svc", SVC_SECRET),
            ).json()["access_token"]
            for other in deployment.bases:
                body = http.post(
                    f"{other}/introspect", data={"token": token}, auth=("svc", SVC_SECRET)
                ).json()
                assert body["active"] is True, (issuer, other, body)


def _spread_load(
    deployment: Deployment, rotation: Rotation, ledger: Ledger, stop: threading.Event
) -> list[Client]:
    cookies, chains = signed_in(deployment.bases[0], 3)
    clients = run_load(ledger, rotation.bases, cookies, chains, stop)
    for client in clients:
        client.pick = rotation.pick
    return clients


def _served_correctly(ledger: Ledger) -> list[Outcome]:
    return [
        o
        for o in ledger.outcomes
        if o.answer is not None and (o.answer.status >= 500 or problems(KINDS[o.op], o.answer))
    ]


def _assert_nothing_lost(held: Holdings) -> None:
    assert held.checked > 0
    assert not held.lost_chains, held.lost_chains
    assert not held.chains_not_rotating, held.chains_not_rotating
    assert not held.codes_not_redeemable, held.codes_not_redeemable
    assert not held.tokens_not_active, held.tokens_not_active


def test_restarted_one_by_one_under_load(deployment: Deployment) -> None:
    rotation, ledger, stop = Rotation(list(deployment.bases)), Ledger(), threading.Event()
    clients = _spread_load(deployment, rotation, ledger, stop)
    try:
        for server in deployment.servers:
            rotation.remove(server.base)
            time.sleep(0.3)  # what was sent to it is answered: it is drained
            server.stop()  # SIGTERM: uvicorn finishes what it has, then exits
            server.start()
            rotation.add(server.base)
            time.sleep(0.5)
    finally:
        stop_load(stop, clients)
    unanswered = [o for o in ledger.outcomes if o.answer is None]
    assert not unanswered, unanswered[:5]
    wrong = _served_correctly(ledger)
    assert not wrong, wrong[:5]
    _assert_nothing_lost(check_holdings(ledger, deployment.bases[0]))


def test_one_killed_mid_request(deployment: Deployment) -> None:
    rotation, ledger, stop = Rotation(list(deployment.bases)), Ledger(), threading.Event()
    clients = _spread_load(deployment, rotation, ledger, stop)
    victim = deployment.servers[-1]
    try:
        time.sleep(1.0)
        victim.kill9()  # requests in flight to it are lost with it
        rotation.remove(victim.base)  # the balancer's health check notices
        time.sleep(1.0)
        victim.start()
        rotation.add(victim.base)
        time.sleep(1.0)
    finally:
        stop_load(stop, clients)
    wrong = _served_correctly(ledger)
    assert not wrong, wrong[:5]
    lost_with_it = [o for o in ledger.outcomes if o.answer is None and o.target != victim.base]
    assert not lost_with_it, f"requests to the other instances got no answer: {lost_with_it[:5]}"
    _assert_nothing_lost(check_holdings(ledger, deployment.bases[0]))
    assert half_written(deployment.url) == []
