"""The interaction decision with plain values: (request, session, approved scopes, now) -> step."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from valetkey.core.authorize import AuthorizationRequest
from valetkey.core.errors import ConsentRequired, LoginRequired
from valetkey.core.interaction import InteractionContext, decide_interaction
from valetkey.core.models import LoginSession

NOW = 1_000_000.0
REQUEST = AuthorizationRequest(
    client_id="cli",
    response_type="code",
    redirect_uri="http://127.0.0.1/callback",
    redirect_uri_given=True,
    scope=("openid", "profile"),
    audience=(),
    state="s",
    code_challenge="c" * 43,
    code_challenge_method="S256",
    nonce=None,
    prompt=(),
    max_age=None,
)
SESSION = LoginSession("digest", "alice-sub", auth_time=NOW - 600, expires_at=NOW + 3600)
APPROVED = ("openid", "profile", "email")


def decide(
    *,
    prompt: tuple[str, ...] = (),
    max_age: int | None = None,
    scope: tuple[str, ...] = REQUEST.scope,
    session: LoginSession | None = SESSION,
    granted: tuple[str, ...] = APPROVED,
    fresh_login: bool = False,
) -> tuple[str, str, type | None]:
    """The step, the rule that decided it (the last check) and the error class, if any."""
    request = replace(REQUEST, prompt=prompt, max_age=max_age, scope=scope)
    decision = decide_interaction(InteractionContext(request, session, granted, NOW, fresh_login))
    if decision.error is not None:
        # prompt=none: the deciding rule's check failed, citing OIDC Core §3.1.2.6.
        failed = decision.checks[-1]
        assert (failed.rule, failed.outcome) == (decision.rule, "fail")
        assert all(c.outcome == "pass" for c in decision.checks[:-1])
    else:
        # A page or the response is the next step, not a failure: every recorded check passed.
        assert all(c.outcome == "pass" for c in decision.checks)
    if decision.step == "issue":
        assert decision.rule == "" and decision.why() == {}
        return decision.step, decision.checks[-1].rule, None
    assert decision.rule and decision.spec and decision.reason
    assert decision.why() == {
        "rule": decision.rule,
        "spec": decision.spec,
        "reason": decision.reason,
    }
    return decision.step, decision.rule, type(decision.error) if decision.error else None


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        # No session: sign in first; nothing after the session check can be judged.
        (dict(session=None), ("sign_in", "check_signed_in", None)),
        (dict(session=None, prompt=("consent",)), ("sign_in", "check_signed_in", None)),
        # A session and every scope approved: the response is issued without a page.
        (dict(), ("issue", "check_scopes_approved", None)),
        (dict(scope=()), ("issue", "check_scopes_approved", None)),
        # prompt=login and max_age ask for a new sign-in unless the user has just signed in.
        (dict(prompt=("login",)), ("sign_in", "check_prompt_login", None)),
        (dict(prompt=("login",), fresh_login=True), ("issue", "check_scopes_approved", None)),
        (dict(max_age=599), ("sign_in", "check_max_age", None)),
        (dict(max_age=600), ("issue", "check_scopes_approved", None)),
        (dict(max_age=0), ("sign_in", "check_max_age", None)),
        (dict(max_age=0, fresh_login=True), ("issue", "check_scopes_approved", None)),
        # Consent: asked for when a scope is new, or when prompt=consent insists.
        (dict(scope=("openid", "read:files")), ("consent", "check_scopes_approved", None)),
        (dict(granted=()), ("consent", "check_scopes_approved", None)),
        (dict(prompt=("consent",)), ("consent", "check_prompt_consent", None)),
        (
            dict(prompt=("login", "consent"), fresh_login=True),
            ("consent", "check_prompt_consent", None),
        ),
        # prompt=none: any step that needs the user becomes an error (OIDC Core §3.1.2.6).
        (dict(prompt=("none",)), ("issue", "check_scopes_approved", None)),
        (dict(prompt=("none",), session=None), ("sign_in", "check_signed_in", LoginRequired)),
        (dict(prompt=("none",), max_age=10), ("sign_in", "check_max_age", LoginRequired)),
        (
            dict(prompt=("none",), granted=("openid",)),
            ("consent", "check_scopes_approved", ConsentRequired),
        ),
    ],
)
def test_interaction_decision(case: dict[str, Any], expected: tuple[str, str, type | None]) -> None:
    assert decide(**case) == expected


def test_prompt_none_errors_cite_oidc_core_3_1_2_6_and_keep_the_reason_private() -> None:
    request = replace(REQUEST, prompt=("none",))
    decision = decide_interaction(InteractionContext(request, SESSION, ("openid",), NOW))
    assert decision.error is not None
    assert decision.error.error == "consent_required"
    assert decision.error.spec == "OIDC Core §3.1.2.6"
    assert decision.error.rule == "check_scopes_approved"
    assert "profile" in decision.error.detail  # the event says which scope was missing
    assert "profile" not in decision.error.description
    assert decision.checks[-1].spec == "OIDC Core §3.1.2.6"


def test_the_rules_that_passed_are_recorded_in_order_and_the_deciding_rule_named() -> None:
    request = replace(REQUEST, prompt=("consent",))
    decision = decide_interaction(InteractionContext(request, SESSION, APPROVED, NOW))
    assert [(c.rule, c.outcome) for c in decision.checks] == [
        ("check_signed_in", "pass"),
        ("check_prompt_login", "pass"),
        ("check_max_age", "pass"),
    ]
    assert (decision.step, decision.rule) == ("consent", "check_prompt_consent")
    assert decision.spec == "OIDC Core §3.1.2.1 (prompt=consent)"


@pytest.mark.parametrize(
    ("redirect_uri", "public", "step"),
    [
        ("http://127.0.0.1:50123/callback", True, "consent"),  # any local app may listen there
        ("http://[::1]:50123/callback", True, "consent"),
        ("com.example.app:/callback", True, "consent"),  # any app may claim the scheme
        ("https://app.example/callback", True, "issue"),  # the host names its owner
        ("http://127.0.0.1:50123/callback", False, "issue"),  # the client authenticates
    ],
)
def test_remembered_consent_needs_a_client_whose_identity_is_proven(
    redirect_uri: str, public: bool, step: str
) -> None:
    """RFC 8252 §8.6: a public client redirecting to a loopback or private-use URI is asked again."""
    request = replace(REQUEST, redirect_uri=redirect_uri)
    ctx = InteractionContext(request, SESSION, APPROVED, NOW, public_client=public)
    decision = decide_interaction(ctx)
    assert decision.step == step
    if step == "consent":
        assert decision.rule == "check_client_identity"
        none = decide_interaction(replace(ctx, request=replace(request, prompt=("none",))))
        assert isinstance(none.error, ConsentRequired)
