"""JWTValidator details against the real authorization server's keys: the digest cache, its expiry,
the accepted typ spellings, and the algorithm allow-list."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.resource.conftest import AS, AUDIENCE
from valetkey.core.checks import Rejected
from valetkey.core.clock import FixedClock
from valetkey.resource import JWTValidator


def test_verified_tokens_are_cached_until_they_expire(auth: AS) -> None:
    clock = FixedClock(time.time())
    token = auth.service_token()

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
