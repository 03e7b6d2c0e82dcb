"""Typed client errors: what the server refused, what the client refused to accept, and bad input."""

from __future__ import annotations

from valetkey.core.events import Check


class ClientError(Exception):
    """Base class for everything the client library raises on purpose."""

    hint: str = ""


class ConfigError(ClientError):
    """The caller's configuration or input is wrong (a missing URL, a bad verifier, ...)."""


class DiscoveryError(ClientError):
    """The issuer's metadata could not be fetched or does not describe that issuer (RFC 8414 §3.3)."""


class OAuthServerError(ClientError):
    """The server answered with an OAuth error (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3)."""

    def __init__(
        self,
        error: str,
        error_description: str | None = None,
        error_uri: str | None = None,
        *,
        status: int | None = None,
        endpoint: str = "",
    ) -> None:
        text = error + (f": {error_description}" if error_description else "")
        super().__init__(text)
        self.error = error
        self.error_description = error_description
        self.error_uri = error_uri
        self.status = status
        self.endpoint = endpoint
        self.hint = HINTS.get(error, "")


class AuthorizationDenied(OAuthServerError):
    """The user (or the server on their behalf) declined the authorization request."""


class UnexpectedResponse(ClientError):
    """The server answered with something that is not a valid OAuth response."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SecurityCheckFailed(ClientError):
    """A response failed a check that protects the user: nothing was exchanged or accepted.

    ``checks`` records the rules that ran, the failed one last (see ``client.checks``); ``spec``
    names the precise section the response failed, when it is narrower than the rule's.
    """

    checks: tuple[Check, ...] = ()

    def __init__(self, message: str, *, spec: str | None = None) -> None:
        super().__init__(message)
        self.spec = spec


class StateMismatch(SecurityCheckFailed):
    """The callback's ``state`` is missing or not the one we sent (RFC 6749 §10.12)."""


class IssuerMismatch(SecurityCheckFailed):
    """The callback's ``iss`` is missing where required or names another server (RFC 9207 §2.4)."""


class IdTokenInvalid(SecurityCheckFailed):
    """The ID token failed validation (OIDC Core §3.1.3.7)."""


HINTS = {
    "invalid_client": "check --client-id, --client-secret and --client-auth (basic, body or none) "
    "against what the server registered for this client",
    "invalid_grant": "the code or refresh token is expired, used or revoked: run `valetkey token get` "
    "again",
    "unauthorized_client": "this client is not registered for this grant type; ask the server's "
    "administrator or pick another --grant",
    "unsupported_grant_type": "the server does not offer this grant; pick another --grant",
    "invalid_scope": "ask for scopes the client is registered for (--scope)",
    "invalid_request": "a parameter is missing or malformed; the description names it",
    "access_denied": "the request was declined in the browser; run the command again to retry",
    "invalid_token": "the token is expired or revoked: `valetkey token refresh NAME` or get a new one",
    "insufficient_scope": "get a token with the scope the API asks for (--scope)",
    "temporarily_unavailable": "the server is busy; try again shortly",
    "server_error": "the server failed; try again, and tell its administrator if it persists",
}
