"""Protect any ASGI app with bearer tokens from a valetkey (or any RFC 8414) authorization server.

    app.add_middleware(
        BearerAuth,
        validator=JWTValidator(issuer, audience),
        resource_metadata=ResourceMetadata(audience, scopes_supported=["read:files"]),
    )

``JWTValidator`` checks RFC 9068 JWT access tokens locally; ``IntrospectionValidator`` asks the
authorization server (RFC 7662) so that revocation is seen at once. ``ResourceMetadata`` publishes
the RFC 9728 document and names it in every 401, so that clients discover the authorization server.
"""

from valetkey.resource.introspection import IntrospectionValidator
from valetkey.resource.jwt import JWTValidator
from valetkey.resource.metadata import ResourceMetadata
from valetkey.resource.middleware import BearerAuth, token_from_scope
from valetkey.resource.scopes import RequireScopes, ScopeChallenge, requires_scopes
from valetkey.resource.token import AccessToken, TokenValidator

__all__ = [
    "AccessToken",
    "BearerAuth",
    "IntrospectionValidator",
    "JWTValidator",
    "RequireScopes",
    "ResourceMetadata",
    "ScopeChallenge",
    "TokenValidator",
    "requires_scopes",
    "token_from_scope",
]
