"""Pushed Authorization Requests (RFC 9126): the ``request_uri`` a push returns and the rules that
tie a later authorization request to it. Pure; the server stores and loads.

The authorization request is judged once, by ``core.authorize``'s rules, when it is pushed (the
client is authenticated there, as at the token endpoint). The front channel then carries only
``client_id`` and ``request_uri``; every other parameter comes from the push (section 4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from valetkey.core import secrets as vsecrets
from valetkey.core.errors import InvalidRequest, OAuthError

PREFIX = "urn:ietf:params:oauth:request_uri:"
SPEC = "RFC 9126 section 4"
REQUIRED_SPEC = "RFC 9126 section 5"


def endpoint_url(issuer: str) -> str:
    """The push endpoint as the metadata publishes it (section 5): also the ``htu`` its DPoP
    proofs must name, never built from a request's Host."""
    return f"{issuer}/par"


def metadata(issuer: str, required: bool) -> dict[str, object]:
    """The server metadata's PAR fields (section 5)."""
    return {
        "pushed_authorization_request_endpoint": endpoint_url(issuer),
        "require_pushed_authorization_requests": required,
    }


class InvalidRequestUri(OAuthError):
    """RFC 9101 section 7: the request_uri is unknown, expired, used or not this client's."""

    error = "invalid_request_uri"
    allow_redirect = False


def new_request_uri() -> str:
    return PREFIX + vsecrets.new_token(32)


def digest_of(request_uri: str) -> str | None:
    """The stored key of a request_uri this server could have issued, else None."""
    if not request_uri.startswith(PREFIX) or len(request_uri) > len(PREFIX) + 64:
        return None
    return vsecrets.digest(request_uri[len(PREFIX) :])


def check_pushed_params(params: Mapping[str, Sequence[str]], client_id: str) -> None:
    """What a push may carry (section 2.1): no request_uri of its own, and the client_id of the
    client that authenticated (when it names one)."""
    if "request_uri" in params:
        raise InvalidRequest(
            "a pushed authorization request cannot itself carry request_uri (RFC 9126 section 2.1)"
        )
    named = params.get("client_id") or []
    if any(value != client_id for value in named):
        raise InvalidRequest(
            "client_id in the pushed request differs from the client that authenticated "
            "(RFC 9126 section 2.1)"
        )


def check_front_channel(
    params: Mapping[str, Sequence[str]], pushed_client: str | None
) -> tuple[str, str]:
    """The (request_uri digest, client_id) of an authorization request that refers to a push;
    raises InvalidRequestUri with what to do."""
    uris = params.get("request_uri") or []
    if len(uris) != 1:
        raise InvalidRequestUri("request_uri must be sent exactly once")
    digest = digest_of(uris[0])
    if digest is None:
        raise InvalidRequestUri(
            "this request_uri was not issued by this server's pushed authorization endpoint"
        )
    client_ids = params.get("client_id") or []
    if len(client_ids) != 1:
        raise InvalidRequestUri("client_id must be sent once with request_uri (RFC 9126 section 4)")
    if pushed_client is None:
        raise InvalidRequestUri(
            "the request_uri is unknown, expired or already used: push the authorization "
            "request again (RFC 9126 section 4)"
        )
    if client_ids[0] != pushed_client:
        raise InvalidRequestUri("the request_uri was pushed by another client")
    return digest, pushed_client


DPOP_SPEC = "RFC 9449 section 10.1"


def bind_dpop_key(params: Mapping[str, Sequence[str]], jkt: str | None) -> dict[str, list[str]]:
    """The pushed parameters with the key of the push's DPoP proof as ``dpop_jkt`` (RFC 9449
    section 10.1: the proof stands for dpop_jkt; both sent, they must name the same key)."""
    pushed = {name: list(values) for name, values in params.items()}
    if jkt is None:
        return pushed
    named = pushed.setdefault("dpop_jkt", [jkt])
    if any(value != jkt for value in named):
        raise InvalidRequest(
            "dpop_jkt names another key than the one that signed the DPoP proof sent with the "
            "pushed request: send one of them, or both for the same key (RFC 9449 section 10.1)",
            rule="check_pushed_dpop_jkt",
            spec=DPOP_SPEC,
        )
    return pushed
