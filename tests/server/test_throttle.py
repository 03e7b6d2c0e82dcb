"""Guessing defences (RFC 6749 §10.10, NIST SP 800-63B §5.2.2; core/throttle.py): failed sign-ins
per account and per address, failed client authentications per client, with growing delays, 429
and Retry-After, no Argon2 work while refused, and no lockout an attacker can hold on a user."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.conftest import ISSUER, SVC_SECRET, InProcess, make_in_process
from tests.lifecycle.conftest import FAST_BASE
from tests.store.test_throttle_redis import REDIS_URL, own_prefix
from tests.support.asgi import SyncASGITransport
from tests.support.forms import the_form
from valetkey.asgi import create_app
from valetkey.core import pkce
from valetkey.core.client_auth import basic_credentials

# Two free failures, then 1, 2, 4 s...; accounts and clients capped at 8 s, addresses at 64 s.
THROTTLE = {
    "throttle_free_failures": 2,
    "throttle_first_delay": 1,
    "throttle_account_cap": 8,
    "throttle_address_cap": 64,
}


# A client_secret_basic client with a short secret, stored with Argon2id like a password.
SHORT_BASIC = """
[[clients]]
client_id = "short-basic"
client_secret = "short-basic-secret"
grant_types = ["client_credentials"]
scope = "read:files"
"""
CONFIG = FAST_BASE + SHORT_BASIC


@pytest.fixture
def env(http_path: str) -> Iterator[InProcess]:
    server = make_in_process(CONFIG, http_path=http_path, **THROTTLE)
    with server.http:
        yield server
    server.store.close()


@pytest.fixture
def asgi_env() -> Iterator[InProcess]:
    """On the ASGI path only, where a test chooses the caller's address."""
    server = make_in_process(CONFIG, **THROTTLE)
    with server.http:
        yield server
    server.store.close()


def _browser(env: InProcess, address: str) -> httpx.Client:
    """A browser at another IP address, on the same server (ASGI path: the address is chosen)."""
    transport = SyncASGITransport(create_app(env.state), client=(address, 40000))
    return httpx.Client(transport=transport, base_url=ISSUER, follow_redirects=False)


def _login_form(http: httpx.Client) -> dict[str, str]:
    query = {
        "response_type": "code",
        "client_id": "cli",
        "redirect_uri": "http://127.0.0.1/callback",
        "scope": "read:profile",
        "state": "s",
        "code_challenge": pkce.s256(pkce.new_verifier()),
        "code_challenge_method": "S256",
    }
    page = http.get("/authorize?" + urlencode(query))
    return the_form(page.text, str(page.url)).fields


def _sign_in(http: httpx.Client, form: dict[str, str], user: str, password: str) -> httpx.Response:
    return http.post("/login", data=dict(form, username=user, password=password))


def test_sign_in_delays_grow_and_a_success_resets_the_account(
    env: InProcess,
) -> None:
    form = _login_form(env.http)
    assert [_sign_in(env.http, form, "alice", "nope").status_code for _ in range(2)] == [401, 401]
    waits = []
    for _ in range(6):
        r = _sign_in(env.http, form, "alice", "nope")  # counted: opens the next window
        assert r.status_code == 401
        refused = _sign_in(env.http, form, "alice", "nope")
        assert refused.status_code == 429
        waits.append(int(refused.headers["retry-after"]))
        words = "1 second" if waits[-1] == 1 else f"{waits[-1]} seconds"
        assert f"Too many attempts: try again in {words}." in refused.text
        assert the_form(refused.text, str(refused.url)).fields["csrf_token"]  # can try again later
        env.clock.advance(waits[-1])
    # One address: its delay (capped at 64 s) outgrows the account's (capped at 8 s).
    assert waits == [1, 2, 4, 8, 16, 32]
    assert _sign_in(env.http, form, "alice", "wonderland").status_code in (302, 303, 200)
    # The success forgot the account's failures, not the address's.
    env.clock.advance(64)
    assert _sign_in(env.http, form, "alice", "nope").status_code == 401
    last = {e.data["kind"]: e.data["failures"] for e in env.sink.named("throttle.failure_counted")}
    assert last == {"account": 1, "address": 9}


def test_while_refused_the_password_is_not_checked_even_the_right_one(
    env: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    real = env.state.passwords.check

    def counting(password: str, stored: str | None) -> Any:
        checked.append(password)
        return real(password, stored)

    monkeypatch.setattr(env.state.passwords, "check", counting)
    form = _login_form(env.http)
    for _ in range(3):
        _sign_in(env.http, form, "alice", "nope")
    assert len(checked) == 3
    r = _sign_in(env.http, form, "alice", "wonderland")
    assert r.status_code == 429 and "vk_session" not in r.headers.get("set-cookie", "")
    assert len(checked) == 3  # no Argon2 work spent on a refused attempt
    assert not env.sink.named("login.succeeded")


def test_events_name_the_rule_and_section_and_carry_no_password(env: InProcess) -> None:
    form = _login_form(env.http)
    for _ in range(4):
        _sign_in(env.http, form, "alice", "secret-guess-123")
    counted = env.sink.named("throttle.failure_counted")
    assert [(e.data["kind"], e.data["failures"]) for e in counted[:2]] == [
        ("account", 1),
        ("address", 1),
    ]
    refused = env.sink.named("throttle.refused")
    assert len(refused) == 1
    event = refused[0]
    assert event.data["rule"] == "throttle_account" and event.data["wait"] == 1
    assert event.checks[0].rule == "throttle_account"
    assert "NIST SP 800-63B §5.2.2" in event.checks[0].spec
    for e in (*counted, *refused):
        text = json.dumps(asdict(e), default=str)
        assert "secret-guess-123" not in text and "alice" not in json.dumps(e.data)


def test_an_attacker_cannot_lock_the_user_out(asgi_env: InProcess) -> None:
    """The rule: an account's delay never exceeds ``throttle_account_cap`` however many guesses,
    and refused attempts do not count; the guessing address is capped far longer. So the user,
    from their own address, signs in within the account cap of the attacker's last counted guess,
    while the attacker's address is still refused."""
    env = asgi_env
    with _browser(env, "203.0.113.66") as attacker, _browser(env, "198.51.100.7") as user:
        _lockout(env, attacker, user)


def _lockout(env: InProcess, attacker: httpx.Client, user: httpx.Client) -> None:
    form = _login_form(attacker)
    counted = 0
    while counted < 12:  # every guess the throttle lets through, and refused ones in between
        if _sign_in(attacker, form, "alice", "guess").status_code == 429:
            env.clock.advance(8)
        else:
            counted += 1
    last = _sign_in(attacker, form, "alice", "guess")  # right after the 12th counted guess
    assert last.status_code == 429
    assert int(last.headers["retry-after"]) > 8  # the address: longer than any account's delay
    user_form = _login_form(user)
    blocked = _sign_in(user, user_form, "alice", "wonderland")
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) <= 8
    env.clock.advance(8)
    assert _sign_in(user, user_form, "alice", "wonderland").status_code in (302, 303, 200)
    assert _sign_in(attacker, form, "alice", "wonderland").status_code == 429  # still refused


def test_a_browser_that_signed_in_before_skips_the_account_delay(asgi_env: InProcess) -> None:
    """The second half of the rule: a browser that signed in to the account before (a signed
    cookie) is not held by the account's delay at all, only by its own address's."""
    env = asgi_env
    with _browser(env, "203.0.113.66") as attacker, _browser(env, "198.51.100.7") as user:
        signed_in = _sign_in(user, _login_form(user), "alice", "wonderland")
        assert signed_in.status_code in (302, 303, 200) and "vk_known" in user.cookies
        user.cookies.delete("vk_session")  # signed out; the browser is still known
        form = _login_form(attacker)
        while _sign_in(attacker, form, "alice", "guess").status_code != 429:
            pass
        assert _sign_in(attacker, form, "alice", "wonderland").status_code == 429
        user_form = _login_form(user)
        assert _sign_in(user, user_form, "alice", "wonderland").status_code in (302, 303, 200)
        # The cookie names one account: it does not let its holder skip another's delay.
        with _browser(env, "203.0.113.67") as second:
            second_form = _login_form(second)
            while _sign_in(second, second_form, "bob", "guess").status_code != 429:
                pass
        user.cookies.delete("vk_session")
        refused = _sign_in(user, _login_form(user), "bob", "guess")
        assert refused.status_code == 429
        assert env.sink.named("throttle.refused")[-1].data["kind"] == "account"


def test_one_address_guessing_many_accounts_is_throttled_per_address(asgi_env: InProcess) -> None:
    env = asgi_env
    with _browser(env, "203.0.113.9") as guesser, _browser(env, "192.0.2.1") as other:
        form = _login_form(guesser)
        statuses = [_sign_in(guesser, form, f"user{i}", "pw").status_code for i in range(4)]
        assert statuses == [401, 401, 401, 429]  # four different accounts, one address
        assert env.sink.named("throttle.refused")[-1].data["kind"] == "address"
        assert _sign_in(other, _login_form(other), "user9", "pw").status_code == 401


CLIENTS = {
    "basic": ("short-basic", "short-basic-secret", 200),
    "post": (
        "legacy-web",
        "short-secret",
        400,
    ),  # may not use this grant: refused once authenticated
    "unguessable": ("svc", SVC_SECRET, 200),  # client_secret_basic, stored as a SHA-256 digest
}


def _token(http: httpx.Client, secret: str, how: str) -> httpx.Response:
    client_id = CLIENTS[how][0]
    data = {"grant_type": "client_credentials"}
    if how == "post":
        return http.post("/token", data=dict(data, client_id=client_id, client_secret=secret))
    auth = {"Authorization": basic_credentials(client_id, secret)}
    return http.post("/token", data=data, headers=auth)


@pytest.mark.parametrize("how", ["basic", "post"])
def test_client_authentication_is_throttled_per_client(env: InProcess, how: str) -> None:
    _, secret, authenticated = CLIENTS[how]
    assert [_token(env.http, "wrong", how).status_code for _ in range(3)] == [401, 401, 401]
    r = _token(env.http, secret, how)  # the right secret, unchecked while throttled
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert r.json() == {
        "error": "invalid_client",
        "error_description": "too many failed client authentications: try again in 1 second",
    }
    assert "www-authenticate" not in r.headers
    env.clock.advance(1)
    assert _token(env.http, "wrong", how).status_code == 401
    assert _token(env.http, "wrong", how).headers["retry-after"] == "2"
    env.clock.advance(2)
    assert _token(env.http, secret, how).status_code == authenticated
    # The success forgot the client's failures, not the address's.
    env.clock.advance(64)
    assert _token(env.http, "wrong", how).status_code == 401
    last = {e.data["kind"]: e.data["failures"] for e in env.sink.named("throttle.failure_counted")}
    assert last == {"client": 1, "address": 5}
    assert env.sink.named("throttle.refused")[0].data["rule"] == "throttle_client"


def test_a_secret_too_long_to_guess_is_never_refused_but_guesses_are(
    env: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A high-entropy secret: the right one always works (no one can keep the client out by
    failing on purpose) and costs no read of the counts; wrong ones are counted and refused."""
    assert [_token(env.http, "wrong", "unguessable").status_code for _ in range(3)] == [401] * 3
    refused = _token(env.http, "wrong", "unguessable")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert refused.json()["error"] == "invalid_client"
    reads: list[str] = []
    real = env.store.get_throttle

    def counting(first: str, second: str) -> object:
        reads.append(first)
        return real(first, second)

    monkeypatch.setattr(env.store, "get_throttle", counting)
    assert _token(env.http, SVC_SECRET, "unguessable").status_code == 200
    assert reads == []
    assert _token(env.http, "wrong", "unguessable").status_code == 429
    assert len(reads) == 1


def test_introspection_and_revocation_share_the_client_throttle(env: InProcess) -> None:
    for _ in range(3):
        _token(env.http, "wrong", "basic")
    auth = {"Authorization": basic_credentials("short-basic", "short-basic-secret")}
    for path in ("/introspect", "/revoke"):
        r = env.http.post(path, data={"token": "x"}, headers=auth)
        assert r.status_code == 429 and r.json()["error"] == "invalid_client", path
        assert int(r.headers["retry-after"]) >= 1


def test_the_password_grant_is_throttled_per_account(http_path: str) -> None:
    from tests.lifecycle.test_legacy_grants import LEGACY_CLIENTS, PW_SECRET

    env = make_in_process(
        FAST_BASE + LEGACY_CLIENTS, http_path=http_path, allow_deprecated_grants=True, **THROTTLE
    )

    def guess(password: str) -> httpx.Response:
        form = {"grant_type": "password", "username": "bob", "password": password}
        return env.http.post("/token", data=form, auth=("pw-app", PW_SECRET))

    with env.http:
        assert [guess("nope").status_code for _ in range(3)] == [400, 400, 400]
        r = guess("builder-bob")  # the right password, unchecked while throttled
        assert r.status_code == 429 and r.headers["retry-after"] == "1"
        assert r.json() == {
            "error": "invalid_grant",
            "error_description": "too many failed sign-ins for this account: try again in 1 second",
        }
        env.clock.advance(1)
        assert guess("builder-bob").status_code == 200
        rejected = env.sink.named("token.rejected")[-1]
        assert rejected.checks[-1].rule == "throttle_account"
    env.store.close()


@pytest.fixture
def prefix() -> Iterator[str]:
    yield from own_prefix()


def test_with_redis_configured_the_counts_live_in_redis(prefix: str) -> None:
    import redis
    import sqlalchemy as sa

    env = make_in_process(CONFIG, throttle_redis_url=f"{REDIS_URL}?prefix={prefix}", **THROTTLE)
    with env.http:
        assert [_token(env.http, "wrong", "basic").status_code for _ in range(3)] == [401] * 3
        refused = _token(env.http, "short-basic-secret", "basic")
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    with env.store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM throttle")).scalar() == 0
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*"))
    client.close()
    assert len(keys) == 2  # the client and the address, as digests: no client_id in clear
    assert all(b"short-basic" not in key and b"127.0.0.1" not in key for key in keys)
    env.store.close()


def test_counts_out_of_reach_are_an_outage_never_an_open_door() -> None:
    """Redis unreachable: 503 with Retry-After, and no password or secret is checked."""
    env = make_in_process(CONFIG, throttle_redis_url="redis://127.0.0.1:1/0", **THROTTLE)
    with env.http:
        r = _token(env.http, "short-basic-secret", "basic")
        assert r.status_code == 503 and r.headers["retry-after"].isdigit()
        form = _login_form(env.http)
        page = _sign_in(env.http, form, "alice", "wonderland")
        assert page.status_code == 503 and "vk_session" not in page.headers.get("set-cookie", "")
    env.store.close()


def _redis_client_listed(client_id: int) -> bool:
    import redis

    admin = redis.Redis.from_url(REDIS_URL)
    try:
        return bool(admin.execute_command("CLIENT", "LIST", "ID", client_id))
    finally:
        admin.close()


def test_the_app_shutdown_closes_the_redis_connections(prefix: str) -> None:
    """The app's lifespan ends (uvicorn's shutdown, each worker's): the throttle's Redis pool is
    disconnected and Redis no longer lists its connection; a second close does nothing."""
    from starlette.testclient import TestClient

    from valetkey.asgi import create_app
    from valetkey.store.throttle_redis import RedisThrottle

    env = make_in_process(CONFIG, throttle_redis_url=f"{REDIS_URL}?prefix={prefix}", **THROTTLE)
    with TestClient(create_app(env.state), base_url=ISSUER) as http:
        assert _token(http, "wrong", "basic").status_code == 401  # counted in Redis
        counts = env.state.throttle.counts
        assert isinstance(counts, RedisThrottle)
        pool = counts.redis.connection_pool
        client_id = int(counts.redis.client_id())
        assert _redis_client_listed(client_id)
    assert all(
        c._sock is None for c in pool._available_connections + list(pool._in_use_connections)
    )
    deadline = time.monotonic() + 10  # Redis drops the client once it reads the closed socket
    while _redis_client_listed(client_id) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _redis_client_listed(client_id)
    env.state.close_throttle()  # again: nothing to close, nothing raised
    counts.close()
    env.http.close()
    env.store.close()


def test_the_app_shutdown_leaves_counts_in_the_store_to_the_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without Redis the counts are the store's: the throttle's close does not close it."""
    from starlette.testclient import TestClient

    from valetkey.asgi import create_app

    env = make_in_process(CONFIG, **THROTTLE)
    closed: list[bool] = []
    monkeypatch.setattr(env.store, "close", lambda: closed.append(True))
    with TestClient(create_app(env.state), base_url=ISSUER) as http:
        assert _token(http, "wrong", "basic").status_code == 401  # counted in the store
        assert env.state.throttle.counts is env.store
    assert closed == []
    monkeypatch.undo()
    env.http.close()
    env.store.close()
