"""PKCE (RFC 7636) as RFC 9700 section 2.1.1 and OAuth 2.1 section 4.1.1 want it enforced."""

from __future__ import annotations

from valetkey.audit.experiments import Attempt, attempt
from valetkey.audit.model import Result, failed, passed, skipped
from valetkey.audit.target import Target, summary
from valetkey.core import pkce


def _refused(a: Attempt, what: str) -> Result | None:
    """pass when the server refused ``what`` at either endpoint; None when it accepted it; skip
    when it failed instead (a 5xx is no refusal a client can rely on)."""
    if a.landing.crashed or (a.redeemed is not None and a.redeemed.status_code >= 500):
        shown = a.landing.describe() if a.redeemed is None else summary(a.redeemed)
        return skipped(f"{what}: the server failed rather than refused: {shown}")
    if a.redeemed is None:
        return passed(f"{what}: no code issued ({a.landing.describe()})")
    if a.redeemed.status_code != 200:
        return passed(f"{what}: a code was issued, its exchange refused: {summary(a.redeemed)}")
    return None


def _without_challenge(t: Target) -> Result:
    a = attempt(t, None, send_verifier=False)
    return _refused(a, "authorization request without code_challenge") or failed(
        "a code issued without code_challenge was redeemed without code_verifier: "
        f"{summary(a.redeemed) if a.redeemed else ''}; an intercepted code is usable as is"
    )


def required(t: Target) -> Result:
    if not t.config.public:
        return skipped("the client is confidential: see pkce.required_confidential")
    return _without_challenge(t)


def required_confidential(t: Target) -> Result:
    """OAuth 2.1 requires PKCE of confidential clients too; RFC 9700 section 2.1.1 lets them use
    the OpenID Connect nonce instead, hence a check of its own, of lower severity."""
    if t.config.public:
        return skipped("the client is public: see pkce.required")
    return _without_challenge(t)


def plain_refused(t: Target) -> Result:
    a = attempt(t, "plain")
    return _refused(a, "code_challenge_method=plain") or failed(
        "code_challenge_method=plain was accepted and its code redeemed: the challenge is the "
        "verifier itself, so anyone who sees the request can redeem the code"
    )


def verifier_without_challenge(t: Target) -> Result:
    a = attempt(t, None, send_verifier=True)
    return _refused(a, "code asked without a challenge, redeemed with a code_verifier") or failed(
        "a code asked for without code_challenge was redeemed with an invented code_verifier: "
        "the PKCE downgrade attack of RFC 9700 section 4.8.2 works"
    )


def wrong_verifier(t: Target) -> Result:
    seen = []
    tries = (("a wrong code_verifier", pkce.new_verifier()), ("no code_verifier", None))
    for label, verifier in tries:
        grant = t.code()
        response = t.exchange(grant, verifier=verifier)
        if response.status_code == 200:
            return failed(f"an S256 code redeemed with {label} was accepted: {summary(response)}")
        seen.append(f"{label}: {summary(response)}")
    return passed("; ".join(seen))
