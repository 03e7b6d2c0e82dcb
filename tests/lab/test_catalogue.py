"""The fault catalogue: every fault has its behaviour in the lab, exactly once, and cites its rule."""

from __future__ import annotations

import pytest

from valetkey.lab import callback, forge, token
from valetkey.lab.catalogue import BY_NAME, FAULTS, select

# Where each stage's faults are committed.
BEHAVIOUR = {
    "callback": set(callback.CALLBACK_FAULTS),
    "id_token": set(forge.FAULTS),
    "token": set(token.HTTP_FAULTS) | {token.HOLD} | set(token.CODE_FAULTS) | set(token.BODY_FAULTS),
    "refresh": set(token.REFRESH_FAULTS),
    "discovery": {"discovery-issuer"},
    "control": {"baseline"},
}


def test_every_fault_is_committed_by_the_stage_it_names_and_nothing_else_exists() -> None:
    for fault in FAULTS:
        assert fault.name in BEHAVIOUR[fault.stage], f"{fault.name}: no behaviour at {fault.stage}"
    implemented = set().union(*BEHAVIOUR.values())
    assert implemented == set(BY_NAME), implemented ^ set(BY_NAME)
    assert sum(len(v) for v in BEHAVIOUR.values()) == len(FAULTS)  # each in one place


def test_the_issues_faults_are_all_there() -> None:
    wanted = {
        "state-altered", "state-missing", "iss-missing", "iss-wrong", "iss-mixup",
        "error-without-state", "code-reused", "code-expired", "token-slow", "token-503",
        "token-html", "token-invalid-json", "token-type", "no-expires-in", "scope-wider",
        "id-token-aud", "id-token-iss", "id-token-nonce", "id-token-at-hash", "id-token-alg-none",
        "id-token-hs256-pubkey", "id-token-expired", "id-token-iat-future", "id-token-kid-unknown",
        "jwks-rotated", "refresh-reuse", "discovery-issuer",
    }  # fmt: skip
    assert wanted <= set(BY_NAME)
    assert len(FAULTS) == len(BY_NAME) == len(wanted) + 1  # and the baseline


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_each_fault_says_what_is_wrong_what_to_do_and_where_the_spec_says_so(fault) -> None:
    assert fault.does and fault.should and fault.rule
    assert fault.spec.startswith(("RFC ", "OIDC ", "robustness"))
    assert fault.judged_by.startswith(("accepted if", "it passes only"))
    if fault.expect == "survive":
        assert fault.name in {"baseline", "no-expires-in", "jwks-rotated", "refresh-reuse"}


def test_select_keeps_catalogue_order_and_names_unknown_faults() -> None:
    assert [f.name for f in select(["token-503", "baseline"])] == ["baseline", "token-503"]
    assert select(None) == FAULTS
    with pytest.raises(KeyError, match="no-such"):
        select(["no-such", "baseline"])
