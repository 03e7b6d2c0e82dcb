"""The device authorization request and response (RFC 8628 §3.1-3.2).

The server authenticates the client as at the token endpoint, runs :func:`decide_device_authorization`
(the client may use the grant; the scope it asks for), mints the codes
(:mod:`valetkey.core.device.codes`), stores the record, and answers with
:func:`device_authorization_response`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from valetkey.core import resource_indicators, scopes
from valetkey.core.checks import Rule, run_rules
from valetkey.core.device.codes import display_user_code
from valetkey.core.device.poll import DEVICE_CODE_GRANT
from valetkey.core.events import Check
from valetkey.core.models import Client, Resource
from valetkey.core.token import client_may_use_grant, one

SINGLE_VALUED = ("client_id", "scope")  # RFC 8628 §3.1 (resource may repeat: RFC 8707 §2)


@dataclass
class DeviceAuthorizationContext:
    params: Mapping[str, Sequence[str]]
    client: Client
    known_scopes: frozenset[str]
    resources: Sequence[Resource] = ()
    scope: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()  # the grant's resources (RFC 8707), set by check_resource


def check_grant_allowed(ctx: DeviceAuthorizationContext) -> None:
    client_may_use_grant(ctx.client, DEVICE_CODE_GRANT)


def check_single_values(ctx: DeviceAuthorizationContext) -> None:
    for name in SINGLE_VALUED:
        one(ctx.params, name)


def check_scope(ctx: DeviceAuthorizationContext) -> None:
    ctx.scope = scopes.resolve(one(ctx.params, "scope"), ctx.client, ctx.known_scopes)


def check_resource(ctx: DeviceAuthorizationContext) -> None:
    """RFC 8707 §2: the resources the device asks for, as at the authorization endpoint; without
    any, every resource that owns one of the scopes."""
    given = bool(scopes.parse_or_empty(one(ctx.params, "scope")))
    ctx.scope, ctx.audience = resource_indicators.for_authorization(
        resource_indicators.requested(ctx.params), ctx.scope, given, ctx.client, ctx.resources
    )


AUTHORIZATION_RULES: tuple[Rule[DeviceAuthorizationContext], ...] = (
    Rule("check_grant_allowed", "RFC 8628 §3.1, RFC 6749 §5.2", check_grant_allowed),
    Rule("check_single_values", "RFC 8628 §3.1, RFC 6749 §3.1", check_single_values),
    Rule("check_scope", "RFC 8628 §3.1, RFC 6749 §3.3", check_scope),
    Rule("check_resource", "RFC 8707 §2", check_resource),
)


def decide_device_authorization(ctx: DeviceAuthorizationContext) -> tuple[Check, ...]:
    return run_rules(AUTHORIZATION_RULES, ctx)


def verification_uri_complete(verification_uri: str, user_code: str) -> str:
    """The verification URI with the user code in it, for a link or a QR code (RFC 8628 §3.3.1);
    ``user_code`` in its stored form, shown as XXXX-XXXX."""
    joiner = "&" if urlsplit(verification_uri).query else "?"
    return verification_uri + joiner + urlencode({"user_code": display_user_code(user_code)})


def device_authorization_response(
    *,
    device_code: str,
    user_code: str,
    verification_uri: str,
    expires_in: int,
    interval: int,
) -> dict[str, Any]:
    """The JSON body of a successful device authorization response (RFC 8628 §3.2); send it with
    ``Cache-Control: no-store``: it carries the device code."""
    if expires_in <= 0 or interval <= 0:
        raise ValueError("expires_in and interval are positive numbers of seconds")
    return {
        "device_code": device_code,
        "user_code": display_user_code(user_code),
        "verification_uri": verification_uri,
        "verification_uri_complete": verification_uri_complete(verification_uri, user_code),
        "expires_in": expires_in,
        "interval": interval,
    }
