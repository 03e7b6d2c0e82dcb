"""The shape of the tokens valetkey issues and accepts: RFC 9068 JWT access tokens, a length cap.

The authorization server signs access tokens with ``typ`` ``at+jwt``; the resource server and the
authorization server's own token lookups (/introspect, /revoke, /userinfo) accept only those types,
so an ID token is never taken for an access token (RFC 9068 §4, RFC 8725 §3.11).
"""

from __future__ import annotations

# RFC 9068 §2.1: the typ header of a JWT access token ("application/at+jwt" in its long form).
AT_JWT_TYP = "at+jwt"
AT_JWT_TYPES = (AT_JWT_TYP, "application/" + AT_JWT_TYP)

# Longer presented tokens are refused unread: ours are far shorter (a JWT access token is ~600
# characters, a refresh token 43), and the cap bounds the work any request can cause.
MAX_TOKEN_LENGTH = 8192


def is_access_token_typ(typ: object) -> bool:
    """RFC 9068 §4: the JWT's typ is at+jwt (compared case-insensitively, RFC 7515 §4.1.9)."""
    return isinstance(typ, str) and typ.lower() in AT_JWT_TYPES


def within_length(token: str) -> bool:
    return 0 < len(token) <= MAX_TOKEN_LENGTH
