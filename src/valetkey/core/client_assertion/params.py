"""The client assertion parameters of a request body (RFC 7521 §4.2, RFC 7523 §2.2), unverified.

Read before the client is known: the ``sub`` says whose keys to load. Nothing here is trusted
until :func:`~valetkey.core.client_assertion.verify_assertion` has checked the signature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from valetkey.core import jose
from valetkey.core.client_assertion.policy import (
    CLIENT_SECRET_JWT,
    PRIVATE_KEY_JWT,
    AssertionPolicy,
)
from valetkey.core.errors import InvalidClient, InvalidRequest

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PARAMS_SPEC = "RFC 7521 §4.2, RFC 7523 §2.2"


@dataclass(frozen=True)
class PresentedAssertion:
    """What a request's body says before anything is verified: the JWT and the client it names."""

    assertion: str
    client_id: str  # the unverified ``sub``: which client's keys to load (RFC 7523 §3 point 2)
    method: str  # private_key_jwt, or client_secret_jwt for a MAC alg: only a guess until checked


def _param_error(kind: type[InvalidClient | InvalidRequest], description: str) -> Exception:
    return kind(description, rule="check_client_assertion_params", spec=PARAMS_SPEC)


def presented_assertion(
    form: Mapping[str, Sequence[str]], policy: AssertionPolicy | None = None
) -> PresentedAssertion | None:
    """The client assertion in a token-endpoint body, or None when the body has none; raises
    invalid_request for missing or repeated parameters, invalid_client for anything else."""
    types, values = form.get("client_assertion_type") or (), form.get("client_assertion") or ()
    if not types and not values:
        return None
    if len(types) > 1 or len(values) > 1:  # RFC 6749 §3.2: parameters are sent once
        raise _param_error(InvalidRequest, "client_assertion_type or client_assertion is repeated")
    if not types or not values or not values[0]:
        raise _param_error(
            InvalidRequest, "client_assertion and client_assertion_type go together; send both"
        )
    if types[0] != ASSERTION_TYPE:  # RFC 6749 §5.2: an unsupported authentication method
        raise _param_error(InvalidClient, f"client_assertion_type must be {ASSERTION_TYPE}")
    token, limit = values[0], (policy or AssertionPolicy()).max_length
    if len(token) > limit:
        raise _param_error(InvalidClient, f"the client assertion is longer than {limit} characters")
    try:
        header, claims, _signed, _signature = jose.decode_compact(token)
    except jose.TokenInvalid as exc:
        raise InvalidClient(
            "client_assertion is not a well-formed signed JWT",
            rule="check_client_assertion_params",
            spec="RFC 7523 §3 (9), RFC 7515 §5.2",
            detail=str(exc),
        ) from exc
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise _param_error(InvalidClient, "the client assertion needs a sub claim: the client_id")
    ids = form.get("client_id") or ()
    if ids and (len(ids) > 1 or ids[0] != sub):  # RFC 7521 §4.2: client_id, if sent, is the sub
        raise _param_error(InvalidClient, "client_id in the body differs from the assertion's sub")
    alg = header.get("alg")
    mac = isinstance(alg, str) and alg.upper().startswith("HS")
    return PresentedAssertion(token, sub, CLIENT_SECRET_JWT if mac else PRIVATE_KEY_JWT)
