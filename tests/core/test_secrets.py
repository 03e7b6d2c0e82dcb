"""Identifiers and tokens from ``valetkey.core.secrets``."""

from __future__ import annotations

import re
import time

from valetkey.core.secrets import new_token, ordered_id


def test_ordered_ids_sort_in_creation_order_and_stay_unique() -> None:
    ids = []
    for _ in range(50):
        ids.append(ordered_id())
        time.sleep(0.0002)  # the time part has microsecond steps
    assert ids == sorted(ids)
    burst = [ordered_id() for _ in range(5000)]  # many within one microsecond tick
    assert len(set(burst)) == len(burst)


def test_an_ordered_id_is_time_then_128_random_bits() -> None:
    before = time.time_ns() // 1000
    value = ordered_id()
    after = time.time_ns() // 1000
    assert re.fullmatch(r"[0-9a-f]{13}[A-Za-z0-9_-]{22}", value)
    assert before <= int(value[:13], 16) <= after
    assert len(value) <= 64  # the jti and grant_id columns


def test_tokens_are_url_safe_and_256_bits_by_default() -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", new_token())
