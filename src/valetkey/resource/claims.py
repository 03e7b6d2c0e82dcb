"""The rule tables for a JWT access token's header and claims (RFC 9068 §4, RFC 7519 §4.1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from valetkey.core import scopes
from valetkey.core.checks import Rule
from valetkey.core.errors import InvalidToken
from valetkey.core.records import fast_init
from valetkey.core.text import shown
from valetkey.core.token_format import AT_JWT_TYP, is_access_token_typ
from valetkey.resource.token import audience_of

REQUIRED = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")


class Expected(Protocol):
    """What the rules check a token against (a JWTValidator's settings)."""

    @property
    def issuer(self) -> str: ...
    @property
    def audience(self) -> str: ...
    @property
    def algorithms(self) -> Sequence[str]: ...
    @property
    def leeway(self) -> float: ...


@fast_init
@dataclass(frozen=True)
class JwtContext:
    validator: Expected
    header: dict[str, Any]
    claims: dict[str, Any]
    now: float


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_alg(c: JwtContext) -> None:
    alg = c.header.get("alg")
    if alg not in c.validator.algorithms:
        raise InvalidToken(
            f"the access token is signed with {shown(alg, 20)}; this API accepts "
            + ", ".join(c.validator.algorithms),
            detail=f"alg={alg!r}",
        )


def check_typ(c: JwtContext) -> None:
    typ = c.header.get("typ")
    if not is_access_token_typ(typ):
        raise InvalidToken(
            f"the token is not a JWT access token: its header typ must be {AT_JWT_TYP}",
            detail=f"typ={typ!r}",
        )


def check_required(c: JwtContext) -> None:
    missing = [name for name in REQUIRED if c.claims.get(name) is None]
    if missing:
        raise InvalidToken(f"the access token lacks required claims: {', '.join(missing)}")
    if not (_number(c.claims["exp"]) and _number(c.claims["iat"])):
        raise InvalidToken("the access token's exp and iat must be numbers")
    odd = [
        n
        for n in ("sub", "client_id", "jti")
        if not isinstance(c.claims[n], str) or not c.claims[n]
    ]
    if odd:
        raise InvalidToken(f"the access token's {', '.join(odd)} must be non-empty strings")


def check_issuer(c: JwtContext) -> None:
    if c.claims["iss"] != c.validator.issuer:
        raise InvalidToken(
            "the access token was issued by another authorization server",
            detail=f"iss={str(c.claims['iss'])[:100]!r} expected={c.validator.issuer!r}",
        )


def check_audience(c: JwtContext) -> None:
    if c.validator.audience not in audience_of(c.claims["aud"]):
        raise InvalidToken(
            "the access token is meant for another resource (its aud does not name this API)",
            detail=f"aud={c.claims['aud']!r} expected={c.validator.audience!r}",
        )


def check_expiry(c: JwtContext) -> None:
    if c.now >= float(c.claims["exp"]) + c.validator.leeway:
        raise InvalidToken(
            "the access token has expired", detail=f"exp={c.claims['exp']} now={int(c.now)}"
        )


def check_not_before(c: JwtContext) -> None:
    nbf = c.claims.get("nbf")
    if nbf is None:
        return
    if not _number(nbf) or c.now + c.validator.leeway < float(nbf):
        raise InvalidToken("the access token is not valid yet", detail=f"nbf={nbf!r}")


def check_issued_at(c: JwtContext) -> None:
    if float(c.claims["iat"]) > c.now + c.validator.leeway:
        raise InvalidToken(
            "the access token was issued in the future", detail=f"iat={c.claims['iat']}"
        )


def check_scope(c: JwtContext) -> None:
    value = c.claims.get("scope")
    try:
        if value is not None and not isinstance(value, str):
            raise ValueError("not a string")
        scopes.parse(value)
    except ValueError as exc:
        raise InvalidToken("the access token's scope claim is malformed", detail=str(exc)) from None


HEADER_RULES: tuple[Rule[JwtContext], ...] = (
    Rule("alg_allowed", "RFC 8725 §3.1", check_alg),
    Rule("typ_at_jwt", "RFC 9068 §4", check_typ),
)

CLAIM_RULES: tuple[Rule[JwtContext], ...] = (
    Rule("required_claims", "RFC 9068 §2.2", check_required),
    Rule("issuer", "RFC 9068 §4", check_issuer),
    Rule("audience", "RFC 9068 §4", check_audience),
    Rule("not_expired", "RFC 7519 §4.1.4", check_expiry),
    Rule("not_before", "RFC 7519 §4.1.5", check_not_before),
    Rule("issued_in_past", "RFC 7519 §4.1.6", check_issued_at),
    Rule("scope_syntax", "RFC 9068 §2.2.3", check_scope),
)
