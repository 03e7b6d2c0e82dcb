"""The device_codes table's contract (RFC 8628), on every backend (fixture ``store``)."""

from __future__ import annotations

from tests.store.test_contract import tokens
from valetkey.core.models import DeviceCode, Grant, Issuance, NewDeviceCode
from valetkey.core.throttle import Decision, cap_check
from valetkey.store.protocol import CapDecide, DevicePollDecision
from valetkey.store.sql import SQLStore


def device(digest: str = "d1", user: str = "u1", expires_at: float = 700.0) -> NewDeviceCode:
    code = DeviceCode(
        device_code_digest=digest,
        user_code=user,
        client_id="tv",
        scope=("openid", "read:files"),
        audience=("https://api",),
        issued_at=100.0,
        expires_at=expires_at,
        flow_id="f-dev",
    )
    return NewDeviceCode(code, 5)


Seen = list[tuple[str | None, float | None, int]]


def issue_if_approved(seen: Seen, now: float) -> DevicePollDecision[Issuance]:
    """A decision as the server makes it: tokens for an approved code, else keep the pace."""

    def decide(
        code: DeviceCode | None, last_poll: float | None, interval: int
    ) -> tuple[Issuance | None, tuple[float, int] | None]:
        seen.append((code.status if code else None, last_poll, interval))
        if code is None:
            return None, None
        if code.status == "approved":
            assert code.grant_id is not None
            issued = tokens(code.grant_id, jti=f"j-{now}", refresh=f"r-{now}")
            return Issuance(issued.access, issued.refresh, code.grant()), (now, interval)
        return None, (now, interval + 5 if last_poll is not None else interval)

    return decide


def test_a_new_code_is_found_by_its_user_code_and_is_pending(store: SQLStore) -> None:
    store.save_all([device()])
    found = store.get_device_code("u1")
    assert found is not None and found.status == "pending"
    assert (found.client_id, found.scope, found.audience) == (
        "tv",
        ("openid", "read:files"),
        ("https://api",),
    )
    assert found.device_code_digest == "d1" and found.expires_at == 700.0
    assert store.get_device_code("nope") is None
    assert store.get_device_code("bad\x00") is None


def test_approval_happens_once_and_not_after_expiry(store: SQLStore) -> None:
    store.save_all([device(), device("d2", "u2", expires_at=150.0)])
    approved = store.approve_device_code(
        "u1", 120.0, sub="sub-1", grant_id="g-dev", auth_time=119.0
    )
    assert approved is not None and approved.status == "approved" and approved.sub == "sub-1"
    # Decided already: neither a second approval nor a denial changes it.
    assert store.approve_device_code("u1", 121.0, sub="sub-2", grant_id="g2", auth_time=1.0) is None
    assert store.deny_device_code("u1", 121.0) is None
    again = store.get_device_code("u1")
    assert again is not None and again.sub == "sub-1" and again.grant_id == "g-dev"
    assert store.approve_device_code("u2", 150.0, sub="sub-1", grant_id="g3", auth_time=1.0) is None
    assert store.approve_device_code("unknown", 120.0, sub="s", grant_id="g", auth_time=1.0) is None


def test_a_denied_code_stays_denied(store: SQLStore) -> None:
    store.save_all([device()])
    denied = store.deny_device_code("u1", 130.0)
    assert denied is not None and denied.status == "denied" and denied.denied_at == 130.0
    assert store.approve_device_code("u1", 131.0, sub="s", grant_id="g", auth_time=1.0) is None


def test_polls_keep_their_pace_and_an_approved_code_is_redeemed_once(store: SQLStore) -> None:
    store.save_all([device()])
    seen: Seen = []
    assert store.poll_device_code("d1", 110.0, issue_if_approved(seen, 110.0)) is None
    assert store.poll_device_code("d1", 112.0, issue_if_approved(seen, 112.0)) is None
    # The first poll was stored (time, interval), and the second grew the interval.
    assert seen == [("pending", None, 5), ("pending", 110.0, 5)]
    store.approve_device_code("u1", 120.0, sub="sub-1", grant_id="g-dev", auth_time=119.0)
    issued = store.poll_device_code("d1", 130.0, issue_if_approved(seen, 130.0))
    assert isinstance(issued, Issuance) and issued.access is not None
    assert store.get_access_token(issued.access.jti) is not None
    grant = store.get_grant("g-dev")
    assert (
        isinstance(grant, Grant)
        and grant.sub == "sub-1"
        and grant.scope == ("openid", "read:files")
    )
    assert seen[2] == ("approved", 112.0, 10)
    # Consumed: the next poll sees it so, and issues nothing.
    assert store.poll_device_code("d1", 140.0, issue_if_approved(seen, 140.0)) is None
    assert seen[3][0] == "consumed"
    assert store.get_refresh_token("r-140.0") is None


def test_an_unknown_device_code_polls_nothing(store: SQLStore) -> None:
    seen: Seen = []
    assert store.poll_device_code("missing", 1.0, issue_if_approved(seen, 1.0)) is None
    assert seen == [(None, None, 0)]


def _cap(limit: int, now: float) -> CapDecide:
    def decide(held: int, earliest: float | None) -> Decision:
        return cap_check("device_code_cap", held, earliest, now, limit)

    return decide


def test_a_new_code_is_refused_at_its_clients_cap_and_old_codes_are_purged(
    store: SQLStore,
) -> None:
    """The cap counts the client's pending codes (unexpired, neither consumed nor denied); each new
    code purges the codes that expired at or before ``forget_before``."""
    assert store.add_device_code(device("d1", "u1", 700.0), 100.0, 0.0, _cap(2, 100.0)) is None
    assert store.add_device_code(device("d2", "u2", 800.0), 200.0, 0.0, _cap(2, 200.0)) is None
    refused = store.add_device_code(device("d3", "u3", 900.0), 300.0, 0.0, _cap(2, 300.0))
    assert refused is not None and (refused.failures, refused.wait) == (2, 400)  # d1 expires
    assert store.get_device_code("u3") is None
    assert store.deny_device_code("u1", 310.0) is not None  # finished: no longer counted
    assert store.add_device_code(device("d3", "u3", 900.0), 320.0, 0.0, _cap(2, 320.0)) is None
    # Past d1's and d2's expiry, with those two forgotten: the next code deletes them.
    assert store.add_device_code(device("d4", "u4", 1500.0), 850.0, 800.0, None) is None
    assert store.get_device_code("u1") is None and store.get_device_code("u2") is None
    assert store.get_device_code("u3") is not None  # expired at 900: kept a while longer
