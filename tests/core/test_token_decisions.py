"""The token endpoint's decisions with plain values: ``(params, client, records) -> (error class,
rule)``. The same matrix as tests/server/test_token_errors.py, without HTTP, a database or a clock:
each case names the rule that must refuse (or None: every rule passes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from valetkey.core import pkce
from valetkey.core.checks import Rejected
from valetkey.core.errors import (
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from valetkey.core.events import Check
from valetkey.core.grant_types import GRANT_TYPES, check_grant_type
from valetkey.core.models import AuthorizationCode, Client, Grant, RefreshToken
from valetkey.core.revocation import Refused, Replay, Reuse
from valetkey.core.token import (
    ClientCredentialsContext,
    CodeContext,
    PasswordContext,
    RefreshContext,
    decide_authorization_code,
    decide_client_credentials,
    decide_password,
    decide_refresh,
)

CB = "http://127.0.0.1:9999/callback"
VERIFIER = "v" * 43
KNOWN = frozenset({"openid", "profile", "read:profile", "read:files", "write:files"})
CLI = Client(
    "cli",
    redirect_uris=(CB,),
    grant_types=("authorization_code", "refresh_token"),
    token_endpoint_auth_method="none",
    scope=("openid", "profile", "read:profile", "read:files", "write:files"),
)
PLAIN = Client("plain-client", redirect_uris=(CB,), token_endpoint_auth_method="none")
WEB = Client("web", secret_digest="sha256:x", grant_types=("authorization_code", "refresh_token"))
SVC = Client(
    "svc", secret_digest="sha256:x", grant_types=("client_credentials",), scope=("read:files",)
)
LEGACY = Client(
    "legacy", secret_digest="sha256:x", grant_types=("password",), scope=("read:profile",)
)
CODE = AuthorizationCode(
    code_digest="d",
    client_id="cli",
    redirect_uri=CB,
    sub="sub-1",
    scope=("read:profile",),
    audience=("https://api",),
    code_challenge=pkce.challenge_for(VERIFIER, "S256"),
    code_challenge_method="S256",
    grant_id="g1",
    flow_id="f1",
    issued_at=100.0,
    expires_at=160.0,
    auth_time=90.0,
)
GRANT = Grant("g1", "cli", "sub-1", ("read:profile", "read:files"), ("https://api",), 100.0)
REFRESH = RefreshToken("r", "g1", "cli", ("read:profile", "read:files"), 101.0, 10_000.0)
CODE_PARAMS = {"code": "the-code", "redirect_uri": CB, "code_verifier": VERIFIER}


def form(**values: str | None) -> dict[str, list[str]]:
    return {k: [v] for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class Case:
    name: str
    decide: Callable[[], tuple[Check, ...]]
    error: type[OAuthError] | None
    rule: str | None


def code_case(
    name: str,
    error: Any,
    rule: Any,
    client: Client = CLI,
    record: Any = CODE,
    now: float = 110.0,
    replayed: bool = False,
    **params: str | None,
) -> Case:
    ctx = CodeContext(form(**{**CODE_PARAMS, **params}), client, record, now, replayed)
    return Case(name, lambda: decide_authorization_code(ctx), error, rule)


def refresh_case(
    name: str,
    error: Any,
    rule: Any,
    client: Client = CLI,
    token: Any = REFRESH,
    grant: Any = GRANT,
    now: float = 200.0,
    reused: bool = False,
    **params: str | None,
) -> Case:
    ctx = RefreshContext(
        form(**{"refresh_token": "r", **params}), client, token, grant, now, reused
    )
    return Case(name, lambda: decide_refresh(ctx), error, rule)


def cc_case(name: str, error: Any, rule: Any, client: Client = SVC, **params: str | None) -> Case:
    ctx = ClientCredentialsContext(form(**params), client, KNOWN)
    return Case(name, lambda: decide_client_credentials(ctx), error, rule)


def password_case(
    name: str, error: Any, rule: Any, client: Client = LEGACY, **params: str | None
) -> Case:
    ctx = PasswordContext(form(**{"username": "alice", "password": "pw", **params}), client, KNOWN)
    return Case(name, lambda: decide_password(ctx), error, rule)


CASES = [
    code_case("code: all rules pass", None, None),
    code_case(
        "code: verifier does not match", InvalidGrant, "check_code_verifier", code_verifier="w" * 43
    ),
    code_case("code: verifier missing", InvalidGrant, "check_code_verifier", code_verifier=None),
    code_case(
        "code: verifier malformed", InvalidGrant, "check_code_verifier", code_verifier="short"
    ),
    code_case(
        "code: verifier without a challenge (downgrade)",
        InvalidGrant,
        "check_code_verifier",
        record=replace(CODE, code_challenge=None, code_challenge_method=None),
    ),
    code_case(
        "code: redirect_uri differs", InvalidGrant, "check_code_redirect_uri", redirect_uri=CB + "x"
    ),
    code_case(
        "code: redirect_uri missing", InvalidGrant, "check_code_redirect_uri", redirect_uri=None
    ),
    code_case("code: unknown", InvalidGrant, "check_code_known", record=None),
    code_case("code: missing", InvalidRequest, "check_code_known", record=None, code=None),
    code_case("code: expired", InvalidGrant, "check_code_expiry", now=161.0),
    code_case(
        "code: another client's",
        InvalidGrant,
        "check_code_client",
        client=replace(PLAIN, grant_types=("authorization_code",)),
    ),
    code_case(
        "code: client not registered for the grant",
        UnauthorizedClient,
        "check_grant_allowed",
        client=SVC,
    ),
    code_case("code: replayed", InvalidGrant, "check_code_unused", replayed=True),
    # The replay rule runs after the checks of who presents the code: a replay without the
    # verifier fails on the verifier and revokes nothing (a leaked code cannot end a grant).
    code_case(
        "code: replayed without its verifier",
        InvalidGrant,
        "check_code_verifier",
        replayed=True,
        code_verifier=None,
    ),
    refresh_case("refresh: all rules pass", None, None),
    refresh_case("refresh: narrowed", None, None, scope="read:files"),
    refresh_case(
        "refresh: token missing", InvalidRequest, "check_refresh_known", refresh_token=None
    ),
    refresh_case("refresh: unknown", InvalidGrant, "check_refresh_known", token=None, grant=None),
    refresh_case("refresh: another client's", InvalidGrant, "check_refresh_client", client=WEB),
    refresh_case(
        "refresh: client not registered for it",
        UnauthorizedClient,
        "check_grant_allowed",
        client=PLAIN,
    ),
    refresh_case("refresh: reused", InvalidGrant, "check_refresh_not_reused", reused=True),
    refresh_case(
        "refresh: grant revoked",
        InvalidGrant,
        "check_refresh_active",
        grant=replace(GRANT, revoked_at=150.0),
    ),
    refresh_case("refresh: expired", InvalidGrant, "check_refresh_active", now=10_000.0),
    refresh_case(
        "refresh: widened scope",
        InvalidScope,
        "check_refresh_scope",
        scope="read:profile write:files",
    ),
    cc_case("client_credentials: all rules pass", None, None),
    cc_case(
        "client_credentials: scope not allowed", InvalidScope, "check_scope", scope="read:profile"
    ),
    cc_case("client_credentials: a user scope", InvalidScope, "check_scope", scope="openid"),
    cc_case(
        "client_credentials: not registered", UnauthorizedClient, "check_grant_allowed", client=WEB
    ),
    cc_case(
        "client_credentials: public client",
        UnauthorizedClient,
        "check_confidential_client",
        client=CLI,
    ),
    password_case("password: all rules pass", None, None),
    password_case(
        "password: public client", UnauthorizedClient, "check_password_client", client=CLI
    ),
    password_case(
        "password: not registered", UnauthorizedClient, "check_password_client", client=WEB
    ),
    password_case(
        "password: username missing", InvalidRequest, "check_password_params", username=None
    ),
    password_case(
        "password: password missing", InvalidRequest, "check_password_params", password=None
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_decision(case: Case) -> None:
    if case.error is None:
        checks = case.decide()
        assert checks and all(c.outcome == "pass" for c in checks)
        return
    with pytest.raises(Rejected) as caught:
        case.decide()
    error = caught.value.error
    assert type(error) is case.error and error.rule == case.rule
    assert error.spec and error.description  # every refusal cites its spec and explains itself
    failed = caught.value.checks[-1]
    assert failed.outcome == "fail" and failed.rule == case.rule
    assert all(c.outcome == "pass" for c in caught.value.checks[:-1])


def test_repeated_parameters_are_refused() -> None:
    ctx = CodeContext(
        {**form(**CODE_PARAMS), "code_verifier": [VERIFIER, VERIFIER]}, CLI, CODE, 110.0
    )
    with pytest.raises(Rejected) as caught:
        decide_authorization_code(ctx)
    assert (
        type(caught.value.error) is InvalidRequest and "repeated" in caught.value.error.description
    )


def test_a_replayed_code_is_refused_with_the_grant_to_revoke() -> None:
    ctx = CodeContext(form(**CODE_PARAMS), CLI, CODE, 110.0, replayed=True)
    with pytest.raises(Refused) as caught:
        decide_authorization_code(ctx)
    assert caught.value.revocation == Replay("g1")
    assert caught.value.revocation.spec == "RFC 9700 §4.2.4"


def test_a_reused_refresh_token_is_refused_with_the_grant_to_revoke() -> None:
    ctx = RefreshContext(form(refresh_token="r"), CLI, REFRESH, GRANT, 200.0, reused=True)
    with pytest.raises(Refused) as caught:
        decide_refresh(ctx)
    assert caught.value.revocation == Reuse("g1")
    assert caught.value.revocation.reason == "refresh token reused"


@pytest.mark.parametrize(
    "case",
    [
        c
        for c in CASES
        if c.error is not None and c.rule not in ("check_code_unused", "check_refresh_not_reused")
    ],
    ids=lambda c: c.name,
)
def test_other_refusals_revoke_nothing(case: Case) -> None:
    with pytest.raises(Rejected) as caught:
        case.decide()
    assert not isinstance(caught.value, Refused)


def test_a_replayed_code_for_a_client_without_the_grant_revokes_nothing() -> None:
    """Only the replay rule decides a revocation; a request refused before it revokes nothing."""
    ctx = CodeContext(form(**CODE_PARAMS), SVC, CODE, 110.0, replayed=True)
    with pytest.raises(Rejected) as caught:
        decide_authorization_code(ctx)
    assert (
        not isinstance(caught.value, Refused) and caught.value.error.rule == "check_grant_allowed"
    )


@pytest.mark.parametrize(
    ("params", "allow", "error", "words"),
    [
        (form(grant_type="teleport"), False, UnsupportedGrantType, "'teleport' is not supported"),
        (
            form(grant_type="password"),
            False,
            UnsupportedGrantType,
            "disabled (RFC 9700 section 2.4)",
        ),
        (form(), False, InvalidRequest, "grant_type is required"),
        ({"grant_type": ["password", "password"]}, True, InvalidRequest, "repeated"),
    ],
)
def test_grant_type_refusals(
    params: dict[str, list[str]], allow: bool, error: type[OAuthError], words: str
) -> None:
    with pytest.raises(error) as caught:
        check_grant_type(params, allow_deprecated=allow)
    assert words in caught.value.description


def test_each_grant_type_runs_its_rule_table() -> None:
    assert check_grant_type(form(grant_type="password"), allow_deprecated=True).deprecated_by
    for name, grant_type in GRANT_TYPES.items():
        assert check_grant_type(form(grant_type=name), allow_deprecated=True) is grant_type
    assert {n for n, g in GRANT_TYPES.items() if g.deprecated_by} == {"password"}
    from valetkey.server.token import GRANTS

    assert set(GRANTS) == set(GRANT_TYPES)  # every grant type the core offers has a handler
