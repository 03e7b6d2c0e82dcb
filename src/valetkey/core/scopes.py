"""Scope syntax (RFC 6749 §3.3) and the scopes the server knows."""

from __future__ import annotations

import re
from collections.abc import Iterable

from valetkey.core.errors import InvalidScope
from valetkey.core.models import Client, Resource
from valetkey.core.text import shown

OIDC_SCOPES = ("openid", "profile", "email", "address", "phone", "offline_access")
_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")


def parse(value: str | None) -> tuple[str, ...]:
    """Split a scope string, keeping the first occurrence's order; raise ValueError on bad syntax."""
    if value is None:
        return ()
    if value != value.strip(" ") and value.strip(" ") == "":
        return ()
    items: list[str] = []
    for item in value.split(" "):
        if item == "":
            continue
        if not _TOKEN.match(item):
            raise ValueError(
                f"scope token {shown(item)} has characters RFC 6749 §3.3 does not allow"
            )
        if item not in items:
            items.append(item)
    return tuple(items)


def parse_or_empty(value: str | None) -> tuple[str, ...]:
    try:
        return parse(value)
    except ValueError:
        return ()


def render(scope: Iterable[str]) -> str:
    return " ".join(scope)


def known_scopes(resources: Iterable[Resource]) -> frozenset[str]:
    known = set(OIDC_SCOPES)
    for resource in resources:
        known.update(resource.scopes)
    return frozenset(known)


def audience_for(scope: Iterable[str], resources: Iterable[Resource]) -> tuple[str, ...]:
    """The resources that own at least one granted scope, in registration order."""
    wanted = set(scope)
    return tuple(r.identifier for r in resources if wanted.intersection(r.scopes))


def resolve(
    raw: str | None,
    client: Client,
    known: frozenset[str],
    *,
    default_excludes: Iterable[str] = ("offline_access",),
) -> tuple[str, ...]:
    """The scope a request gets: parsed, defaulted to the client's registered scope when omitted
    (RFC 6749 §3.3 allows a default), known to the server and inside the client's allow-list."""
    try:
        requested = parse(raw)
    except ValueError as exc:
        raise InvalidScope(str(exc)) from exc
    if not requested:
        excluded = set(default_excludes)
        requested = tuple(s for s in client.scope if s not in excluded)
    unknown = [s for s in requested if s not in known]
    if unknown:
        raise InvalidScope(f"unknown scope: {' '.join(unknown)[:200]}")
    not_allowed = [s for s in requested if client.scope and s not in client.scope]
    if not_allowed:
        raise InvalidScope(
            f"this client may not request: {' '.join(not_allowed)[:200]}; "
            f"it is registered for: {render(client.scope)}"
        )
    return requested
