"""The grant types the token endpoint accepts (RFC 6749 §4, §5.2) and the rule table each one runs.

The server maps each name to the handler that loads records and calls the decision; a grant type
missing here, or deprecated and not allowed by the settings, is refused before the client is
authenticated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from valetkey.core.checks import Rule
from valetkey.core.device.poll import DEVICE_CODE_GRANT, POLL_RULES
from valetkey.core.errors import InvalidRequest, UnsupportedGrantType
from valetkey.core.text import shown
from valetkey.core.token import (
    CLIENT_CREDENTIALS_RULES,
    CODE_RULES,
    PASSWORD_RULES,
    REFRESH_RULES,
    one,
)

SPEC = "RFC 6749 §5.2"


@dataclass(frozen=True)
class GrantType:
    name: str
    spec: str
    rules: tuple[Rule[Any], ...]
    # Where set, the grant is off unless ``allow_deprecated_grants``; the spec that deprecates it.
    deprecated_by: str = ""


GRANT_TYPES: Mapping[str, GrantType] = {
    g.name: g
    for g in (
        GrantType("authorization_code", "RFC 6749 §4.1.3", CODE_RULES),
        GrantType("refresh_token", "RFC 6749 §6", REFRESH_RULES),
        GrantType("client_credentials", "RFC 6749 §4.4", CLIENT_CREDENTIALS_RULES),
        GrantType("password", "RFC 6749 §4.3", PASSWORD_RULES, deprecated_by="RFC 9700 §2.4"),
        GrantType(DEVICE_CODE_GRANT, "RFC 8628 §3.4", POLL_RULES),
    )
}


def check_grant_type(params: Mapping[str, Sequence[str]], *, allow_deprecated: bool) -> GrantType:
    """The grant type the request names, if this server offers it; raises OAuthError otherwise."""
    name = one(params, "grant_type")
    if not name:
        raise InvalidRequest("grant_type is required", rule="check_grant_type", spec=SPEC)
    found = GRANT_TYPES.get(name)
    if found is not None and (allow_deprecated or not found.deprecated_by):
        return found
    refusal = f"grant_type {shown(name)} is not supported by this server"
    if found is None:
        raise UnsupportedGrantType(refusal, rule="check_grant_type", spec=SPEC)
    # RFC 9700 §2.4: the password grant MUST NOT be used; offered only where explicitly allowed.
    raise UnsupportedGrantType(
        f"{refusal}; the {found.name} grant is disabled ({found.deprecated_by})",
        rule="check_grant_type",
        spec=found.deprecated_by,
    )
