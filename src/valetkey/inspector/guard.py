"""The inspector's admin credential on a real server: every request (page, API, event stream) must
present it, as the password of HTTP Basic (RFC 7617; any user name) or as a bearer token
(RFC 6750 section 2.1).

Why Basic for the page: the browser asks once and then sends the credential with every request of
the origin, the ``EventSource`` stream included (which cannot set headers); nothing is stored in a
cookie, so no other site can make the browser use it behind the admin's back through a form post
or an image (no CSRF to defend). Scripts use the bearer form.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

REALM = "valetkey inspector"
Refused = Callable[[str], None]


def presented(authorization: bytes) -> bytes | None:
    """The credential in an Authorization header value: Basic's password, or a bearer token."""
    scheme, _, rest = authorization.strip().partition(b" ")
    rest = rest.strip()
    if scheme.lower() == b"bearer" and rest:
        return rest
    if scheme.lower() == b"basic" and rest:
        try:
            decoded = base64.b64decode(rest, validate=True)
        except (binascii.Error, ValueError):
            return None
        _user, colon, password = decoded.partition(b":")
        return password if colon else None
    return None


def refusal_reason(authorization: bytes | None, expected: bytes) -> str | None:
    """Why a request is refused (None: it presents the credential)."""
    if not authorization:
        return "no credential"
    given = presented(authorization)
    if given is None:
        return "not HTTP Basic or a bearer token"
    if not hmac.compare_digest(given, expected):
        return "not the configured inspector_token"
    return None


class CredentialGuard:
    """ASGI middleware: a request without the credential gets 401 with a Basic challenge."""

    def __init__(self, app: ASGIApp, credential: str, refused: Refused | None = None) -> None:
        self.app = app
        self.expected = credential.encode("utf-8")
        self.refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        reason = refusal_reason(header, self.expected)
        if reason is None:
            await self.app(scope, receive, send)
            return
        if self.refused is not None:
            self.refused(reason)
        body = (
            b'{"error":"invalid_token","error_description":"the inspector needs the admin '
            b"credential configured as inspector_token: as the password of HTTP Basic (any user "
            b'name) or as a bearer token (RFC 7617 section 2, RFC 6750 section 2.1)"}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                    (b"www-authenticate", f'Basic realm="{REALM}", charset="UTF-8"'.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def named_hosts_only(app: ASGIApp, host: str) -> ASGIApp:
    """An inspector served without a credential (the demo's, ``--inspect-page``) shows flows to
    whoever can reach it, so it listens on loopback; but a web page open in the same browser could
    rebind its own host name to 127.0.0.1 and read it as same-origin (DNS rebinding). Only requests
    naming the loopback host, or the host it was bound to, are answered (others get 400)."""
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    names = [*LOOPBACK_NAMES, *([host] if host not in LOOPBACK_NAMES else [])]
    return TrustedHostMiddleware(app, allowed_hosts=names)
