"""RFC 9449 §10.1 as a plain-value rule: a DPoP proof sent with a pushed authorization request stands
for dpop_jkt; both sent, they must name the same key."""

from __future__ import annotations

import pytest

from valetkey.core.errors import InvalidRequest
from valetkey.core.par import bind_dpop_key

PUSHED = {"client_id": ["cli"], "scope": ["read:profile"]}
JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"


def test_without_a_proof_the_parameters_are_unchanged() -> None:
    assert bind_dpop_key(PUSHED, None) == PUSHED
    assert bind_dpop_key({**PUSHED, "dpop_jkt": ["x"]}, None)["dpop_jkt"] == ["x"]


def test_the_proof_key_becomes_dpop_jkt() -> None:
    bound = bind_dpop_key(PUSHED, JKT)
    assert bound == {**PUSHED, "dpop_jkt": [JKT]}
    assert "dpop_jkt" not in PUSHED  # the caller's mapping is left alone


def test_the_same_key_named_twice_is_accepted() -> None:
    assert bind_dpop_key({**PUSHED, "dpop_jkt": [JKT]}, JKT)["dpop_jkt"] == [JKT]


@pytest.mark.parametrize("named", [["another"], [JKT, "another"]])
def test_another_key_is_refused_naming_the_rule(named: list[str]) -> None:
    with pytest.raises(InvalidRequest) as info:
        bind_dpop_key({**PUSHED, "dpop_jkt": named}, JKT)
    assert info.value.rule == "check_pushed_dpop_jkt" and info.value.spec == "RFC 9449 section 10.1"
    assert "dpop_jkt" in info.value.description
