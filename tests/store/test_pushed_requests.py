"""Pushed authorization requests in the store (RFC 9126), on every backend."""

from __future__ import annotations

from valetkey.store.sql import SQLStore

PARAMS = {"client_id": ["cli"], "scope": ["read:profile"], "state": ["\u00e9t\u00e9 \x00"]}


def test_a_pushed_request_is_read_until_used_or_expired(store: SQLStore) -> None:
    store.push_request("d1", "cli", PARAMS, 160.0, 100.0)
    assert store.get_pushed_request("d1", 159.0) == ("cli", PARAMS)
    assert store.get_pushed_request("d1", 160.0) is None  # expired
    assert store.use_pushed_request("d1", 150.0) is True
    assert store.use_pushed_request("d1", 151.0) is False  # once
    assert store.get_pushed_request("d1", 152.0) is None


def test_an_expired_request_cannot_be_used_and_is_swept_by_the_next_push(store: SQLStore) -> None:
    store.push_request("old", "cli", PARAMS, 160.0, 100.0)
    assert store.use_pushed_request("old", 161.0) is False
    store.push_request("new", "cli", PARAMS, 300.0, 240.0)
    store.push_request("old", "cli", PARAMS, 400.0, 240.0)  # the old row was swept: no conflict
    assert store.get_pushed_request("old", 241.0) == ("cli", PARAMS)


def test_unknown_or_unstorable_digests_are_none(store: SQLStore) -> None:
    assert store.get_pushed_request("nope", 0.0) is None
    assert store.get_pushed_request("nul\x00", 0.0) is None
    assert store.use_pushed_request("nope", 0.0) is False
    assert store.use_pushed_request("nul\x00", 0.0) is False
