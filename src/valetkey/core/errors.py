"""One exception class per OAuth error code (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; OIDC Core §3.1.2.6).

Each error carries the protocol code, the HTTP status, whether it may be sent to the client's
redirect URI, a public ``description`` a client developer can act on, and private ``detail`` plus
the ``rule`` and ``spec`` section that failed, which go only to events and logs.
"""

from __future__ import annotations

from typing import ClassVar

from valetkey.core import text


class OAuthError(Exception):
    error: ClassVar[str] = "server_error"
    status: ClassVar[int] = 400
    allow_redirect: ClassVar[bool] = True

    def __init__(
        self,
        description: str,
        *,
        rule: str = "",
        spec: str = "",
        detail: str = "",
    ) -> None:
        super().__init__(description)
        # RFC 6749 §5.2: error_description keeps to printable ASCII without '"' and '\\'.
        self.description = text.public(description)
        self.rule = rule
        self.spec = spec
        self.detail = detail

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"
    status = 401
    allow_redirect = False


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class InvalidTarget(OAuthError):
    """RFC 8707 section 2: a ``resource`` that is malformed, unknown or not allowed."""

    error = "invalid_target"


class AccessDenied(OAuthError):
    error = "access_denied"
    status = 403


class ServerError(OAuthError):
    error = "server_error"
    status = 500


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status = 503


class Unavailable(TemporarilyUnavailable):
    """The server cannot answer now but will shortly (RFC 9110 §15.6.4): not a refusal, not a
    defect. Endpoints let it propagate; the HTTP runtime answers 503 with ``Retry-After:
    retry_after`` on protocol endpoints and an error page on browser pages."""

    def __init__(
        self, description: str, *, rule: str, detail: str = "", retry_after: int = 5
    ) -> None:
        super().__init__(description, rule=rule, spec="RFC 9110 §15.6.4", detail=detail)
        self.retry_after = retry_after


class StorageUnavailable(Unavailable):
    """The database failed, timed out or went away: an outage.

    Raised by the store for connection-level failures only (never for a constraint or a bug).
    Nothing the failed transaction would have written was written.
    """

    def __init__(self, detail: str = "", *, retry_after: int = 5) -> None:
        super().__init__(
            "the authorization server's storage is unavailable; try again shortly",
            rule="storage_available",
            detail=detail,
            retry_after=retry_after,
        )


class HashingBusy(Unavailable):
    """Every password-hashing slot is taken and the wait for one is full or too long: a flood of
    sign-ins waits its turn or is told to come back, instead of exhausting memory."""

    def __init__(self, detail: str = "", *, retry_after: int = 5) -> None:
        super().__init__(
            "the authorization server is busy checking other passwords; try again shortly",
            rule="hashing_capacity",
            detail=detail,
            retry_after=retry_after,
        )


class LoginRequired(OAuthError):
    error = "login_required"


class ConsentRequired(OAuthError):
    error = "consent_required"


class InvalidToken(OAuthError):
    error = "invalid_token"
    status = 401


class InsufficientScope(OAuthError):
    error = "insufficient_scope"
    status = 403


class InvalidRedirectTarget(OAuthError):
    """A bad ``client_id`` or ``redirect_uri``: shown to the user, never redirected (RFC 6749 §4.1.2.1)."""

    error = "invalid_request"
    allow_redirect = False


class UnknownClient(InvalidRedirectTarget):
    error = "invalid_client"
    status = 400


class InvalidDPoPProof(OAuthError):
    """The DPoP proof is missing or fails a check of RFC 9449 §4.3 (RFC 9449 §5, §7.1, §12.2).

    400 at the token endpoint; a resource answers 401 with a ``WWW-Authenticate: DPoP`` challenge.
    """

    error = "invalid_dpop_proof"


class UseDPoPNonce(OAuthError):
    """The server wants its nonce in the proof (RFC 9449 §8, §9): ``nonce`` goes in ``DPoP-Nonce``.

    400 at the token endpoint; a resource answers 401 with a ``WWW-Authenticate: DPoP`` challenge.
    """

    error = "use_dpop_nonce"

    def __init__(
        self, description: str, *, nonce: str, rule: str = "", spec: str = "", detail: str = ""
    ) -> None:
        super().__init__(description, rule=rule, spec=spec, detail=detail)
        self.nonce = nonce


class AuthorizationPending(OAuthError):
    """The user has not yet approved or denied the device authorization (RFC 8628 §3.5)."""

    error = "authorization_pending"


class SlowDown(OAuthError):
    """Still pending, and the client polled too soon (RFC 8628 §3.5): ``interval`` is the new
    polling interval in seconds, 5 more than before, for this and every later request."""

    error = "slow_down"

    def __init__(
        self, description: str, *, interval: int, rule: str = "", spec: str = "", detail: str = ""
    ) -> None:
        super().__init__(description, rule=rule, spec=spec, detail=detail)
        self.interval = interval


class ExpiredToken(OAuthError):
    """The device code expired before the user approved it (RFC 8628 §3.5)."""

    error = "expired_token"


class DeviceAccessDenied(AccessDenied):
    """The user denied the device authorization: a token-endpoint error, so 400 (RFC 8628 §3.5,
    RFC 6749 §5.2), where an ``access_denied`` elsewhere answers 403."""

    status = 400


class ThrottledClient(InvalidClient):
    """Client authentication refused unchecked after too many failures (RFC 6749 §10.10): 429
    with ``Retry-After`` (RFC 6585 §4). The code stays ``invalid_client``: RFC 6749 has none for
    this, and every client already treats it as "these credentials were not accepted"."""

    status = 429

    def __init__(self, description: str, *, retry_after: int, rule: str, spec: str) -> None:
        super().__init__(description, rule=rule, spec=spec)
        self.retry_after = retry_after


class ThrottledGrant(InvalidGrant):
    """The password grant refused unchecked after too many failed sign-ins for the account or the
    address (NIST SP 800-63B §5.2.2): 429 with ``Retry-After``, the code ``invalid_grant``."""

    status = 429

    def __init__(self, description: str, *, retry_after: int, rule: str, spec: str) -> None:
        super().__init__(description, rule=rule, spec=spec)
        self.retry_after = retry_after
