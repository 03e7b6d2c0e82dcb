"""JWTValidator details against the real authorization server's keys: the digest cache, its expiry,
the accepted typ spellings, and the algorithm allow-list."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.resource.conftest import AS, AUDIENCE
from valetkey.core import jose
from valetkey.core.checks import Rejected
from valetkey.core.clock import FixedClock
from valetkey.resource import JWTValidator


def test_verified_tokens_are_cached_until_they_expire(auth: AS) -> None:
    token = auth.service_token()
    clock = FixedClock(time.time())  # after issuance: iat is not in this clock's future

    async def scenario() -> None:
        v = JWTValidator(auth.base, AUDIENCE, clock=clock, leeway=0)
        first = await v.validate(token, "f")
        assert await v.validate(token, "f") is first  # from the cache: no second verification
        assert len(v.cache) == 1 and first.expires_at is not None
        clock.advance(first.expires_at - clock.now())
        with pytest.raises(Rejected) as info:  # at exp the cache entry is gone and the token too
            await v.validate(token, "f")
        assert "expired" in info.value.error.description
        await v.aclose()

    asyncio.run(scenario())


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT"])
def test_both_spellings_of_the_access_token_type_are_accepted(auth: AS, typ: str) -> None:
    async def scenario() -> str:
        v = JWTValidator(auth.base, AUDIENCE)
        try:
            return (await v.validate(auth.forge(header={"typ": typ}), "f")).sub
        finally:
            await v.aclose()

    assert asyncio.run(scenario()) == "alice-sub"


@pytest.mark.parametrize("algs", [("none",), ("HS256",), ("ES256", "HS512"), ()])
def test_only_asymmetric_algorithms_can_be_allowed(algs: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="subset"):
        JWTValidator("https://as.example", AUDIENCE, algorithms=algs)


def test_an_allowed_list_without_es256_refuses_es256_tokens(auth: AS) -> None:
    async def scenario() -> None:
        v = JWTValidator(auth.base, AUDIENCE, algorithms=("RS256",))
        with pytest.raises(Rejected) as info:
            await v.validate(auth.service_token(), "f")
        assert info.value.checks[-1].rule == "alg_allowed"
        await v.aclose()

    asyncio.run(scenario())


WEIRD = [None, True, 0, -1, 1e308, "", "x" * 300, [], ["a", 1], {}, {"a": {"b": []}}]


def _b64(value: object) -> str:
    import base64
    import json

    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_odd_headers_and_claims_are_invalid_token_never_a_crash(auth: AS) -> None:
    good_header = {"alg": "ES256", "typ": "at+jwt", "kid": auth.active_key()["kid"]}
    now = int(time.time())
    good_claims = {
        "iss": auth.base,
        "sub": "s",
        "aud": AUDIENCE,
        "exp": now + 60,
        "iat": now,
        "jti": "j",
        "client_id": "c",
        "scope": "read:files",
    }
    tokens: list[tuple[str, object, str]] = []
    for value in WEIRD:
        for name in good_header:
            token = f"{_b64({**good_header, name: value})}.{_b64(good_claims)}.c2ln"
            tokens.append((name, value, token))
        for name in good_claims:  # signed with the server's real key: every claim rule runs
            claims = {**good_claims, name: value}
            tokens.append((name, value, jose.sign(claims, auth.active_key(), typ="at+jwt")))
        tokens.append(("all", value, f"{_b64(value)}.{_b64(value)}.c2ln"))
    # well-formed after all: a far exp, an old iat, an empty scope, long identifiers
    fine = {
        ("exp", 1e308),
        ("iat", 0),
        ("iat", -1),
        ("scope", ""),
        ("scope", None),
        *((n, "x" * 300) for n in ("sub", "jti", "client_id", "scope")),
    }

    async def scenario() -> None:
        v = JWTValidator(auth.base, AUDIENCE)
        for name, value, token in tokens:
            try:
                await v.validate(token, "f")
            except Rejected as rejected:
                assert rejected.error.error == "invalid_token", (name, value)
            else:
                assert (name, value) in fine, (name, value)
        await v.aclose()

    asyncio.run(scenario())
