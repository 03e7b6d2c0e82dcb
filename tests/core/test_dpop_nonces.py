"""Server nonces without server state (RFC 9449 §8, §9): minted and checked from a shared secret."""

from __future__ import annotations

import re

import pytest

from valetkey.core.dpop import DPoPNonces, FixedNonce

SECRET = b"0123456789abcdef0123456789abcdef"
T = 1_700_000_100.0  # inside a 300-second window


def test_instances_sharing_the_secret_mint_and_accept_the_same_nonce() -> None:
    one, two = (
        DPoPNonces(SECRET, context="https://as.example"),
        DPoPNonces(SECRET, context="https://as.example"),
    )
    assert one.current(T) == two.current(T)
    assert two.accepts(one.current(T), T)


def test_a_nonce_lives_its_window_and_the_next() -> None:
    nonces = DPoPNonces(SECRET, lifetime=300)
    start = nonces.window(T) * 300.0
    nonce = nonces.current(start)
    assert nonces.current(start + 299) == nonce
    assert nonces.current(start + 300) != nonce
    assert nonces.accepts(nonce, start + 599)
    assert not nonces.accepts(nonce, start + 600)


def test_an_instance_whose_clock_lags_a_window_still_accepts() -> None:
    nonces = DPoPNonces(SECRET, lifetime=300)
    assert nonces.accepts(nonces.current(T + 300), T)
    assert not nonces.accepts(nonces.current(T + 600), T)


@pytest.mark.parametrize(
    "other",
    [
        DPoPNonces(b"another-secret-of-32-bytes......"),
        DPoPNonces(SECRET, context="https://rs.example"),
    ],
    ids=["another secret", "another server (RFC 9449 §9)"],
)
def test_nonces_of_another_secret_or_server_are_refused(other: DPoPNonces) -> None:
    assert not DPoPNonces(SECRET).accepts(other.current(T), T)


def test_nonces_are_unpredictable_and_of_nonce_syntax() -> None:
    nonces = DPoPNonces(SECRET)
    minted = {nonces.for_window(w) for w in range(200)}
    assert len(minted) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", n) for n in minted)  # RFC 9449 §8.1 NQCHAR


def test_refused_values() -> None:
    nonces = DPoPNonces(SECRET)
    assert not nonces.accepts("", T)
    assert not nonces.accepts(nonces.current(T) + "x", T)
    assert not nonces.accepts("x" * 10_000, T)


@pytest.mark.parametrize(("secret", "lifetime"), [(b"short", 300.0), (SECRET, 0.0)])
def test_a_weak_secret_or_an_empty_window_is_a_configuration_error(
    secret: bytes, lifetime: float
) -> None:
    with pytest.raises(ValueError):
        DPoPNonces(secret, lifetime=lifetime)


def test_a_fixed_nonce() -> None:
    fixed = FixedNonce("n-1")
    assert fixed.current(T) == "n-1" and fixed.accepts("n-1", T)
    assert not fixed.accepts("n-2", T) and not fixed.accepts("n-1 ", T)
