"""The server's own Set-Cookie writer: the same header Starlette's ``set_cookie`` writes."""

from __future__ import annotations

import string

import pytest
from starlette.responses import Response

from valetkey.core.secrets import new_token
from valetkey.server.cookies import Signer, set_cookie


def _starlette(name: str, value: str, secure: bool, max_age: int | None) -> list[bytes]:
    r = Response()
    r.raw_headers = []
    r.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/"
    )
    return [v for k, v in r.raw_headers if k == b"set-cookie"]


def _ours(name: str, value: str, secure: bool, max_age: int | None) -> list[bytes]:
    r = Response()
    r.raw_headers = []
    set_cookie(r, name, value, secure=secure, max_age=max_age)
    return [v for k, v in r.raw_headers if k == b"set-cookie"]


VALUES = [
    new_token(24),
    Signer(["k"]).sign("session", new_token(32)),
    string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~:",
    # values http.cookies quotes or escapes: ours must not write them bare
    "a b",
    'a"b',
    "a;b",
    "a,b",
    "a\\b",
    "é",
    "",
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("secure", [False, True])
@pytest.mark.parametrize("max_age", [None, 0, 3600])
def test_same_header_as_starlette(value: str, secure: bool, max_age: int | None) -> None:
    assert _ours("vk_session", value, secure, max_age) == _starlette(
        "vk_session", value, secure, max_age
    )


def test_the_attributes_a_session_cookie_needs() -> None:
    (header,) = _ours("vk_session", "abc.def", True, 60)
    parts = header.decode().split("; ")
    assert parts[0] == "vk_session=abc.def"
    assert {"HttpOnly", "Secure", "SameSite=lax", "Path=/", "Max-Age=60"} == set(parts[1:])
