"""Floods of stored rows (core/throttle.py's rate and cap, server/flood.py): /device_authorization
(RFC 8628 §3.1) and /par (RFC 9126 §2) store a row per request with no user involved. A public
client's requests are limited per address and minute; every client's pending rows are capped; a
refusal is 429 with Retry-After and invalid_request, with events naming the rule and sections; a
legitimate client below the limits never notices."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import ISSUER, WEB_SECRET, InProcess, make_in_process
from tests.support.asgi import SyncASGITransport
from tests.support.device import CONSOLE_SECRET, DEVICE_CONFIG, approve
from valetkey.asgi import create_app
from valetkey.core import pkce
from valetkey.core.device import DEVICE_CODE_GRANT
from valetkey.store import schema as t
from valetkey.store.sql import open_store

CONFIG = DEVICE_CONFIG  # tv (public) and console (confidential) device clients; cli, web for /par
LOOPBACK = "http://127.0.0.1:9999/callback"


def make(**overrides: Any) -> InProcess:
    return make_in_process(CONFIG, http_path="asgi", **overrides)


@pytest.fixture
def env(request: pytest.FixtureRequest) -> Iterator[InProcess]:
    e = make(**getattr(request, "param", {}))
    with e.http:
        yield e
    e.store.close()


def from_address(env: InProcess, address: str) -> httpx.Client:
    """Another caller of the same app, from ``address``."""
    transport = SyncASGITransport(create_app(env.state), client=(address, 4321))
    return httpx.Client(transport=transport, base_url=ISSUER, follow_redirects=False)


def device(http: httpx.Client, client: str = "tv") -> httpx.Response:
    data = {"client_id": client, "scope": "read:files"}
    auth = (client, CONSOLE_SECRET) if client == "console" else None
    if auth is not None:
        del data["client_id"]
        return http.post("/device_authorization", data=data, auth=auth)
    return http.post("/device_authorization", data=data)


def push(http: httpx.Client, client: str = "cli") -> httpx.Response:
    fields = {
        "response_type": "code",
        "scope": "read:profile",
        "state": "s",
        "code_challenge": pkce.s256(pkce.new_verifier()),
        "code_challenge_method": "S256",
    }
    if client == "web":
        fields["redirect_uri"] = "https://web.example/callback"
        return http.post("/par", data=fields, auth=("web", WEB_SECRET))
    return http.post("/par", data={**fields, "client_id": client, "redirect_uri": LOOPBACK})


def rows(env: InProcess, table: sa.Table) -> int:
    with env.store.db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def assert_refused(r: httpx.Response, wait: int, words: str) -> None:
    assert r.status_code == 429, r.text
    assert r.headers["retry-after"] == str(wait)
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["error"] == "invalid_request"
    assert words in body["error_description"], body
    assert f"try again in {wait} seconds" in body["error_description"]


# -- the rate: a public client's requests per address and minute --------------------------------


@pytest.mark.parametrize("env", [{"device_authorizations_per_minute": 5}], indirect=True)
def test_a_device_authorization_flood_from_one_address_is_refused_until_the_minute_ends(
    env: InProcess,
) -> None:
    env.clock.advance(-(env.clock.now() % 60) + 15)  # 15 s into a minute: 45 s left in it
    for _ in range(5):
        assert device(env.http).status_code == 200
    flood = [device(env.http) for _ in range(20)]
    for r in flood:
        assert_refused(r, 45, "too many device authorization requests from this address")
    assert "at most 5 a minute" in flood[0].json()["error_description"]
    assert rows(env, t.device_codes) == 5  # nothing stored for a refused request
    refused = env.sink.named("throttle.refused")
    assert len(refused) == 20
    assert refused[0].data == {
        "kind": "device_authorization", "failures": 6, "wait": 45, "limit": 5,
        "rule": "throttle_device_authorization",
        "spec": "RFC 8628 §3.1, RFC 6819 §4.4.1.11, RFC 6585 §4",
    }  # fmt: skip
    rejected = env.sink.named("device_authorization.rejected")
    assert [c.rule for c in rejected[0].checks] == ["throttle_device_authorization"]
    assert rejected[0].checks[0].spec.startswith("RFC 8628 §3.1")
    env.clock.advance(45)  # the next minute: the address starts again
    assert device(env.http).status_code == 200


@pytest.mark.parametrize("env", [{"device_authorizations_per_minute": 3}], indirect=True)
def test_the_flood_leaves_other_addresses_and_confidential_clients_alone(env: InProcess) -> None:
    while device(env.http).status_code == 200:
        pass
    assert device(env.http).status_code == 429
    with from_address(env, "127.0.0.9") as neighbour:  # a real device elsewhere
        assert device(neighbour).status_code == 200
    # A confidential client authenticated itself: only its cap applies, even from the address.
    for _ in range(5):
        assert device(env.http, "console").status_code == 200


@pytest.mark.parametrize("env", [{"device_authorizations_per_minute": 5}], indirect=True)
def test_a_device_below_the_limit_completes_its_sign_in(env: InProcess) -> None:
    """A real device: one request per sign-in, well below the limit, polls and gets its tokens."""
    started = device(env.http).json()
    with httpx.Client(
        transport=SyncASGITransport(create_app(env.state), client=("127.0.0.7", 1)),
        base_url=ISSUER,
    ) as phone:
        assert approve(phone, started["user_code"]).status_code == 200
    env.clock.advance(5)
    data = {
        "grant_type": DEVICE_CODE_GRANT,
        "device_code": started["device_code"],
        "client_id": "tv",
    }
    tokens = env.http.post("/token", data=data)
    assert tokens.status_code == 200 and "access_token" in tokens.json(), tokens.text
    assert env.sink.named("throttle.refused") == []


@pytest.mark.parametrize("env", [{"pushed_requests_per_minute": 4}], indirect=True)
def test_a_pushed_request_flood_from_a_public_client_is_refused(env: InProcess) -> None:
    env.clock.advance(-(env.clock.now() % 60) + 50)  # 10 s left in the minute
    for _ in range(4):
        assert push(env.http).status_code == 201
    over = push(env.http)
    assert_refused(over, 10, "too many pushed authorization requests from this address")
    assert rows(env, t.pushed_requests) == 4
    [event] = env.sink.named("throttle.refused")
    assert event.data["rule"] == "throttle_pushed_request"
    assert event.data["spec"] == "RFC 9126 §2.3, RFC 6819 §4.4.1.11"
    [push_refused] = env.sink.named("authorization_request.push_refused")
    assert push_refused.checks[-1].rule == "throttle_pushed_request"
    # A confidential client's backend pushes one request per login: never counted per address.
    for _ in range(6):
        assert push(env.http, "web").status_code == 201
    env.clock.advance(10)
    assert push(env.http).status_code == 201


@pytest.mark.parametrize("env", [{"pushed_requests_per_minute": 1}], indirect=True)
def test_a_refused_request_is_judged_before_it_counts(env: InProcess) -> None:
    """An invalid request stores nothing and is not counted: a client fixing its request does not
    find its minute spent."""
    bad = env.http.post("/par", data={"client_id": "cli", "response_type": "code"})
    assert bad.status_code == 400
    assert push(env.http).status_code == 201
    assert push(env.http).status_code == 429


@pytest.mark.parametrize(
    "env", [{"device_authorizations_per_minute": 0, "pushed_requests_per_minute": 0}], indirect=True
)
def test_an_operator_can_turn_the_rate_off(env: InProcess) -> None:
    for _ in range(70):
        assert device(env.http).status_code == 200
    assert env.sink.named("throttle.refused") == []


# -- the cap: a client's pending rows -------------------------------------------------------------


@pytest.mark.parametrize(
    "env", [{"device_codes_per_client": 3, "device_authorizations_per_minute": 0}], indirect=True
)
def test_a_clients_pending_device_codes_are_capped_until_one_expires_or_is_used(
    env: InProcess,
) -> None:
    first = device(env.http).json()
    env.clock.advance(100)
    for _ in range(2):
        assert device(env.http).status_code == 200
    capped = device(env.http)
    assert_refused(capped, 500, "this client has 3 device codes waiting for a user")
    with from_address(env, "127.0.0.9") as elsewhere:  # the cap is the client's, not an address's
        assert device(elsewhere).status_code == 429
    assert device(env.http, "console").status_code == 200  # another client: its own cap
    [event, _] = env.sink.named("throttle.refused")
    assert event.data["rule"] == "throttle_device_code_cap" and event.data["limit"] == 3
    assert event.data["spec"] == "RFC 8628 §3.2, RFC 6819 §4.4.1.11, RFC 6585 §4"
    # A code the user denied is finished: its place is free again.
    with from_address(env, "127.0.0.7") as phone:
        assert approve(phone, first["user_code"], "deny").status_code == 200
    assert device(env.http).status_code == 200
    again = device(env.http)
    assert_refused(again, 600, "this client has 3 device codes")  # the earliest now: 600 s
    env.clock.advance(600)  # they expire
    assert device(env.http).status_code == 200


@pytest.mark.parametrize(
    "env", [{"pushed_requests_per_client": 2, "pushed_requests_per_minute": 0}], indirect=True
)
def test_a_clients_unused_pushed_requests_are_capped(env: InProcess) -> None:
    assert push(env.http, "web").status_code == 201
    env.clock.advance(20)
    assert push(env.http, "web").status_code == 201
    capped = push(env.http, "web")
    assert_refused(capped, 40, "this client has 2 pushed authorization requests not yet used")
    assert push(env.http).status_code == 201  # cli: a cap of its own
    env.clock.advance(40)  # the first expires
    assert push(env.http, "web").status_code == 201
    assert rows(env, t.pushed_requests) == 3  # the expired one was purged by that push


# -- purging --------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", [{"device_authorizations_per_minute": 0}], indirect=True)
def test_device_codes_are_purged_one_lifetime_after_they_expire(env: InProcess) -> None:
    """An expired code still answers expired_token for one more lifetime (RFC 8628 §3.5), then the
    next device authorization deletes it."""
    old = device(env.http).json()
    env.clock.advance(600 + 1)  # expired
    poll = {"grant_type": DEVICE_CODE_GRANT, "device_code": old["device_code"], "client_id": "tv"}
    assert env.http.post("/token", data=poll).json()["error"] == "expired_token"
    assert device(env.http).status_code == 200
    assert rows(env, t.device_codes) == 2  # kept: expired less than a lifetime ago
    env.clock.advance(600)
    assert device(env.http).status_code == 200
    assert rows(env, t.device_codes) == 2  # the first one is gone, the second expired just now
    assert env.http.post("/token", data=poll).json()["error"] == "invalid_grant"


# -- two instances on one database ----------------------------------------------------------------


def test_the_rate_is_counted_across_two_instances_on_one_database(pg_url: str) -> None:
    """Two app instances, each with its own store (its own connections) on one PostgreSQL
    database: an address's requests count together, however a load balancer spreads them."""
    limits = {"device_authorizations_per_minute": 4, "pushed_requests_per_minute": 4}
    instances = [
        make_in_process(CONFIG, open_store(pg_url), http_path="asgi", **limits) for _ in range(2)
    ]
    a, b = instances
    try:
        for e in instances:
            e.clock.advance(-(e.clock.now() % 60) + 30)  # both 30 s into the same minute
        assert [device(e.http).status_code for e in (a, b, a, b)] == [200] * 4
        assert_refused(device(a.http), 30, "too many device authorization requests")
        assert_refused(device(b.http), 30, "too many device authorization requests")
        assert [push(e.http).status_code for e in (b, a, b, a)] == [201] * 4
        assert push(a.http).status_code == push(b.http).status_code == 429
    finally:
        for e in instances:
            e.http.close()
            e.store.close()


# -- an outage ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failing", "path"),
    [
        ("count_throttle_failure", "/device_authorization"),
        ("count_throttle_failure", "/par"),
        ("add_device_code", "/device_authorization"),
        ("push_request", "/par"),
    ],
)
def test_an_unreachable_database_is_an_outage_never_a_500(
    env: InProcess, failing: str, path: str
) -> None:
    """Counting the rate or writing under the cap while the database is down: 503 with
    Retry-After (the runtime's outage answer), never a 500 and never a row stored unchecked."""
    from tests.server.test_outage import FailingStore
    from valetkey.core.errors import StorageUnavailable

    store = FailingStore(env.state.store)
    store.error, store.methods = StorageUnavailable("database down"), {failing}
    env.state.store = env.state.throttle.counts = store  # type: ignore[assignment]
    r = device(env.http) if path == "/device_authorization" else push(env.http)
    assert r.status_code == 503, r.text
    assert "retry-after" in r.headers
    env.state.store = env.state.throttle.counts = store.store
    assert rows(env, t.device_codes) == rows(env, t.pushed_requests) == 0
