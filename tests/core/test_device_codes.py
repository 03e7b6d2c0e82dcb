"""The device flow's codes and the device authorization response, with plain values (RFC 8628)."""

from __future__ import annotations

import math
import secrets
import string
from itertools import count
from urllib.parse import parse_qs, urlsplit

import pytest

from valetkey.core.device import (
    USER_CODE_ALPHABET,
    USER_CODE_LENGTH,
    UserCodeRejected,
    device_authorization_response,
    device_code_digest,
    display_user_code,
    mint_device_code,
    new_user_code,
    normalize_user_code,
    verification_uri_complete,
)
from valetkey.core.secrets import matches_digest


def test_the_alphabet_is_twenty_consonants_and_a_code_carries_about_34_bits() -> None:
    assert len(USER_CODE_ALPHABET) == len(set(USER_CODE_ALPHABET)) == 20
    assert set(USER_CODE_ALPHABET) == set(string.ascii_uppercase) - set("AEIOUY")
    assert 34 < USER_CODE_LENGTH * math.log2(len(USER_CODE_ALPHABET)) < 35  # RFC 8628 §6.1


def test_a_user_code_takes_one_draw_per_letter_from_the_source_passed_in() -> None:
    draws = count()
    asked: list[int] = []

    def source(n: int) -> int:
        asked.append(n)
        return next(draws) % n

    code = new_user_code(source)
    assert code == USER_CODE_ALPHABET[:8]
    assert asked == [20] * 8
    assert display_user_code(code) == "BCDF-GHJK"


def test_fresh_user_codes_differ_and_use_only_the_alphabet() -> None:
    codes = {new_user_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 8 and set(c) <= set(USER_CODE_ALPHABET) for c in codes)
    # every letter turns up: the draw is not stuck on part of the alphabet
    assert set("".join(codes)) == set(USER_CODE_ALPHABET)


@pytest.mark.parametrize(
    "typed",
    ["WDJB-MJHT", "wdjb-mjht", "WDJBMJHT", "wdjbmjht", " wdjb mjht ", "Wd-Jb-Mj-Ht", "WDJB\u2013MJHT",
     "WDJB\tMJHT", "w d j b m j h t"],
)  # fmt: skip
def test_what_a_person_types_is_read_regardless_of_case_dashes_and_spaces(typed: str) -> None:
    assert normalize_user_code(typed) == "WDJBMJHT"


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "enter the code shown on your device"),
        (" - ", "enter the code shown on your device"),
        ("WDJB-MJH", "the code has 8 letters and you entered 7"),
        ("WDJB-MJHTX", "the code has 8 letters and you entered 9"),
        ("WDJA-MJHT", "cannot contain A: codes use only the consonants"),
        ("WDJ0-MJH1", "cannot contain 0 1:"),
        ("WDJB_MJHT", "cannot contain _:"),
        ("WDJB.MJHT", "cannot contain .:"),
        ("WDJ\u00c9-MJHT", "cannot contain characters other than A-Z"),
        ("\uff37DJB-MJHT", "cannot contain characters other than A-Z"),  # a full-width W
        ("W" * 65, "too long for a code"),
    ],
)
def test_anything_else_is_refused_with_a_reason_a_person_can_act_on(typed: str, says: str) -> None:
    with pytest.raises(UserCodeRejected) as info:
        normalize_user_code(typed)
    assert says in str(info.value)


def test_a_device_code_has_256_bits_and_is_kept_only_as_its_digest() -> None:
    asked: list[int] = []

    def token(n: int) -> str:
        asked.append(n)
        return secrets.token_urlsafe(n)

    minted = mint_device_code(token)
    assert asked == [32]
    assert minted.value not in minted.digest
    assert device_code_digest(minted.value) == minted.digest
    assert matches_digest(minted.value, minted.digest)
    assert mint_device_code().value != mint_device_code().value
    assert len(mint_device_code().value) >= 43


def test_the_complete_verification_uri_carries_the_code_as_people_read_it() -> None:
    assert (
        verification_uri_complete("https://as.example/device", "WDJBMJHT")
        == "https://as.example/device?user_code=WDJB-MJHT"
    )
    joined = verification_uri_complete("https://as.example/device?lang=fr", "WDJBMJHT")
    assert parse_qs(urlsplit(joined).query) == {"lang": ["fr"], "user_code": ["WDJB-MJHT"]}


def test_the_device_authorization_response_has_every_field_of_rfc_8628_3_2() -> None:
    body = device_authorization_response(
        device_code="dc-value",
        user_code="WDJBMJHT",
        verification_uri="https://as.example/device",
        expires_in=600,
        interval=5,
    )
    assert body == {
        "device_code": "dc-value",
        "user_code": "WDJB-MJHT",
        "verification_uri": "https://as.example/device",
        "verification_uri_complete": "https://as.example/device?user_code=WDJB-MJHT",
        "expires_in": 600,
        "interval": 5,
    }
    with pytest.raises(ValueError, match="positive"):
        device_authorization_response(
            device_code="d", user_code="WDJBMJHT", verification_uri="https://a/d",
            expires_in=600, interval=0,
        )  # fmt: skip
