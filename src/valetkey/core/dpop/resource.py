"""A token presented at a resource (RFC 9449 §7): the scheme must match the token's binding, and a
DPoP token comes with a proof for this request, signed by the key the token is bound to.

Called by the resource server's middleware and by /userinfo alike, after the token itself was
validated (its claims are passed in: ``cnf.jkt`` from the JWT or the introspection answer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from valetkey.core.bearer import Credentials
from valetkey.core.checks import Rejected
from valetkey.core.dpop.nonces import NonceSource
from valetkey.core.dpop.proof import DPoPPolicy, ProofRequest, verify_proof
from valetkey.core.dpop.replay import JtiRegistry, check_not_replayed
from valetkey.core.errors import InvalidToken
from valetkey.core.events import Check
from valetkey.core.records import fast_init

SCHEME_RULE, SCHEME_SPEC = "check_token_scheme_binding", "RFC 9449 §7.1, §7.2"


@fast_init
@dataclass(frozen=True)
class Presentation:
    """One request to a resource, as plain values."""

    credentials: Credentials
    proofs: Sequence[str]  # every DPoP header value
    method: str
    url: str  # the resource's public origin + the request path (docs/dpop.md, "Which URL")
    now: float


def bound_jkt(claims: Mapping[str, Any]) -> str | None:
    """The token's ``cnf.jkt`` (RFC 9449 §6), or None for a token bound to no key."""
    cnf = claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, Mapping) else None
    return jkt if isinstance(jkt, str) and jkt else None


def _refuse(description: str, detail: str) -> Rejected:
    error = InvalidToken(description, rule=SCHEME_RULE, spec=SCHEME_SPEC, detail=detail)
    return Rejected(error, (Check(SCHEME_RULE, "fail", SCHEME_SPEC, detail),))


def check_presentation(
    presented: Presentation,
    claims: Mapping[str, Any],
    policy: DPoPPolicy,
    registry: JtiRegistry,
    nonce: NonceSource | None = None,
) -> tuple[Check, ...]:
    """The checks that ran; raises Rejected (invalid_token, invalid_dpop_proof, use_dpop_nonce)."""
    jkt, scheme = bound_jkt(claims), presented.credentials.scheme
    if scheme == "bearer":
        if jkt is not None:  # §7.2: else a stolen bound token would work without its key
            raise _refuse(
                "this access token is bound to a DPoP key: send it as Authorization: DPoP with "
                "a DPoP proof",
                "DPoP-bound token sent as Bearer",
            )
        return (Check(SCHEME_RULE, "pass", SCHEME_SPEC, "Bearer token, not bound"),)
    if jkt is None:
        raise _refuse(
            "this access token is not bound to a DPoP key: send it as Authorization: Bearer",
            "unbound token sent as DPoP",
        )
    passed = Check(SCHEME_RULE, "pass", SCHEME_SPEC, "DPoP token")
    request = ProofRequest(
        headers=presented.proofs,
        method=presented.method,
        url=presented.url,
        now=presented.now,
        nonce=nonce,
        access_token=presented.credentials.token,
        bound_jkt=jkt,
        at="resource",
    )
    try:
        proof = verify_proof(request, policy)
        return (passed, *check_not_replayed(proof, registry, presented.now))
    except Rejected as rejected:
        raise Rejected(rejected.error, (passed, *rejected.checks)) from rejected.error
