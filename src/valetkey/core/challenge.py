"""The ``WWW-Authenticate`` header (RFC 9110 §11.6.1): writing a Bearer challenge and reading one.

Written by the resource server and /userinfo (RFC 6750 §3); read by the client, which refreshes on
``error="invalid_token"`` (RFC 6750 §3.1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from valetkey.core.errors import OAuthError
from valetkey.core.text import safe


def bearer_challenge(
    error: OAuthError | None,
    *,
    realm: str | None = None,
    scope: Sequence[str] = (),
    resource_metadata: str | None = None,
) -> str:
    """RFC 6750 §3; without credentials (``error`` None) no error attributes (§3.1)."""
    params: list[tuple[str, str]] = []
    if realm:
        params.append(("realm", realm))
    if error is not None:
        params.append(("error", error.error))
        params.append(("error_description", error.description))
        if scope:
            params.append(("scope", " ".join(scope)))
    if resource_metadata:  # RFC 9728 §5.1
        params.append(("resource_metadata", resource_metadata))
    if not params:
        return "Bearer"
    # RFC 6750 §3: every attribute value is a quoted string of %x20-21 / %x23-5B / %x5D-7E.
    return "Bearer " + ", ".join(f'{name}="{safe(value)}"' for name, value in params)


def challenges(
    error: OAuthError | None,
    *,
    scheme: str = "bearer",
    realm: str | None = None,
    scope: Sequence[str] = (),
    resource_metadata: str | None = None,
    dpop_algs: Sequence[str] = (),
) -> str:
    """Every challenge of a resource: Bearer's, and DPoP's where DPoP is accepted (RFC 9449 §7.1,
    §7.2, Figures 17-19); the error goes in the challenge of ``scheme``, the one the request
    used, and the other is bare. DPoP's carries ``algs``, the proof algorithms accepted."""
    dpop = scheme == "dpop" and bool(dpop_algs)
    bearer = bearer_challenge(
        None if dpop else error,
        realm=realm,
        scope=scope,
        resource_metadata=resource_metadata,
    )
    if not dpop_algs:
        return bearer
    if not dpop:
        return f"{bearer}, {dpop_challenge(dpop_algs, realm=realm)}"
    return f"{bearer}, {dpop_challenge(dpop_algs, error, realm=realm, scope=scope)}"


def dpop_challenge(
    algs: Sequence[str],
    error: OAuthError | None = None,
    *,
    realm: str | None = None,
    scope: Sequence[str] = (),
) -> str:
    """The ``WWW-Authenticate`` value of the DPoP scheme (RFC 9449 §7.1), written as Bearer's;
    without ``error`` the bare challenge for a request that sent no DPoP credentials."""
    params: list[tuple[str, str]] = [("realm", realm)] if realm else []
    if error is not None:
        params += [("error", error.error), ("error_description", error.description)]
    if scope:
        params.append(("scope", " ".join(scope)))
    params.append(("algs", " ".join(algs)))
    return "DPoP " + ", ".join(f'{name}="{safe(value)}"' for name, value in params)


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"  # RFC 9110 §5.6.2
_SCHEME = re.compile(rf"[\s,]*({_TOKEN})(?=\s|,|$)\s*")
_PARAM = re.compile(rf'({_TOKEN})\s*=\s*("(?:[^"\\]|\\.)*"|{_TOKEN})\s*(?:,\s*|$)')
_ESCAPE = re.compile(r"\\(.)")


def parse_challenges(values: Iterable[str]) -> list[tuple[str, dict[str, str]]]:
    """Each challenge's scheme (lower case) and auth-params (names lower case, values unquoted),
    from every ``WWW-Authenticate`` value; reading stops at what it cannot parse (a token68)."""
    found: list[tuple[str, dict[str, str]]] = []
    for value in values:
        pos = 0
        while (scheme := _SCHEME.match(value, pos)) is not None:
            params: dict[str, str] = {}
            pos = scheme.end()
            while (param := _PARAM.match(value, pos)) is not None:
                raw = param.group(2)
                if raw.startswith('"'):
                    raw = _ESCAPE.sub(r"\1", raw[1:-1])
                params.setdefault(param.group(1).lower(), raw)
                pos = param.end()
            found.append((scheme.group(1).lower(), params))
    return found


def bearer_error(values: Iterable[str], scheme: str = "bearer") -> str | None:
    """The ``error`` of the first challenge of ``scheme`` that names one (RFC 6750 §3.1; DPoP's
    challenges carry theirs the same way, RFC 9449 §7.1)."""
    for name, params in parse_challenges(values):
        if name == scheme and "error" in params:
            return params["error"]
    return None
