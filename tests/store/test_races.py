"""The store's atomic steps hold across processes that share a database: each test starts a few
processes that do the same thing at the same moment (``race``) on every backend."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.store.test_contract import accept, code, grant, rotate_ok
from tests.store.test_device_codes import device, issue_if_approved
from valetkey.core.checks import Rejected
from valetkey.core.models import Client, NewCode, Resource, User
from valetkey.core.throttle import Decision, cap_check
from valetkey.store.sql import SQLStore, open_store


def _redeem(store: SQLStore, _n: int) -> str:
    store.redeem_code("race", 110.0, accept)
    return "issued"


def _rotate(store: SQLStore, n: int) -> str:
    store.rotate_refresh("r1", 200.0, rotate_ok(f"r-new-{n}"))
    return "issued"


def _consent(store: SQLStore, n: int) -> str:
    store.save_consent("sub-1", "cli", (f"scope-{n}", "shared"), float(n))
    return "saved"


def _configure(store: SQLStore, n: int) -> str:
    """What start-up writes: the same configuration from every instance at once."""
    store.upsert_resource(Resource("https://api", ("a", "b"), "API"))
    store.upsert_client(Client("cli", "CLI", None, ("http://127.0.0.1/cb",)))
    added = store.add_client(Client("admin-added", "Added"), source="admin")
    user = store.upsert_user(User(f"sub-of-{n}", "alice", f"hash-{n}", {"name": "Alice"}))
    secret = store.get_or_create_secret("cookie_signing", lambda: f"secret-{n}")
    return f"{added} {user.sub} {secret}"


def _poll_device(store: SQLStore, n: int) -> str:
    seen: list[tuple[str | None, float | None, int]] = []
    issued = store.poll_device_code("race-d", 200.0 + n, issue_if_approved(seen, 200.0 + n))
    return "issued" if issued is not None else f"nothing ({seen[0][0]})"


def _approve_device(store: SQLStore, n: int) -> str:
    approved = store.approve_device_code(
        "race-u", 150.0, sub=f"sub-{n}", grant_id=f"g-{n}", auth_time=140.0
    )
    return "approved" if approved is not None else "too late"


def _use_pushed(store: SQLStore, _n: int) -> str:
    return "used" if store.use_pushed_request("race-par", 120.0) else "refused"


def _cap_of_two(held: int, earliest: float | None) -> Decision:
    return cap_check("device_code_cap", held, earliest, 150.0, 2)


def _add_device_capped(store: SQLStore, n: int) -> str:
    refused = store.add_device_code(device(f"cap-d{n}", f"cap-u{n}"), 150.0, 0.0, _cap_of_two)
    return "stored" if refused is None else f"capped at {refused.failures}"


def _push_capped(store: SQLStore, n: int) -> str:
    def cap(held: int, earliest: float | None) -> Decision:
        return cap_check("pushed_request_cap", held, earliest, 100.0, 2)

    refused = store.push_request(f"cap-p{n}", "cli", {}, 160.0, 100.0, cap)
    return "stored" if refused is None else f"capped at {refused.failures}"


TASKS: dict[str, Callable[[SQLStore, int], str]] = {
    "add_device_capped": _add_device_capped,
    "push_capped": _push_capped,
    "use_pushed": _use_pushed,
    "poll_device": _poll_device,
    "approve_device": _approve_device,
    "redeem": _redeem,
    "rotate": _rotate,
    "consent": _consent,
    "configure": _configure,
}


def _worker(commands: Any, results: Any) -> None:
    """A process that runs races until told to stop: ``(url, task, n)``, then ``"go"``."""
    while (command := commands.get()) is not None:
        url, task, n = command
        store = open_store(url, migrate=False)
        try:
            store.get_client("warm-up")  # connected before the start signal
            results.put("ready")
            assert commands.get() == "go"
            try:
                results.put(TASKS[task](store, n))
            except Rejected as exc:
                results.put(f"refused {type(exc).__name__}")
            except Exception as exc:  # reported to the test, which fails on it
                results.put(f"error {type(exc).__name__}: {exc}")
        finally:
            store.close()


class Racers:
    """Worker processes started once for the whole session (a spawn costs a second or more)."""

    def __init__(self, count: int) -> None:
        ctx = mp.get_context("spawn")
        self.results = ctx.Queue()
        self.commands = [ctx.Queue() for _ in range(count)]
        self.procs = [
            ctx.Process(target=_worker, args=(q, self.results), daemon=True) for q in self.commands
        ]
        for p in self.procs:
            p.start()

    def race(self, url: str, task: str, processes: int = 2) -> list[str]:
        """Run ``task`` in ``processes`` processes released at the same moment; their results."""
        queues = self.commands[:processes]
        for n, q in enumerate(queues):
            q.put((url, task, n))
        assert [self.results.get(timeout=60) for _ in queues] == ["ready"] * processes
        for q in queues:
            q.put("go")
        return sorted(self.results.get(timeout=60) for _ in queues)

    def stop(self) -> None:
        for q in self.commands:
            q.put(None)
        for p in self.procs:
            p.join(10)


@pytest.fixture(scope="module")
def racers() -> Iterator[Racers]:
    workers = Racers(3)
    yield workers
    workers.stop()


def test_a_code_redeemed_at_once_in_two_processes_issues_once(
    store: SQLStore, store_url: str, racers: Racers
) -> None:
    store.save_all([NewCode(code("race", "gr"), grant("gr"))])
    assert racers.race(store_url, "redeem") == ["issued", "refused Refused"]
    # Exactly one set of tokens exists, and the loser's replay revoked the grant.
    g = store.get_grant("gr")
    assert g is not None and g.revoked_reason == "authorization code replayed"


def test_a_refresh_token_rotated_at_once_in_two_processes_rotates_once(
    store: SQLStore, store_url: str, racers: Racers
) -> None:
    store.save_all([NewCode(code(), grant())])
    store.redeem_code("c1", 110.0, accept)
    assert racers.race(store_url, "rotate") == ["issued", "refused Refused"]
    g = store.get_grant("g1")
    assert g is not None and g.revoked_reason == "refresh token reused"
    winners = [store.get_refresh_token(f"r-new-{n}") for n in range(2)]
    assert len([w for w in winners if w is not None]) == 1


def test_consent_approved_at_once_in_three_processes_keeps_every_approval(
    store: SQLStore, store_url: str, racers: Racers
) -> None:
    assert racers.race(store_url, "consent", processes=3) == ["saved"] * 3
    assert set(store.get_consent("sub-1", "cli")) == {"shared", "scope-0", "scope-1", "scope-2"}


def test_instances_applying_one_configuration_at_once_all_succeed(
    store: SQLStore, store_url: str, racers: Racers
) -> None:
    outcomes = racers.race(store_url, "configure", processes=3)
    added = [o.split()[0] for o in outcomes]
    assert sorted(added) == ["False", "False", "True"], outcomes  # exactly one added it
    # Every instance got the same user (one sub) and the same secret.
    assert len({o.split(maxsplit=1)[1] for o in outcomes}) == 1, outcomes
    assert [u.username for u in store.list_users()] == ["alice"]
    assert [c.client_id for c in store.list_clients()] == ["admin-added", "cli"]
    assert store.list_resources() == [Resource("https://api", ("a", "b"), "API")]


def test_an_approved_device_code_polled_at_once_by_two_instances_issues_once(
    store: SQLStore, store_url: str, racers: Racers
) -> None:
    """RFC 8628 §3.5 and RFC 6749 §4.1.2's one-time rule: two instances answering the same
    device's polls (or a stolen device code) never both receive tokens."""
    store.save_all([device("race-d", "race-u")])
    store.approve_device_code("race-u", 150.0, sub="sub-1", grant_id="g-race", auth_time=140.0)
    assert racers.race(store_url, "poll_device") == ["issued", "nothing (consumed)"]
    issued = [store.get_access_token(f"j-{200.0 + n}") for n in range(2)]
    assert len([i for i in issued if i is not None]) == 1


def test_a_user_code_approved_at_once_in_three_processes_is_approved_once(
    store: SQLStore, store_url: str, racers: Racers
) -> None:
    store.save_all([device("race-d", "race-u")])
    outcomes = racers.race(store_url, "approve_device", processes=3)
    assert outcomes == ["approved", "too late", "too late"]
    found = store.get_device_code("race-u")
    assert found is not None and found.status == "approved"


def test_a_pushed_request_used_at_once_by_three_instances_is_used_once(
    store: SQLStore, store_url: str, racers: Racers
) -> None:
    """RFC 9126 section 4: a request_uri is one-time; instances sharing a database agree."""
    store.push_request("race-par", "cli", {"client_id": ["cli"]}, 160.0, 100.0)
    outcomes = racers.race(store_url, "use_pushed", processes=3)
    assert outcomes == ["refused", "refused", "used"]
    assert store.get_pushed_request("race-par", 121.0) is None


def test_a_clients_cap_holds_when_three_instances_store_at_once(
    store: SQLStore, store_url: str, racers: Racers
) -> None:
    """core/throttle.py's cap, counted in the write's transaction under the client's lock
    (store.held): three instances storing a device code or a pushed request for one client at the
    same moment, with room for two, store exactly two (PostgreSQL's READ COMMITTED alone would let
    each count the same two rows and all three store)."""
    outcomes = racers.race(store_url, "add_device_capped", processes=3)
    assert outcomes == ["capped at 2", "stored", "stored"], outcomes
    outcomes = racers.race(store_url, "push_capped", processes=3)
    assert outcomes == ["capped at 2", "stored", "stored"], outcomes
