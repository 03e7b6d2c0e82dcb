"""Dynamic Client Registration (RFC 7591) and its management protocol (RFC 7592): who may
register, what a registration may hold, and how refusals read. Pure: the server reads the request,
calls these, and stores what they accept.

The policy lives in the configuration and is closed by default:

- ``registration = "closed"``: only a request carrying an initial access token (one of
  ``registration_tokens``, given to developers by the operator, RFC 7591 section 3) registers;
- ``registration = "open-native"``: anyone may also register a *public native* client: no secret
  (``token_endpoint_auth_method = "none"``), only the authorization code and refresh token grants,
  and only redirect URIs that name no owner (loopback IP literals and private-use schemes, RFC 8252
  section 7). Such a client can get nothing a local app could not already ask for, and its sign-ins
  always show the consent page (core.interaction's rule for clients anyone could claim).

The metadata itself is judged by ``core.client_metadata``: the same rules as the configuration
file and the admin CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from valetkey.core import secrets as vsecrets
from valetkey.core.client_metadata import ClientMetadata, Problem
from valetkey.core.models import PUBLIC_AUTH
from valetkey.core.redirect import claimable_by_any_local_app

Mode = Literal["closed", "open-native"]
MODES: tuple[Mode, ...] = ("closed", "open-native")
SPEC = "RFC 7591 section 3"
MANAGE_SPEC = "RFC 7592 section 2"
NATIVE_GRANTS = frozenset({"authorization_code", "refresh_token"})
MIN_TOKEN_LENGTH = 32


@dataclass
class Refusal(Exception):
    """A registration request refused: the HTTP status, the error code and what to do."""

    status: int
    error: str
    description: str
    rule: str
    spec: str = SPEC


@dataclass(frozen=True)
class RegistrationPolicy:
    mode: Mode = "closed"
    initial_token_digests: tuple[str, ...] = ()

    @classmethod
    def build(cls, mode: Mode, initial_tokens: Sequence[str]) -> RegistrationPolicy:
        return cls(mode, tuple(vsecrets.digest(t) for t in initial_tokens))

    @property
    def enabled(self) -> bool:
        return self.mode != "closed" or bool(self.initial_token_digests)

    def admits_token(self, token: str) -> bool:
        # Every digest is compared (no early exit), each in constant time.
        found = False
        for stored in self.initial_token_digests:
            found |= vsecrets.matches_digest(token, stored)
        return found


def endpoint_metadata(issuer: str, policy: RegistrationPolicy) -> dict[str, str]:
    """``registration_endpoint`` (RFC 8414 section 2), when anyone can use it."""
    return {"registration_endpoint": f"{issuer}/register"} if policy.enabled else {}


def is_native(metadata: ClientMetadata) -> bool:
    """A public client whose every redirect URI names no owner, with only the code grants."""
    return (
        metadata.token_endpoint_auth_method == PUBLIC_AUTH
        and bool(metadata.redirect_uris)
        and all(claimable_by_any_local_app(u) for u in metadata.redirect_uris)
        and set(metadata.grant_types) <= NATIVE_GRANTS
    )


def admit(policy: RegistrationPolicy, bearer: str | None, metadata: ClientMetadata) -> str:
    """How the registration is admitted ("initial_access_token" or "open-native"), or Refusal."""
    if bearer is not None:
        if policy.admits_token(bearer):
            return "initial_access_token"
        raise Refusal(
            401,
            "invalid_token",
            "the initial access token is not valid; ask the server's operator for one "
            "(RFC 7591 section 3)",
            "check_initial_access_token",
        )
    if policy.mode == "open-native":
        if is_native(metadata):
            return "open-native"
        raise Refusal(
            403,
            "invalid_client_metadata",
            "open registration accepts only public native clients: token_endpoint_auth_method "
            "none, the authorization_code and refresh_token grants, and redirect URIs on a "
            "loopback IP (http://127.0.0.1:PORT/...) or a private-use scheme (com.example.app:/cb); "
            "for any other client, send an initial access token from the server's operator",
            "check_open_registration",
            "RFC 7591 section 3, RFC 8252 section 7",
        )
    raise Refusal(
        401,
        "invalid_token",
        "registration needs an initial access token (Authorization: Bearer <token>) from the "
        "server's operator: open registration is off (RFC 7591 section 3)",
        "check_initial_access_token",
    )


def metadata_refusal(problems: Sequence[Problem]) -> Refusal:
    """RFC 7591 section 3.2.2: invalid_redirect_uri when a redirect URI is at fault, else
    invalid_client_metadata; the description lists every problem with its field."""
    redirect = any(p.path.startswith("redirect_uris") for p in problems)
    listed = "; ".join(str(p) for p in problems)
    first = problems[0]
    return Refusal(
        400,
        "invalid_redirect_uri" if redirect else "invalid_client_metadata",
        listed[:900],
        first.rule,
        first.spec,
    )
