"""The throttle's counts in Redis (``throttle_redis_url``): the same contract as the store's
(tests/store/test_throttle.py), against the Redis at 127.0.0.1:6379, under a key prefix of each
test's own that is deleted afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.store import test_throttle as contract
from valetkey.core.errors import StorageUnavailable
from valetkey.core.throttle import Count
from valetkey.store.throttle_redis import RedisThrottle, split_prefix

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"SKIPPED: Redis not reachable at {REDIS_URL} ({type(exc).__name__})")


@pytest.fixture
def prefix() -> Iterator[str]:
    yield from own_prefix()


def own_prefix() -> Iterator[str]:
    """A key prefix of one test's own; every key under it is deleted afterwards."""
    redis_or_skip()
    import redis

    name = f"vk-test-{uuid.uuid4().hex[:12]}:"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=name + "*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def counts(prefix: str) -> Iterator[RedisThrottle]:
    backend = RedisThrottle(f"{REDIS_URL}?prefix={prefix}")
    yield backend
    backend.close()


def test_the_prefix_is_taken_out_of_the_url() -> None:
    assert split_prefix("redis://h:1/2?prefix=p:&ssl_cert_reqs=none") == (
        "redis://h:1/2?ssl_cert_reqs=none",
        "p:",
    )
    assert split_prefix("redis://h/0") == ("redis://h/0", "valetkey:throttle:")


def test_failures_count_up_per_key(counts: RedisThrottle) -> None:
    both_at_once = contract.test_failures_count_up_per_key_and_both_keys_are_read_at_once
    both_at_once(counts)  # type: ignore[arg-type]


def test_a_success_clears_one_key_only(counts: RedisThrottle) -> None:
    contract.test_a_success_clears_one_key_only(counts)  # type: ignore[arg-type]


def test_failures_forgotten_start_again_at_one(counts: RedisThrottle) -> None:
    contract.test_failures_forgotten_start_again_at_one(counts)  # type: ignore[arg-type]


def test_a_rate_counts_each_minute_on_its_own(counts: RedisThrottle) -> None:
    contract.test_a_rate_counts_each_minute_on_its_own(counts)  # type: ignore[arg-type]


def test_keys_live_under_the_prefix_and_expire_once_forgotten(
    counts: RedisThrottle, prefix: str
) -> None:
    counts.count_throttle_failure(contract.A, 1000.0, 60, lambda n: 1010.0)
    # Redis deletes the key by itself once its failures are forgotten: 10 s of window + 60.
    assert 60 < counts.redis.ttl(prefix + contract.A) <= 70


def test_failures_counted_at_once_from_two_clients_all_count(prefix: str) -> None:
    backends = [RedisThrottle(f"{REDIS_URL}?prefix={prefix}") for _ in range(2)]
    assert contract.count_together(backends, 25) == []
    assert backends[0].get_throttle(contract.A, contract.B) == (Count(50, 1500.0), None)
    for backend in backends:
        backend.close()


def test_redis_unreachable_is_an_outage() -> None:
    backend = RedisThrottle("redis://127.0.0.1:1/0")
    with pytest.raises(StorageUnavailable):
        backend.get_throttle(contract.A, contract.B)
    with pytest.raises(StorageUnavailable):
        backend.count_throttle_failure(contract.A, 1.0, 60, lambda n: 1.0)
    backend.close()
