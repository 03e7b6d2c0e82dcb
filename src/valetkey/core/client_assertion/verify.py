"""Verifying a client assertion and enforcing the single use of its ``jti``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from valetkey.core.checks import Rejected, Rule, run_rules
from valetkey.core.client_assertion.policy import JWT_METHODS, AssertionPolicy
from valetkey.core.client_assertion.rules import ASSERTION_RULES, VerifyContext, replay_key
from valetkey.core.dpop.replay import JtiRegistry
from valetkey.core.errors import InvalidClient
from valetkey.core.events import Check


@dataclass(frozen=True)
class AssertionContext:
    """What the server knows when a client authenticates with an assertion at one endpoint."""

    issuer: str
    endpoint_url: str  # the public URL of the endpoint being called (configured, never from Host)
    now: float
    token_endpoint_url: str = ""  # accepted as aud at every endpoint (OIDC Core §9)
    jwks: Mapping[str, Any] | None = None  # private_key_jwt: the client's registered JWK Set
    client_secret: str | None = None  # client_secret_jwt: the secret itself, never a digest
    policy: AssertionPolicy = field(default_factory=AssertionPolicy)


@dataclass(frozen=True)
class VerifiedAssertion:
    client_id: str
    method: str
    jti: str
    alg: str
    kid: str | None
    expires_at: float  # exp plus the leeway: how long a JtiRegistry keeps replay_key
    replay_key: str  # SHA-256 of ("client_assertion", client_id, jti): what a JtiRegistry records
    checks: tuple[Check, ...]


def verify_assertion(
    assertion: str, client_id: str, method: str, context: AssertionContext
) -> VerifiedAssertion:
    """Run every rule of :data:`ASSERTION_RULES` for a client registered with ``method``."""
    if method not in JWT_METHODS:
        raise ValueError(f"{method!r} is not one of {JWT_METHODS}")
    ctx = VerifyContext(
        assertion,
        client_id,
        method,
        context.issuer,
        context.endpoint_url,
        context.token_endpoint_url,
        context.now,
        context.jwks,
        context.client_secret,
        context.policy,
    )
    checks = run_rules(ASSERTION_RULES, ctx)
    jti = str(ctx.claims["jti"])
    kid = ctx.header.get("kid")
    return VerifiedAssertion(
        client_id=client_id,
        method=method,
        jti=jti,
        alg=str(ctx.header["alg"]),
        kid=kid if isinstance(kid, str) else None,
        expires_at=float(ctx.claims["exp"]) + context.policy.leeway,
        replay_key=replay_key(client_id, jti),
        checks=checks,
    )


@dataclass(frozen=True)
class _Use:
    assertion: VerifiedAssertion
    registry: JtiRegistry
    now: float


def _check_jti_unused(use: _Use) -> None:
    a = use.assertion
    if use.registry.seen_before(a.replay_key, a.expires_at, use.now):
        raise InvalidClient(
            "this client assertion was already used; make a new one, with a new jti, for "
            "every request",
            detail=f"jti {a.jti[:40]!r} of {a.client_id[:64]!r} replayed",
        )


UNUSED_RULE: Rule[_Use] = Rule(
    "check_assertion_jti_unused", "RFC 7523 §3 (7), OIDC Core §9 (jti)", _check_jti_unused
)


def check_assertion_unused(
    assertion: VerifiedAssertion, registry: JtiRegistry, now: float
) -> tuple[Check, ...]:
    """The assertion's checks plus this one; raises Rejected (invalid_client) for a replay.

    One jti is used once per client at every endpoint and every instance sharing ``registry``."""
    try:
        done = run_rules((UNUSED_RULE,), _Use(assertion, registry, now))
    except Rejected as exc:
        raise Rejected(exc.error, assertion.checks + exc.checks) from exc.error
    return assertion.checks + done
