"""The Device Authorization Grant (RFC 8628) as sans-I/O flows: ask for the codes, then poll.

:func:`authorize` yields the device authorization request and returns a checked
:class:`DeviceAuthorization` (show its ``user_code`` and ``verification_uri``); :func:`poll` yields
one token request and returns a :class:`TokenSet`, or :class:`Pending` when the user has not
finished. Run both with :func:`~valetkey.client.io.run` / :func:`~valetkey.client.io.arun`; the
response's fields are read and checked in :mod:`valetkey.client.device_response`, the waiting
between polls lives in :mod:`valetkey.client.device_polling`.
"""

from __future__ import annotations

from dataclasses import dataclass

from valetkey.client import checks
from valetkey.client.config import ClientConfig, require
from valetkey.client.device_checks import refused_check, response_checks
from valetkey.client.device_response import DeviceAuthorization, read_authorization
from valetkey.client.errors import OAuthServerError, SecurityCheckFailed, UnexpectedResponse
from valetkey.client.grants import _checked, _resources, _scope, _token_url
from valetkey.client.io import Flow
from valetkey.client.messages import form_request, raise_for_error, read_json, token_response
from valetkey.client.tokens import TokenSet
from valetkey.core.device import DEVICE_CODE_GRANT, SLOW_DOWN_STEP


class DeviceCodeExpired(OAuthServerError):
    """The device code expired before the user approved (RFC 8628 §3.5 ``expired_token``), said
    by the server or noticed by the client at ``expires_in``."""


def expired(
    description: str | None, endpoint: object = "", status: int | None = None
) -> DeviceCodeExpired:
    exc = DeviceCodeExpired("expired_token", description, status=status, endpoint=str(endpoint))
    exc.hint = "the code was not entered and approved in time: run the command again"
    return exc


@dataclass(frozen=True)
class Pending:
    """The user has not finished: poll again after ``interval`` seconds (grown on slow_down)."""

    interval: float
    error: str  # authorization_pending or slow_down


def device_authorization_url(config: ClientConfig, endpoint: str | None = None) -> str:
    """The explicit URL, else the server metadata's ``device_authorization_endpoint`` (RFC 8628 §4)."""
    found = endpoint or config.endpoints.metadata.get("device_authorization_endpoint")
    url = found if isinstance(found, str) else None
    return require(url, "the device authorization URL", "--device-authorization-url")


def authorize(
    config: ClientConfig,
    now: float,
    *,
    endpoint: str | None = None,
    note: checks.Noter | None = None,
) -> Flow[DeviceAuthorization]:
    """RFC 8628 §3.1: client authentication as at the token endpoint, scope, RFC 8707 resources;
    ``note`` hears of the response's checks (``device_checks``), passed or failed."""
    url = device_authorization_url(config, endpoint)
    _token_url(config)  # fail before the user is shown a code that could never be redeemed
    fields = [*_scope(config), *_resources(config)]
    response = yield form_request(url, fields, config, config.params_for("auth"))
    body = read_json(response)
    if response.status_code != 200:
        raise_for_error(body, response.status_code, str(response.request.url))
        raise UnexpectedResponse(
            f"device authorization endpoint answered {response.status_code}",
            status=response.status_code,
        )
    try:
        got = read_authorization(body, now)
    except (UnexpectedResponse, SecurityCheckFailed) as exc:
        if note is not None:
            note("device_authorization", (refused_check(exc),))
        raise
    if note is not None:
        note("device_authorization", response_checks(got.verification_uri, got.expires_at - now,
                                                     got.interval))  # fmt: skip
    return got


def poll(
    config: ClientConfig,
    authorization: DeviceAuthorization,
    now: float,
    interval: float,
    note: checks.Noter | None = None,
) -> Flow[TokenSet | Pending]:
    """One token request (RFC 8628 §3.4) and what its answer means (§3.5); ``note`` hears of the
    tokens' checks as in :mod:`~valetkey.client.grants`."""
    fields = [
        ("grant_type", DEVICE_CODE_GRANT),
        ("device_code", authorization.device_code),
        *_resources(config),
    ]
    request = form_request(_token_url(config), fields, config, config.params_for("token"))
    response = yield request
    if response.status_code != 200:
        body = read_json(response)
        error = body.get("error")
        if error == "authorization_pending":
            return Pending(interval, error)
        if error == "slow_down":  # §3.5: 5 seconds more for this and every later request
            return Pending(interval + SLOW_DOWN_STEP, error)
        if error == "expired_token":
            description = body.get("error_description")
            text = description if isinstance(description, str) else None
            raise expired(text, request.url, response.status_code)
    tokens = token_response(response, now, config.scope, note)
    return (yield from _checked(config, tokens, now, None, note=note))
