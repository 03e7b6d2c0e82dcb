"""Finding the bearer token in a request, and the RFC 6750 §3 answers when it is missing or bad."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from valetkey.core.errors import InvalidRequest, OAuthError

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")
# RFC 6750 §3: quoted attribute values use %x20-21 / %x23-5B / %x5D-7E only.
_UNQUOTABLE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")
MAX_TOKEN = 8192


class NoCredentials(Exception):
    """No bearer token: RFC 6750 §3.1 answers 401 with a bare challenge and no error code."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def bearer_token(headers: Sequence[tuple[bytes, bytes]], query_string: bytes) -> str:
    """The token from ``Authorization: Bearer``; raises NoCredentials or InvalidRequest."""
    values = [v for k, v in headers if k.lower() == b"authorization"]
    in_query = b"access_token" in query_string and _query_has_token(query_string)
    if len(values) > 1:
        raise InvalidRequest(
            "the request has more than one Authorization header; send exactly one",
            rule="one_authorization_header",
            spec="RFC 6750 §3.1",
        )
    if in_query:
        # RFC 6750 §2.3 (URI query parameter) is optional; RFC 9700 §4.3.2 advises against it.
        both = " and in the Authorization header" if values else ""
        raise InvalidRequest(
            f"an access token was sent in the URL query{both}; this API accepts it only in the "
            "Authorization header (Authorization: Bearer <token>)",
            rule="no_token_in_query",
            spec="RFC 6750 §2.3, §3.1",
        )
    if not values:
        raise NoCredentials("this API needs an access token: send Authorization: Bearer <token>")
    raw = values[0].decode("latin-1").strip()
    scheme, _, token = raw.partition(" ")
    if scheme.lower() != "bearer":  # RFC 6750 §2.1 / RFC 9110 §11.1: scheme is case-insensitive
        raise NoCredentials(
            f"the Authorization header uses the {scheme[:20]!r} scheme; this API accepts Bearer tokens"
        )
    token = token.strip()
    if not token or len(token) > MAX_TOKEN or not _B64TOKEN.match(token):
        raise InvalidRequest(
            "the Bearer credentials are empty or not in token68 syntax",
            rule="bearer_syntax",
            spec="RFC 6750 §2.1",
        )
    return token


def _query_has_token(query_string: bytes) -> bool:
    for part in query_string.split(b"&"):
        name = part.split(b"=", 1)[0]
        if name == b"access_token":
            return True
    return False


def quote(value: str) -> str:
    return _UNQUOTABLE.sub("?", value)


def challenge(
    realm: str | None,
    error: OAuthError | None,
    scope: Sequence[str] = (),
    resource_metadata: str | None = None,
) -> str:
    """The WWW-Authenticate value (RFC 6750 §3); no error attributes when credentials were absent."""
    params: list[str] = []
    if realm:
        params.append(f'realm="{quote(realm)}"')
    if error is not None:
        params.append(f'error="{error.error}"')
        params.append(f'error_description="{quote(error.description)}"')
        if scope:
            params.append(f'scope="{quote(" ".join(scope))}"')
    if resource_metadata:
        params.append(f'resource_metadata="{quote(resource_metadata)}"')
    return "Bearer " + ", ".join(params) if params else "Bearer"


def error_body(error: OAuthError | None, description: str, scope: Sequence[str] = ()) -> bytes:
    body: dict[str, Any] = {}
    if error is not None:
        body["error"] = error.error
    body["error_description"] = description
    if scope:
        body["scope"] = " ".join(scope)
    return json.dumps(body, separators=(",", ":")).encode("utf-8")
