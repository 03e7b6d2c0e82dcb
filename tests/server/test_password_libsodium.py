"""Argon2id checks through libsodium: every stored string argon2-cffi writes gets the same verdict
from libsodium as from argon2-cffi (right and wrong passwords, several parameter sets), strings
libsodium is not known to read stay with argon2-cffi, and an unknown user still costs one check."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type

from valetkey.server import passwords
from valetkey.server.passwords import HashParams, Passwords, sodium_checks, sodium_reads

PASSWORD = "correct horse battery ✓"  # not ASCII: both libraries hash its UTF-8

PARAMS = [(1, 8, 1), (2, 64, 1), (3, 256, 2), (1, 1024, 4), (5, 7168, 1)]  # (t, m KiB, p)


@pytest.mark.parametrize(("t", "m", "p"), PARAMS)
def test_libsodium_and_argon2_cffi_agree_on_every_string_argon2_cffi_writes(
    t: int, m: int, p: int
) -> None:
    stored = PasswordHasher(time_cost=t, memory_cost=m, parallelism=p, type=Type.ID).hash(PASSWORD)
    assert sodium_reads(stored)
    sodium = passwords._sodium_check()
    assert sodium is not None
    cffi = PasswordHasher()
    for candidate, right in ((PASSWORD, True), ("correct horse battery", False), ("", False)):
        assert sodium(candidate, stored) is right
        try:
            cffi_says = cffi.verify(stored, candidate)
        except Exception:
            cffi_says = False
        assert cffi_says is right


def test_strings_libsodium_is_not_known_to_read_are_checked_by_argon2_cffi(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """argon2i, an old version, or a salt shorter than libsodium's minimum: argon2-cffi decides,
    and a wrong password is still refused."""
    argon2i = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1, type=Type.I).hash(PASSWORD)
    made = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1, type=Type.ID).hash(PASSWORD)
    head, _salt, digest = made.rsplit("$", 2)
    short_salt = f"{head}$c2FsdA${digest}"  # 4 bytes: under the minimum of 8
    old_version = made.replace("v=19", "v=16")
    too_little_memory = made.replace("m=64,", "m=16,").replace("p=1$", "p=4$")
    for stored in (argon2i, short_salt, old_version, too_little_memory, made + "A" * 40):
        assert not sodium_reads(stored), stored
    assert sodium_reads(made)
    calls: list[str] = []

    def not_used(password: str, stored: str) -> bool:
        calls.append(stored)
        raise AssertionError("libsodium asked about a string it is not known to read")

    monkeypatch.setattr(passwords, "_sodium_check", lambda: not_used)
    checker = Passwords()
    assert checker.verify(PASSWORD, argon2i)
    assert not checker.verify("wrong", argon2i)
    assert not checker.verify(PASSWORD, short_salt)  # argon2-cffi refuses it too
    assert calls == []


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The stored strings libsodium is asked to check, in order (it still checks them)."""
    strings: list[str] = []
    real = passwords._sodium_check()
    assert real is not None

    def counting(password: str, stored: str) -> bool:
        strings.append(stored)
        return real(password, stored)

    monkeypatch.setattr(passwords, "_sodium_check", lambda: counting)
    return strings


def test_a_known_user_and_an_unknown_one_are_both_checked_by_libsodium(
    checked: list[str],
) -> None:
    """The dummy hash an unknown user is checked against is argon2-cffi's too: libsodium checks
    it as it checks a real one, so both cost one check of the same parameters."""
    checker = Passwords(HashParams(memory_kib=64, iterations=2, parallelism=1))
    stored = checker.hash(PASSWORD)
    assert checker.verify(PASSWORD, stored)
    assert not checker.verify(PASSWORD, None)  # unknown user: the dummy, never a match
    assert not checker.verify("wrong", stored)
    assert checked == [stored, checker.dummy, stored]


@pytest.mark.parametrize(
    ("t", "m", "libsodium"),
    [(1, 8, False), (1, 7168, False), (1, 32 * 1024, True), (2, 8, True), (5, 7168, True)],
)
def test_libsodium_checks_only_the_costs_it_is_faster_at(
    checked: list[str], t: int, m: int, libsodium: bool
) -> None:
    """One pass over less than 32 MiB is argon2-cffi's (libsodium maps and faults in fresh memory
    for every check); both libraries still give the same verdicts."""
    stored = PasswordHasher(time_cost=t, memory_cost=m, parallelism=1, type=Type.ID).hash(PASSWORD)
    assert sodium_reads(stored)
    assert sodium_checks(stored) is libsodium
    checker = Passwords(HashParams(memory_kib=m, iterations=t, parallelism=1))
    assert checker.verify(PASSWORD, stored)
    assert not checker.verify("wrong", stored)
    assert checked == ([stored, stored] if libsodium else [])


@pytest.mark.parametrize("iterations", [1, 2])  # argon2-cffi's check, then libsodium's
def test_a_password_that_cannot_be_encoded_is_refused_not_raised(iterations: int) -> None:
    checker = Passwords(HashParams(memory_kib=64, iterations=iterations, parallelism=1))
    assert not checker.verify("\udcff", checker.hash(PASSWORD))
