"""The RFC 9700 / OAuth 2.1 lint: each rule triggered, and gone once its fix is applied."""

from __future__ import annotations

from typing import Any

import pytest

from valetkey.client.profile_lint import RULES, Usage, lint

GOOD: dict[str, Any] = {
    "grant": "authorization_code",
    "pkce": True,
    "pkce_method": "S256",
    "auth_url": "https://auth.example.com/authorize",
    "token_url": "https://auth.example.com/token",
    "client_id": "cli",
    "redirect_uri": "http://127.0.0.1:8765/callback",
}

# rule, spec it cites, (profile changes, usage) that trigger it, the same with the fix applied
CASES: list[tuple[str, str, dict[str, Any], Usage, dict[str, Any], Usage]] = [
    (
        "implicit-grant",
        "RFC 9700 §2.1.2",
        {"grant": "implicit"},
        Usage(),
        {"grant": "authorization_code"},
        Usage(),
    ),
    (
        "password-grant",
        "RFC 9700 §2.4",
        {"grant": "password", "username": "u"},
        Usage(),
        {"grant": "client_credentials"},
        Usage(),
    ),
    ("pkce-missing", "RFC 9700 §2.1.1", {"pkce": False}, Usage(), {"pkce": True}, Usage()),
    (
        "pkce-plain",
        "RFC 9700 §2.1.1; RFC 7636 §4.2",
        {"pkce_method": "plain"},
        Usage(),
        {"pkce_method": "S256"},
        Usage(),
    ),
    (
        "fixed-code-verifier",
        "RFC 7636 §4.1",
        {"code_verifier": "v" * 43},
        Usage(),
        {"code_verifier": None},
        Usage(),
    ),
    (
        "state-missing",
        "RFC 6749 §10.12; RFC 9700 §2.1",
        {"pkce": False},
        Usage(state="none"),
        {"pkce": True},
        Usage(state="none"),
    ),
    ("state-fixed", "RFC 6749 §10.12", {}, Usage(state="fixed"), {}, Usage(state="random")),
    (
        "secret-in-public-client",
        "RFC 6749 §10.1; RFC 8252 §8.5",
        {"grant": "implicit", "client_secret": "s"},
        Usage(),
        {"grant": "implicit"},
        Usage(),
    ),
    (
        "http-endpoint",
        "RFC 6749 §3.1, §3.2; RFC 9700 §2.6",
        {"token_url": "http://auth.example.com/token"},
        Usage(),
        {"token_url": "https://auth.example.com/token"},
        Usage(),
    ),
    (
        "http-redirect",
        "RFC 9700 §2.6; RFC 8252 §7.3",
        {},
        Usage(callback="http://app.example.com/cb"),
        {},
        Usage(callback="https://app.example.com/cb"),
    ),
    (
        "token-in-url",
        "RFC 9700 §4.3.2; RFC 6750 §2.3",
        {},
        Usage(add_token_to="query"),
        {},
        Usage(add_token_to="header"),
    ),
]


def _profile(changes: dict[str, Any]) -> dict[str, Any]:
    values = {**GOOD, **changes}
    return {k: v for k, v in values.items() if v is not None}


def test_a_good_profile_has_no_findings() -> None:
    assert lint(GOOD) == []
    assert lint({"grant": "client_credentials", "token_url": "http://127.0.0.1:9000/token"}) == []


@pytest.mark.parametrize(
    ("rule", "spec", "bad", "bad_usage", "fixed", "fixed_usage"), CASES, ids=[c[0] for c in CASES]
)
def test_each_rule_triggers_and_its_fix_clears_it(
    rule: str,
    spec: str,
    bad: dict[str, Any],
    bad_usage: Usage,
    fixed: dict[str, Any],
    fixed_usage: Usage,
) -> None:
    found = [f for f in lint(_profile(bad), bad_usage) if f.rule == rule]
    assert len(found) == 1, lint(_profile(bad), bad_usage)
    assert found[0].spec == spec and found[0].reason and found[0].fix
    assert rule not in {f.rule for f in lint(_profile(fixed), fixed_usage)}


def test_every_rule_is_covered() -> None:
    assert len(CASES) == len(RULES)


def test_state_fixed_matters_less_with_pkce() -> None:
    with_pkce = lint(GOOD, Usage(state="fixed"))
    without = lint({**GOOD, "pkce": False}, Usage(state="fixed"))
    assert [f.severity for f in with_pkce if f.rule == "state-fixed"] == ["low"]
    assert [f.severity for f in without if f.rule == "state-fixed"] == ["medium"]


def test_rules_that_depend_on_the_grant_stay_quiet_elsewhere() -> None:
    machine = {
        "grant": "client_credentials",
        "token_url": "https://a.test/token",
        "pkce": False,
        "code_verifier": "v" * 43,
    }
    assert lint(machine, Usage(state="none", callback="http://app.example.com/cb")) == []


def test_each_http_url_is_its_own_finding() -> None:
    values = {**GOOD, "auth_url": "http://a.example/authorize", "issuer": "http://a.example"}
    fields = [f.field for f in lint(values) if f.rule == "http-endpoint"]
    assert fields == ["issuer", "auth_url"]


def test_a_hand_written_profile_without_grant_is_the_code_grant() -> None:
    rules = {f.rule for f in lint({"client_id": "x", "pkce": False})}
    assert rules == {"pkce-missing"}
