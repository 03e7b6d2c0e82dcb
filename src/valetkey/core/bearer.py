"""Bearer and DPoP credentials (RFC 6750, RFC 9449 §7): finding the access token in a request, and
the answer when it is missing or malformed or bad.

The resource server's middleware and the authorization server's /userinfo both call these, so the
same request gets the same status, challenge and body from either. Decisions, RFC 6750 §3.1:
no credentials (or another scheme's) -> 401 with a bare challenge; malformed -> 400 invalid_request;
a token that does not validate -> 401 invalid_token; too few scopes -> 403 insufficient_scope.
Where DPoP is accepted, ``Authorization: DPoP <token>`` is read too and every challenge names both
schemes (RFC 9449 §7.1, §7.2): the error goes in the challenge of the scheme the request used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from valetkey.core.challenge import challenges
from valetkey.core.errors import InvalidRequest, OAuthError, UseDPoPNonce
from valetkey.core.records import fast_init
from valetkey.core.text import safe, shown
from valetkey.core.token_format import MAX_TOKEN_LENGTH

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# RFC 6750 §2.1, the method every resource server must support (and OIDC Core §5.3.1 recommends).
HOW_TO_SEND = "send it in the Authorization header (Authorization: Bearer <token>)"
TOKEN_REQUIRED = f"an access token is required: {HOW_TO_SEND}"
Scheme = Literal["bearer", "dpop"]
# RFC 9449 §7.1: a resource answers a refused proof with 401 and a DPoP challenge.
_UNAUTHORIZED = frozenset({"invalid_token", "invalid_dpop_proof", "use_dpop_nonce"})


@fast_init
@dataclass(frozen=True)
class Credentials:
    """The access token a request presented, and the scheme it used."""

    token: str
    scheme: Scheme = "bearer"


class NoCredentials(Exception):
    """No bearer token: RFC 6750 §3.1 answers 401 with a bare challenge and no error code."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def query_has_token(query_string: bytes) -> bool:
    """Whether the URL query has an ``access_token`` parameter (RFC 6750 §2.3)."""
    if b"access_token" not in query_string:
        return False
    return any(part.split(b"=", 1)[0] == b"access_token" for part in query_string.split(b"&"))


def find_token(
    authorization: Sequence[str],
    *,
    in_query: bool = False,
    in_body: Sequence[str] = (),
) -> str:
    """The Bearer access token (:func:`find_credentials` without DPoP)."""
    return find_credentials(authorization, in_query=in_query, in_body=in_body).token


def find_credentials(
    authorization: Sequence[str],
    *,
    in_query: bool = False,
    in_body: Sequence[str] = (),
    dpop: bool = False,
) -> Credentials:
    """The access token from the ``Authorization`` header values (RFC 6750 §2.1; with ``dpop``
    also RFC 9449 §7.1's ``DPoP`` scheme) or the form body's ``access_token`` values (§2.2; only
    an endpoint that reads form bodies passes them).

    Raises NoCredentials, or InvalidRequest for a request RFC 6750 §3.1 calls malformed.
    """
    if len(authorization) > 1:
        raise InvalidRequest(
            "the request has more than one Authorization header; send exactly one",
            rule="one_authorization_header",
            spec="RFC 6750 §3.1, RFC 9110 §5.3",
        )
    if in_query:
        # RFC 6750 §2.3 (URI query parameter) is optional; RFC 9700 §4.3.2 advises against it.
        both = " and in the Authorization header" if authorization else ""
        raise InvalidRequest(
            f"an access token was sent in the URL query{both}; it is not accepted there: "
            + HOW_TO_SEND,
            rule="no_token_in_query",
            spec="RFC 6750 §2.3, §3.1",
        )
    body = _one_body_token(in_body)
    if body is not None:
        if authorization:
            raise InvalidRequest(
                "send the access token in one place only: the Authorization header or the body",
                rule="one_method",
                spec="RFC 6750 §2",
            )
        return Credentials(_checked(body, "the access_token in the body"))
    if not authorization:
        raise NoCredentials(TOKEN_REQUIRED)
    scheme, _, token = authorization[0].strip().partition(" ")
    name = scheme.lower()  # RFC 9110 §11.1: the scheme is case-insensitive
    if name == "dpop" and dpop:
        return Credentials(_checked(token.strip(), "the DPoP token"), "dpop")
    if name != "bearer":
        accepted = "a Bearer (or DPoP) access token" if dpop else "a Bearer access token"
        raise NoCredentials(
            f"the Authorization header uses the {shown(scheme, 20)} scheme; "
            f"{accepted} is required: {HOW_TO_SEND}"
        )
    return Credentials(_checked(token.strip(), "the Bearer token"))


def _one_body_token(values: Sequence[str]) -> str | None:
    if len(values) > 1:
        raise InvalidRequest(
            "access_token is repeated in the body; send it once",
            rule="one_access_token",
            spec="RFC 6750 §2.2",
        )
    return values[0] if values else None


def _checked(token: str, what: str) -> str:
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidRequest(
            f"{what} is longer than the {MAX_TOKEN_LENGTH} characters accepted",
            rule="token_size",
            spec="RFC 6750 §3.1",
        )
    if not _B64TOKEN.fullmatch(token):
        raise InvalidRequest(
            f"{what} is empty or not in token68 syntax",
            rule="bearer_syntax",
            spec="RFC 6750 §2.1",
        )
    return token


@dataclass(frozen=True)
class BearerRefusal:
    """What to answer: status, headers (the challenge; Retry-After for 503) and JSON body."""

    status: int
    headers: dict[str, str]
    body: dict[str, str]


def refusal(
    refused: OAuthError | NoCredentials,
    *,
    realm: str | None = None,
    scope: Sequence[str] = (),
    resource_metadata: str | None = None,
    dpop_algs: Sequence[str] = (),
    scheme: Scheme = "bearer",
) -> BearerRefusal:
    """The answer for a request without credentials (NoCredentials) or with refused ones; with
    ``dpop_algs`` (DPoP accepted) the challenges name both schemes, the error in ``scheme``'s."""
    error = refused if isinstance(refused, OAuthError) else None
    status = 401 if error is None else error.status
    if error is not None and dpop_algs and error.error in _UNAUTHORIZED:
        status = 401
    headers: dict[str, str] = {}
    if status in (401, 403) or isinstance(error, InvalidRequest):  # RFC 6750 §3
        headers["WWW-Authenticate"] = challenges(
            error,
            scheme=scheme,
            realm=realm,
            scope=scope,
            resource_metadata=resource_metadata,
            dpop_algs=dpop_algs,
        )
    if isinstance(error, UseDPoPNonce):  # RFC 9449 §9
        headers["DPoP-Nonce"] = error.nonce
    if status == 503:  # RFC 9110 §10.2.3: when to ask again
        headers["Retry-After"] = str(getattr(error, "retry_after", 5))
    body = {"error": error.error} if error is not None else {}
    body["error_description"] = safe(refused.description)
    if error is not None and scope:
        body["scope"] = " ".join(scope)
    return BearerRefusal(status, headers, body)
