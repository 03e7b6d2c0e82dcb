"""Resource indicators (RFC 8707): the ``resource`` parameter names the protected resources a
token is for, at the authorization endpoint and the token endpoint.

Without ``resource`` a token's audience is every registered resource owning one of its scopes
(``scopes.audience_for``), as before. With it:

- each value is an absolute URI without a fragment (section 2), and a resource this server issues
  tokens for (its ``identifier``): otherwise ``invalid_target``, naming it;
- the client must be registered for at least one scope of each resource it names (its scope list
  is its allow-list of resources): otherwise ``invalid_target``;
- at the authorization endpoint the scope is checked against the resources: an explicitly requested
  scope that no requested resource owns is ``invalid_scope``; an omitted scope (the client's
  default) is narrowed to the requested resources' scopes. The grant's audience is the requested
  resources;
- at the token endpoint (code, refresh and client credentials) the requested resources must be
  within the grant's audience (section 2.2: a refresh can narrow, never widen); the access token's
  audience is the requested resources and its scope is narrowed to their scopes (OpenID Connect
  scopes stay). The refresh token keeps the whole grant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from valetkey.core import scopes
from valetkey.core.errors import InvalidScope, InvalidTarget
from valetkey.core.models import Client, Resource
from valetkey.core.text import shown

SPEC = "RFC 8707 section 2"


def requested(params: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The ``resource`` values of a request, each checked for syntax, first occurrence kept."""
    out: list[str] = []
    for value in params.get("resource") or ():
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        if parts is None or not parts.scheme or "#" in value or not (parts.netloc or parts.path):
            raise InvalidTarget(
                f"resource {shown(value, 80)} must be an absolute URI without a fragment "
                f"(RFC 8707 section 2)"
            )
        if value not in out:
            out.append(value)
    return tuple(out)


def _known(
    names: tuple[str, ...], client: Client, resources: Sequence[Resource]
) -> dict[str, Resource]:
    registered = {r.identifier: r for r in resources}
    found: dict[str, Resource] = {}
    for name in names:
        resource = registered.get(name)
        if resource is None:
            known = ", ".join(registered) or "none"
            raise InvalidTarget(
                f"resource {shown(name, 80)} is not a resource this server issues tokens for; "
                f"the registered resources are: {known[:300]}"
            )
        if client.scope and not set(resource.scopes) & set(client.scope):
            raise InvalidTarget(
                f"this client may not request tokens for {shown(name, 80)}: it is registered "
                f"for none of its scopes ({scopes.render(resource.scopes)[:200]})"
            )
        found[name] = resource
    return found


def _owned(found: Mapping[str, Resource]) -> set[str]:
    return {s for r in found.values() for s in r.scopes}


def for_authorization(
    names: tuple[str, ...],
    scope: tuple[str, ...],
    scope_given: bool,
    client: Client,
    resources: Sequence[Resource],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The (scope, audience) of an authorization request."""
    if not names:
        return scope, scopes.audience_for(scope, resources)
    found = _known(names, client, resources)
    owned = _owned(found)
    outside = [s for s in scope if s not in owned and s not in scopes.OIDC_SCOPES]
    if outside and scope_given:
        raise InvalidScope(
            f"scope {' '.join(outside)[:200]} belongs to none of the requested resources "
            f"({', '.join(names)[:200]}); ask for their scopes, or add the resource that owns it",
            spec=SPEC,
        )
    return tuple(s for s in scope if s not in outside), names


def for_token(
    names: tuple[str, ...],
    granted: tuple[str, ...],
    scope: tuple[str, ...],
    resources: Sequence[Resource],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The (scope, audience) of an access token from a grant whose audience is ``granted``."""
    registered = {r.identifier: r for r in resources}
    if not names:  # the grant's resources that own one of the scopes (all of them, unless narrowed)
        wanted = set(scope)
        audience = tuple(
            a for a in granted if a not in registered or wanted & set(registered[a].scopes)
        )
        return scope, audience
    beyond = [n for n in names if n not in granted]
    if beyond:
        allowed = ", ".join(granted) or "none"
        raise InvalidTarget(
            f"resource {shown(beyond[0], 80)} was not part of this grant; a token can be "
            f"narrowed to the granted resources ({allowed[:300]}), never widened",
            spec="RFC 8707 section 2.2",
        )
    owned = {s for n in names if n in registered for s in registered[n].scopes}
    return tuple(s for s in scope if s in owned or s in scopes.OIDC_SCOPES), names
