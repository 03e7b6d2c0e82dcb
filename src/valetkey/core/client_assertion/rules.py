"""Checking a client assertion (RFC 7523 §3, OIDC Core §9): one rule per check, in one table.

Every refusal is ``invalid_client`` (RFC 7523 §3.2, RFC 7521 §4.2.1) with a description naming
what failed; values the client chose go to ``detail`` (events), never back to it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from valetkey.core import jose
from valetkey.core.checks import Rule
from valetkey.core.client_assertion.keys import select_key
from valetkey.core.client_assertion.policy import (
    CLIENT_SECRET_JWT,
    PRIVATE_KEY_JWT,
    AssertionPolicy,
)
from valetkey.core.errors import InvalidClient

# RFC 8725 §3.11: a JWT typed for another use (a DPoP proof, an access token) is not an assertion.
TYPES = frozenset({"jwt", "client-authentication+jwt"})


@dataclass
class VerifyContext:
    assertion: str
    client_id: str
    method: str  # the registered method: private_key_jwt or client_secret_jwt
    issuer: str
    endpoint_url: str
    token_endpoint_url: str
    now: float
    jwks: Mapping[str, Any] | None
    client_secret: str | None
    policy: AssertionPolicy
    header: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)
    signed: bytes = b""
    signature: bytes = b""
    key: jose.PublicKey | bytes | None = None


def _bad(description: str, detail: str = "") -> InvalidClient:
    return InvalidClient(description, detail=detail)


def check_well_formed(ctx: VerifyContext) -> None:
    try:
        ctx.header, ctx.claims, ctx.signed, ctx.signature = jose.read_sent_jws(
            ctx.assertion, ctx.policy.max_length, "the client assertion"
        )
    except jose.Malformed as exc:
        raise _bad(exc.description, exc.detail) from exc


def check_typ(ctx: VerifyContext) -> None:
    typ = ctx.header.get("typ")
    if typ is None:
        return
    # RFC 7515 §4.1.9: a media type, case-insensitive, "application/" optional.
    if not isinstance(typ, str) or typ.lower().removeprefix("application/") not in TYPES:
        raise _bad(
            "the assertion's typ header marks another kind of JWT; use JWT or "
            "client-authentication+jwt, or leave it out",
            f"typ={str(typ)[:40]!r}",
        )


def check_alg(ctx: VerifyContext) -> None:
    alg, policy = ctx.header.get("alg"), ctx.policy
    allowed = policy.key_algs if ctx.method == PRIVATE_KEY_JWT else policy.secret_algs
    if alg in allowed:
        return
    listed = " ".join(allowed)
    if ctx.method == PRIVATE_KEY_JWT and isinstance(alg, str) and alg.upper().startswith("HS"):
        # OIDC Core §9: private_key_jwt is a signature; a MAC keyed with public bytes is forgery.
        raise _bad(
            f"this client is registered for private_key_jwt: sign the assertion with its private "
            f"key using one of {listed}, not a MAC"
        )
    if ctx.method == CLIENT_SECRET_JWT and alg in jose.PROOF_ALGS:
        raise _bad(
            f"this client is registered for client_secret_jwt: MAC the assertion with {listed}"
        )
    raise _bad(
        f"the assertion's alg must be one of {listed} for {ctx.method}", f"alg={str(alg)[:20]!r}"
    )


def check_key(ctx: VerifyContext) -> None:
    alg = str(ctx.header["alg"])
    if ctx.method == CLIENT_SECRET_JWT:
        if not ctx.client_secret:
            raise _bad(
                "this client has no secret the server can use for client_secret_jwt",
                "the server passed no client_secret (a digest cannot key a MAC)",
            )
        secret = ctx.client_secret.encode("utf-8")  # OIDC Core §16.19: the UTF-8 octets
        problem = jose.mac_key_problem(secret, alg)
        if problem:  # RFC 7518 §3.2
            raise _bad(f"the client secret is too short for {alg}: {problem}; use HS256")
        ctx.key = secret
        return
    ctx.key = select_key(ctx.jwks, alg, ctx.header.get("kid"))


def check_signature(ctx: VerifyContext) -> None:
    alg, key = str(ctx.header["alg"]), ctx.key
    if isinstance(key, bytes):
        valid = jose.verify_mac(key, alg, ctx.signed, ctx.signature)
        what = "the client secret"
    else:
        assert key is not None
        valid = jose.verify_signature(key, alg, ctx.signed, ctx.signature)
        what = "the client's registered key"
    if not valid:
        raise _bad(f"the client assertion's signature does not verify with {what}")


def _is_time(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_claims(ctx: VerifyContext) -> None:
    c = ctx.claims
    missing = [n for n in ("iss", "sub", "jti") if not isinstance(c.get(n), str) or not c[n]]
    missing += [] if isinstance(c.get("aud"), str | list) and c["aud"] else ["aud"]
    missing += [] if _is_time(c.get("exp")) else ["exp"]
    missing += [n for n in ("iat", "nbf") if n in c and not _is_time(c[n])]
    if missing:
        raise _bad(
            "the assertion lacks required claims (or they have the wrong type): "
            + ", ".join(missing)
        )
    if len(c["jti"]) > ctx.policy.max_jti_length:
        raise _bad(f"the assertion's jti is longer than {ctx.policy.max_jti_length} characters")


def check_issuer_subject(ctx: VerifyContext) -> None:
    if ctx.claims["iss"] != ctx.client_id or ctx.claims["sub"] != ctx.client_id:
        raise _bad("the assertion's iss and sub must both be the client_id")


def accepted_audiences(ctx: VerifyContext) -> frozenset[str]:
    if ctx.policy.issuer_only:
        return frozenset({ctx.issuer})
    return frozenset(v for v in (ctx.issuer, ctx.endpoint_url, ctx.token_endpoint_url) if v)


def check_audience(ctx: VerifyContext) -> None:
    aud = ctx.claims["aud"]
    values = [aud] if isinstance(aud, str) else aud
    accepted = accepted_audiences(ctx)
    # RFC 7523 §3 (3): simple string comparison (RFC 3986 §6.2.1). Every value must name this
    # server: an assertion also addressed to another party could be replayed between the two.
    ok = all(isinstance(v, str) and v in accepted for v in values)
    if ctx.policy.issuer_only and not isinstance(aud, str):
        ok = False  # draft-ietf-oauth-rfc7523bis: the issuer as the sole value, a string
    if not ok:
        names = " or ".join(sorted(accepted))
        raise _bad(f"the assertion's aud must be {names}", f"aud={str(aud)[:200]!r}")


def check_expiry(ctx: VerifyContext) -> None:
    late = ctx.now - ctx.claims["exp"]
    if late > ctx.policy.leeway:
        raise _bad(f"the client assertion expired {late:.0f}s ago; make a new one per request")


def check_not_before(ctx: VerifyContext) -> None:
    for name in ("nbf", "iat"):
        ahead = ctx.claims.get(name, ctx.now) - ctx.now
        if ahead > ctx.policy.leeway:
            raise _bad(f"the assertion's {name} is {ahead:.0f}s ahead of the server's clock")


def check_lifetime(ctx: VerifyContext) -> None:
    c, limit, leeway = ctx.claims, ctx.policy.max_lifetime, ctx.policy.leeway
    span = c["exp"] - c["iat"] if "iat" in c else 0.0
    if span > limit or c["exp"] - ctx.now > limit + leeway:
        raise _bad(
            f"the client assertion lives too long: exp may be at most {limit:.0f}s after iat "
            "and after now",
            f"exp={c['exp']!r} iat={c.get('iat')!r} now={ctx.now:.0f}",
        )


ASSERTION_RULES: tuple[Rule[VerifyContext], ...] = (
    Rule("check_assertion_well_formed", "RFC 7523 §3 (9), RFC 7515 §5.2", check_well_formed),
    Rule("check_assertion_typ", "RFC 8725 §3.11", check_typ),
    Rule("check_assertion_alg", "OIDC Core §9, RFC 8725 §3.1, RFC 7518 §3.1", check_alg),
    Rule("check_assertion_key", "OIDC Core §9, §10.1, RFC 7518 §3.2", check_key),
    Rule("check_assertion_signature", "RFC 7523 §3 (9), OIDC Core §9", check_signature),
    Rule("check_assertion_claims", "RFC 7523 §3, OIDC Core §9", check_claims),
    Rule("check_assertion_iss_sub", "RFC 7523 §3 (1), (2)", check_issuer_subject),
    Rule("check_assertion_aud", "RFC 7523 §3 (3), OIDC Core §9", check_audience),
    Rule("check_assertion_exp", "RFC 7523 §3 (4)", check_expiry),
    Rule("check_assertion_nbf_iat", "RFC 7523 §3 (5), (6)", check_not_before),
    Rule("check_assertion_lifetime", "RFC 7523 §3 (4), (6)", check_lifetime),
)


def replay_key(client_id: str, jti: str) -> str:
    """One jti per client (RFC 7523 §3 (7)); only its hash is stored. The first member keeps these
    keys apart from DPoP's (core.dpop.replay_key) in a registry both share."""
    canonical = json.dumps(["client_assertion", client_id, jti], separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
