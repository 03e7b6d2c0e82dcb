"""The device authorization response (RFC 8628 §3.2), read and checked: a response that fails any
check is refused whole, before the user is shown a code or sent anywhere.

:func:`read_authorization` is the pure part of :func:`~valetkey.client.device.authorize`; the
checks it passes are described for a ``checks.Noter`` by :mod:`valetkey.client.device_checks`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from valetkey.client.config import is_secure_url
from valetkey.client.errors import SecurityCheckFailed, UnexpectedResponse
from valetkey.core.device import DEFAULT_INTERVAL

# Bounds a sane server keeps; outside them the response is refused rather than obeyed.
MAX_EXPIRES_IN = 24 * 3600
MAX_INTERVAL = 600
MAX_USER_CODE = 64  # a person types it
# Printed to a terminal: no control characters (escape sequences); inner spaces only in a code.
_PRINTABLE = re.compile(r"[\x21-\x7e]+")
_USER_CODE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")


@dataclass(frozen=True)
class DeviceAuthorization:
    """A checked device authorization response (RFC 8628 §3.2), with absolute times."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_at: float
    interval: float
    obtained_at: float

    @property
    def link(self) -> str:
        """Where to send the user: the complete URI (the code already in it) when given."""
        return self.verification_uri_complete or self.verification_uri


def read_authorization(body: dict[str, Any], now: float) -> DeviceAuthorization:
    """The fields of RFC 8628 §3.2, each checked; a response that fails is refused whole."""
    device_code = body.get("device_code")
    if not isinstance(device_code, str) or not device_code:
        raise UnexpectedResponse("the device authorization response has no device_code")
    user_code = body.get("user_code")
    if not isinstance(user_code, str) or not _USER_CODE.fullmatch(user_code):
        raise UnexpectedResponse("the device authorization response has no usable user_code")
    if len(user_code) > MAX_USER_CODE:
        raise UnexpectedResponse(f"the user_code is longer than {MAX_USER_CODE} characters")
    # "verification_url": the name some servers used before RFC 8628 was final.
    uri = _uri(body.get("verification_uri") or body.get("verification_url"), "verification_uri")
    complete = body.get("verification_uri_complete")
    expires_in = _seconds(body.get("expires_in"), "expires_in", MAX_EXPIRES_IN)
    if complete is not None:
        complete = _uri(complete, "verification_uri_complete")
    interval = body.get("interval")
    return DeviceAuthorization(
        device_code=device_code,
        user_code=user_code,
        verification_uri=uri,
        verification_uri_complete=complete,
        expires_at=now + expires_in,
        # RFC 8628 §3.2: 5 seconds when the server names no interval.
        interval=DEFAULT_INTERVAL
        if interval is None
        else _seconds(interval, "interval", MAX_INTERVAL),
        obtained_at=now,
    )


def _uri(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _PRINTABLE.fullmatch(value):
        raise UnexpectedResponse(f"the device authorization response has no usable {name}")
    if not is_secure_url(value):
        # RFC 6749 §3.1 (TLS at the authorization endpoint): the user signs in there.
        raise SecurityCheckFailed(
            f"{name} {value[:100]!r} is not https (plain http only on loopback): refusing to send "
            "the user to sign in there"
        )
    return value


def _seconds(value: Any, name: str, most: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= most:
        raise UnexpectedResponse(
            f"{name} must be a number of seconds from 1 to {most}, got {str(value)[:40]!r}"
        )
    return float(value)
