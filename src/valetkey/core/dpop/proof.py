"""Checking a DPoP proof (RFC 9449 §4.3): one rule per check, in one table.

:func:`verify_proof` takes plain values (the ``DPoP`` header values, method, URL, time, what the
token or grant is bound to) and returns a :class:`VerifiedProof`, or raises
:class:`~valetkey.core.checks.Rejected` carrying the error and every check that ran. Single use of
the ``jti`` needs shared state and is the caller's (:mod:`valetkey.core.dpop.replay`).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _json_string
from typing import Any, Literal

from valetkey.core import jose
from valetkey.core.checks import Rule, run_rules
from valetkey.core.dpop import htu as htu_rules
from valetkey.core.dpop.nonces import MAX_NONCE_LENGTH, FixedNonce, NonceSource
from valetkey.core.errors import InvalidDPoPProof, InvalidGrant, InvalidToken, UseDPoPNonce
from valetkey.core.events import Check
from valetkey.core.records import fast_init
from valetkey.core.secrets import equal

Location = Literal["token_endpoint", "resource"]
# ES256 is what every DPoP client implements; PS256 is the RFC's other example (RSA-only hardware);
# Ed25519 (RFC 9864; "EdDSA" in RFC 8037) is fast and has no per-signature randomness to get wrong.
DEFAULT_ALGS = ("ES256", "PS256", "Ed25519", "EdDSA")
TYP = "dpop+jwt"


@dataclass(frozen=True)
class DPoPPolicy:
    """What the server accepts; the integration maps settings onto it."""

    algs: tuple[str, ...] = DEFAULT_ALGS
    max_age: float = 60.0  # seconds a proof is accepted after its iat (RFC 9449 §11.1)
    max_future: float = 10.0  # seconds iat may be ahead of the server's clock (§11.1 note)
    max_jti_length: int = 128  # §11.1: refuse unnecessarily large jti values
    max_proof_length: int = 8192

    def __post_init__(self) -> None:
        unknown = [a for a in self.algs if a not in jose.PROOF_ALGS]
        if not self.algs or unknown:
            raise ValueError(f"DPoP algs must be a non-empty subset of {jose.PROOF_ALGS}")
        if self.max_age <= 0 or self.max_future < 0 or self.max_jti_length < 1:
            raise ValueError("max_age must be positive, max_future and max_jti_length not negative")


@fast_init
@dataclass(frozen=True)
class ProofRequest:
    """One request's DPoP inputs, as plain values."""

    headers: Sequence[str]  # every DPoP header field value, in order (RFC 9449 §4.3 point 1)
    method: str
    url: str  # the target URI under the server's public origin (docs/dpop.md)
    now: float
    nonce: NonceSource | str | None = None  # the server requires its nonce in the proof
    access_token: str | None = None  # presented with the proof at a resource: ath is checked
    bound_jkt: str | None = None  # cnf.jkt of the token, or what a refresh token / code is bound to
    at: Location = "token_endpoint"

    def __post_init__(self) -> None:
        if isinstance(self.headers, str | bytes):
            raise TypeError("headers is the list of DPoP header values, not one value")


@fast_init
@dataclass(frozen=True)
class VerifiedProof:
    jkt: str  # RFC 7638 thumbprint of the proof's key: cnf.jkt for a token bound now (§6.1)
    jti: str
    iat: float
    htm: str
    htu: str  # normalized
    alg: str
    jwk: Mapping[str, Any]
    replay_key: str  # SHA-256 of (jkt, htu, jti): what a JtiRegistry records (§11.1)
    expires_at: float  # until when the proof would be accepted: remember replay_key that long
    next_nonce: str | None  # send in DPoP-Nonce with the answer (§8.2): the nonce moved on
    checks: tuple[Check, ...]


@dataclass
class _Ctx:
    request: ProofRequest
    policy: DPoPPolicy
    token: str = ""
    head: str = ""  # the header as sent (its base64url segment)
    header: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)
    signed: bytes = b""
    signature: bytes = b""
    verify: jose.Verifier | None = None  # the signature check with the jwk's key, for its alg
    jkt: str = ""
    htu: str = ""
    next_nonce: str | None = None


def _bad(description: str, detail: str = "") -> InvalidDPoPProof:
    return InvalidDPoPProof(description, detail=detail)  # OAuthError keeps it RFC 6749 §5.2-safe


def check_one_header(ctx: _Ctx) -> None:
    count = len(ctx.request.headers)
    if count == 0:
        raise _bad("this request needs a DPoP proof in the DPoP header")
    if count > 1:
        raise _bad(f"the request has {count} DPoP headers; send exactly one proof")
    ctx.token = ctx.request.headers[0].strip()


def check_well_formed(ctx: _Ctx) -> None:
    try:
        ctx.header, ctx.claims, ctx.signed, ctx.signature = jose.read_sent_jws(
            ctx.token, ctx.policy.max_proof_length, "the DPoP proof"
        )
    except jose.Malformed as exc:
        raise _bad(exc.description, exc.detail) from exc
    ctx.head = ctx.token.partition(".")[0]


def check_typ(ctx: _Ctx) -> None:
    typ = ctx.header.get("typ")
    # RFC 7515 §4.1.9: a media type, case-insensitive, "application/" optional.
    if not isinstance(typ, str) or typ.lower().removeprefix("application/") != TYP:
        raise _bad(f"the proof's typ header must be {TYP}", f"typ={str(typ)[:40]!r}")


def check_alg(ctx: _Ctx) -> None:
    alg, allowed = ctx.header.get("alg"), ctx.policy.algs
    if alg in allowed:
        return
    if not isinstance(alg, str):
        raise _bad(f"the proof's header lacks an alg; use one of {' '.join(allowed)}")
    if alg == "none" or alg.upper().startswith("HS"):
        # RFC 9449 §4.2, §11.6: never none, never a MAC.
        raise _bad(f"a DPoP proof needs an asymmetric signature; use one of {' '.join(allowed)}")
    raise _bad(f"the proof's alg is not accepted here; use one of {' '.join(allowed)}")


# The key (as its signature check) and thumbprint of proof headers seen lately, by the header's
# segment: the exact characters the client sent, alg and jwk included, so the same segment always
# decodes to the same key, and another key (even with the same kid) is another segment. A client
# sending many proofs with one key has it checked, imported and hashed once; the signature is
# verified on every proof.
_known_keys: dict[str, tuple[jose.Verifier, str]] = {}
_known_keys_lock = threading.Lock()
MAX_KNOWN_KEYS = 1024
MAX_KNOWN_HEADER = 4096  # characters: an RSA 8192-bit jwk fits; at most 4 MiB kept in all


def check_jwk(ctx: _Ctx) -> None:
    known = _known_keys.get(ctx.head)
    if known is None:
        known = _proof_key(ctx.header)
        if len(ctx.head) <= MAX_KNOWN_HEADER:
            _remember(ctx.head, known)
    ctx.verify, ctx.jkt = known


def _remember(head: str, known: tuple[jose.Verifier, str]) -> None:
    with _known_keys_lock:
        while len(_known_keys) >= MAX_KNOWN_KEYS:
            del _known_keys[next(iter(_known_keys))]  # the oldest (insertion order)
        _known_keys[head] = known


def _proof_key(header: Mapping[str, Any]) -> tuple[jose.Verifier, str]:
    jwk, alg = header.get("jwk"), str(header["alg"])
    try:
        key = jose.proof_public_key(jwk, alg)
    except jose.TokenInvalid as exc:
        raise _bad(f"the proof's jwk header is unusable: {exc}") from exc
    assert isinstance(jwk, Mapping)
    return jose.signature_verifier(key, alg), jose.jwk_thumbprint(jwk)


def check_signature(ctx: _Ctx) -> None:
    assert ctx.verify is not None
    if not ctx.verify(ctx.signed, ctx.signature):
        raise _bad("the proof's signature does not verify with the key in its jwk header")


def _is_time(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_claims(ctx: _Ctx) -> None:
    c = ctx.claims
    missing = [n for n in ("jti", "htm", "htu") if not isinstance(c.get(n), str) or not c[n]]
    missing += [] if _is_time(c.get("iat")) else ["iat"]
    if missing:
        raise _bad(
            f"the proof lacks required claims (or they have the wrong type): {', '.join(missing)}"
        )
    if len(c["jti"]) > ctx.policy.max_jti_length:  # RFC 9449 §11.1
        raise _bad(f"the proof's jti is longer than {ctx.policy.max_jti_length} characters")


def check_htm(ctx: _Ctx) -> None:
    if ctx.claims["htm"] != ctx.request.method:  # RFC 9110 §9.1: methods are case-sensitive
        raise _bad(f"the proof's htm does not match this request's method {ctx.request.method}")


def check_htu(ctx: _Ctx) -> None:
    expected = htu_rules.normalize(ctx.request.url)
    if expected is None:
        raise ValueError(
            f"the server passed a request URL that is not absolute http(s): {ctx.request.url!r}"
        )
    ctx.htu = htu_rules.normalize(ctx.claims["htu"]) or ""
    if not ctx.htu:
        raise _bad("the proof's htu is not an absolute http or https URI")
    if ctx.htu != expected:
        raise _bad(f"the proof's htu does not match the URI of this request, {expected[:200]}")


def check_iat(ctx: _Ctx) -> None:
    age, policy = ctx.request.now - ctx.claims["iat"], ctx.policy
    if age > policy.max_age:
        raise _bad(
            f"the proof was made {age:.0f}s ago and is accepted for {policy.max_age:.0f}s; "
            "make a new proof for every request"
        )
    if -age > policy.max_future:
        raise _bad(f"the proof's iat is {-age:.0f}s ahead of the server's clock; check the clock")


def check_nonce(ctx: _Ctx) -> None:
    source = ctx.request.nonce
    if source is None:
        return
    source = FixedNonce(source) if isinstance(source, str) else source
    now, given = ctx.request.now, ctx.claims.get("nonce")
    fresh = source.current(now)
    if given is None:
        raise UseDPoPNonce(
            "this server requires a nonce in the DPoP proof: retry with the DPoP-Nonce value",
            nonce=fresh,
        )
    if (
        not isinstance(given, str)
        or len(given) > MAX_NONCE_LENGTH
        or not source.accepts(given, now)
    ):
        raise UseDPoPNonce(
            "the proof's nonce is stale or unknown: retry with the DPoP-Nonce value", nonce=fresh
        )
    ctx.next_nonce = None if given == fresh else fresh


def check_ath(ctx: _Ctx) -> None:
    token = ctx.request.access_token
    if token is None:
        return
    ath = ctx.claims.get("ath")
    if not isinstance(ath, str):
        raise _bad("the proof lacks ath, the hash of the access token sent with it")
    if not equal(ath, jose.access_token_hash(token)):
        raise _bad("the proof's ath is not the hash of the access token sent with it")


def check_binding(ctx: _Ctx) -> None:
    bound = ctx.request.bound_jkt
    if bound is None or equal(bound, ctx.jkt):
        return
    if ctx.request.at == "resource":  # RFC 9449 §7.1 Figure 16
        raise InvalidToken("the access token is bound to another DPoP key than this proof's")
    raise InvalidGrant("the grant is bound to another DPoP key than the one that signed this proof")


PROOF_RULES: tuple[Rule[_Ctx], ...] = (
    Rule("check_one_dpop_header", "RFC 9449 §4.3 (1)", check_one_header),
    Rule("check_proof_well_formed", "RFC 9449 §4.3 (2), RFC 7515 §5.2", check_well_formed),
    Rule("check_proof_typ", "RFC 9449 §4.3 (4), §11.5", check_typ),
    Rule("check_proof_alg", "RFC 9449 §4.3 (5), §11.6", check_alg),
    Rule("check_proof_jwk", "RFC 9449 §4.3 (7), §4.2", check_jwk),
    Rule("check_proof_signature", "RFC 9449 §4.3 (6)", check_signature),
    Rule("check_proof_claims", "RFC 9449 §4.3 (3), §4.2, §11.1", check_claims),
    Rule("check_proof_htm", "RFC 9449 §4.3 (8)", check_htm),
    Rule("check_proof_htu", "RFC 9449 §4.3 (9), RFC 3986 §6.2", check_htu),
    Rule("check_proof_iat", "RFC 9449 §4.3 (11), §11.1", check_iat),
    Rule("check_proof_nonce", "RFC 9449 §4.3 (10), §8, §9, §11.3", check_nonce),
    Rule("check_proof_ath", "RFC 9449 §4.3 (12), §7", check_ath),
    Rule("check_proof_key_binding", "RFC 9449 §4.3 (12), §6, §10", check_binding),
)


def verify_proof(request: ProofRequest, policy: DPoPPolicy = DPoPPolicy()) -> VerifiedProof:
    """Run every rule; raises Rejected (InvalidDPoPProof, UseDPoPNonce, InvalidToken at a
    resource or InvalidGrant at the token endpoint for a key that is not the bound one)."""
    ctx = _Ctx(request, policy)
    checks = run_rules(PROOF_RULES, ctx)
    jti, iat = str(ctx.claims["jti"]), float(ctx.claims["iat"])
    return VerifiedProof(
        jkt=ctx.jkt,
        jti=jti,
        iat=iat,
        htm=str(ctx.claims["htm"]),
        htu=ctx.htu,
        alg=str(ctx.header["alg"]),
        jwk=dict(ctx.header["jwk"]),
        replay_key=replay_key(ctx.jkt, ctx.htu, jti),
        expires_at=iat + policy.max_age,
        next_nonce=ctx.next_nonce,
        checks=checks,
    )


def header_values(raw: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """Every ``DPoP`` header value of a request's raw (ASGI, lower-case) headers, in order."""
    return [value.decode("latin-1") for name, value in raw if name.lower() == b"dpop"]


def replay_key(jkt: str, htu: str, jti: str) -> str:
    """RFC 9449 §11.1: a jti is unique per key and target URI; only its hash is stored. The hash of
    the JSON array [jkt, htu, jti], compact and ASCII-only (as ``json.dumps`` writes it with
    ``separators=(",", ":")``): what every instance sharing a registry must agree on."""
    canonical = f"[{_json_string(jkt)},{_json_string(htu)},{_json_string(jti)}]"
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
