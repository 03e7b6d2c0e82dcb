"""Client authentication at the token endpoint and its neighbours (RFC 6749 §2.3.1, §3.2.1;
RFC 9700 §2.5): client_secret_basic, client_secret_post, none, and the JWT methods private_key_jwt
and client_secret_jwt (RFC 7523 §2.2, OIDC Core §9), whose rules live in core.client_assertion.

The server calls :func:`presented_credentials`, loads the named client (and, for a JWT method,
its keys or secret), then :func:`authenticate` (or :func:`authenticated` for the checks too).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote_plus, unquote_plus

from valetkey.core.checks import Rejected
from valetkey.core.client_assertion import JWT_METHODS, presented_assertion
from valetkey.core.errors import InvalidClient, InvalidRequest
from valetkey.core.events import Check
from valetkey.core.models import CLIENT_SECRET_BASIC, CLIENT_SECRET_POST, Client
from valetkey.core.records import fast_init

if TYPE_CHECKING:
    from valetkey.core.client_assertion import AssertionContext, VerifiedAssertion
    from valetkey.core.dpop.replay import JtiRegistry


@fast_init
@dataclass(frozen=True)
class PresentedCredentials:
    client_id: str
    secret: str | None
    # client_secret_basic | client_secret_post | none | private_key_jwt | client_secret_jwt (for
    # an assertion: a guess from its alg; the registered method decides which rules apply)
    method: str
    assertion: str | None = None  # the client_assertion, not yet verified


class BasicAuthFailed(InvalidClient):
    """A failed HTTP Basic authentication: answered with 401 and WWW-Authenticate (RFC 6749 §5.2)."""


def basic_credentials(client_id: str, secret: str) -> str:
    """The ``Authorization`` value for client_secret_basic: RFC 6749 §2.3.1 form-urlencodes the id
    and the secret, then joins them with ":" for HTTP Basic (RFC 7617)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


def parse_basic(header: str) -> tuple[str, str]:
    """(client_id, secret) from an ``Authorization: Basic`` value; BasicAuthFailed for anything
    else, whatever bytes were sent (a header value is read as Latin-1, RFC 9110 §5.5)."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise BasicAuthFailed(
            "the Authorization header must use the Basic scheme for client authentication"
        )
    try:
        raw = base64.b64decode(value.strip().encode("ascii"), validate=True)
        decoded = raw.decode("utf-8")
    except ValueError as exc:  # not ASCII, not base64 (binascii.Error), or not UTF-8 inside
        raise BasicAuthFailed("the Basic credentials are not valid base64 of UTF-8 text") from exc
    user, sep, password = decoded.partition(":")
    if not sep:
        raise BasicAuthFailed("the Basic credentials must be client_id:client_secret")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before being joined.
    return _form_decoded(user), _form_decoded(password)


def _form_decoded(part: str) -> str:
    """``unquote_plus``, skipped when there is nothing to decode (the usual generated secret)."""
    return unquote_plus(part) if "%" in part or "+" in part else part


def presented_credentials(
    authorization: str | None, form: Mapping[str, Sequence[str]]
) -> PresentedCredentials:
    ids, secrets_ = form.get("client_id") or (), form.get("client_secret") or ()
    body_id = ids[0] if ids else None
    body_secret = secrets_[0] if secrets_ else None
    if len(ids) > 1 or len(secrets_) > 1:
        raise InvalidRequest("client_id or client_secret is repeated")
    assertion = presented_assertion(form)
    if assertion is not None:
        if authorization or body_secret is not None:
            # RFC 6749 §2.3: a client MUST NOT use more than one authentication method per request.
            raise InvalidRequest(
                "send a client assertion alone, without HTTP Basic credentials or client_secret"
            )
        return PresentedCredentials(
            assertion.client_id, None, assertion.method, assertion.assertion
        )
    if authorization:
        if body_secret is not None:
            # RFC 6749 §2.3: a client MUST NOT use more than one authentication method per request.
            raise InvalidRequest(
                "send client credentials either in the Authorization header or in the body, not both"
            )
        client_id, secret = parse_basic(authorization)
        if body_id is not None and body_id != client_id:
            raise InvalidRequest(
                "client_id in the body differs from the one in the Authorization header"
            )
        return PresentedCredentials(client_id, secret, CLIENT_SECRET_BASIC)
    if not body_id:
        raise InvalidClient(
            "client authentication is required: send HTTP Basic credentials, or client_id "
            "(and client_secret for a confidential client) in the body"
        )
    if body_secret is not None:
        return PresentedCredentials(body_id, body_secret, CLIENT_SECRET_POST)
    return PresentedCredentials(body_id, None, "none")


@fast_init
@dataclass(frozen=True)
class Authentication:
    client: Client
    method: str  # the registered method the client just used
    assertion: VerifiedAssertion | None = None  # for private_key_jwt and client_secret_jwt
    checks: tuple[Check, ...] = ()  # the assertion's checks, each naming its rule and section


def authenticate(
    presented: PresentedCredentials,
    client: Client | None,
    verify_secret: Callable[[str, str], bool],
    *,
    assertion: AssertionContext | None = None,
    replay: JtiRegistry | None = None,
) -> Client:
    """Check the presented credentials against the registered client; the same error for every failure
    that could tell an attacker which part was wrong. For private_key_jwt and client_secret_jwt the
    server passes ``assertion`` (its issuer, the endpoint's URL, the time, the client's keys or
    secret) and ``replay`` (where used ``jti`` values are kept)."""
    return authenticated(
        presented, client, verify_secret, assertion=assertion, replay=replay
    ).client


def authenticated(
    presented: PresentedCredentials,
    client: Client | None,
    verify_secret: Callable[[str, str], bool],
    *,
    assertion: AssertionContext | None = None,
    replay: JtiRegistry | None = None,
) -> Authentication:
    """:func:`authenticate`, returning the verified assertion and its checks too. A refused
    assertion raises InvalidClient naming its rule; its ``__cause__`` is the Rejected carrying
    every check that ran."""
    failure = BasicAuthFailed if presented.method == CLIENT_SECRET_BASIC else InvalidClient
    if client is None:
        raise failure(
            "client authentication failed", detail=f"unknown client_id {presented.client_id[:64]!r}"
        )
    registered = client.token_endpoint_auth_method
    if presented.assertion is not None and registered in JWT_METHODS:
        return _by_assertion(presented.assertion, client, assertion, replay)
    if presented.method != registered:
        raise failure(
            f"this client must authenticate with {registered}, not {presented.method}",
            detail=f"registered={registered} presented={presented.method}",
        )
    if registered == "none":
        return Authentication(client, registered)
    if presented.secret is None or client.secret_digest is None:
        raise failure("client authentication failed")
    if not verify_secret(presented.secret, client.secret_digest):
        raise failure("client authentication failed", detail="client secret mismatch")
    return Authentication(client, registered)


def _by_assertion(
    token: str, client: Client, context: AssertionContext | None, replay: JtiRegistry | None
) -> Authentication:
    if context is None or replay is None:
        raise ValueError(
            f"client {client.client_id!r} uses {client.token_endpoint_auth_method}: pass an "
            "AssertionContext and a JtiRegistry to authenticate it"
        )
    # Lazy: the assertion's checks load with the first JWT client that authenticates.
    from valetkey.core.client_assertion import check_assertion_unused, verify_assertion

    method = client.token_endpoint_auth_method
    try:
        verified = verify_assertion(token, client.client_id, method, context)
        checks = check_assertion_unused(verified, replay, context.now)
    except Rejected as rejected:
        raise rejected.error from rejected
    return Authentication(client, method, verified, checks)
