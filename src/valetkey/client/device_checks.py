"""The checks a device authorization response passed or failed (RFC 8628 §3.2), as recorded
:class:`~valetkey.core.events.Check` values for a ``checks.Noter``: the fields the device relies on
(a device code, a user code a person can type, sane ``expires_in`` and ``interval``), and where it
sends the person to sign in (https, plain http only on loopback: RFC 6749 §3.1)."""

from __future__ import annotations

from valetkey.client.checks import RULES, passed
from valetkey.client.errors import ClientError, SecurityCheckFailed
from valetkey.core.events import Check


def response_checks(verification_uri: str, expires_in: float, interval: float) -> tuple[Check, ...]:
    """What a response that was read passed."""
    return (
        passed(
            "device_response",
            f"device_code and a printable user_code present, expires_in {expires_in:g} s and "
            f"interval {interval:g} s within bounds",
        ),
        passed("verification_uri", f"{verification_uri} is https (plain http only on loopback)"),
    )


def refused_check(exc: ClientError) -> Check:
    """The check a response failed: the person's sign-in page, or the fields themselves."""
    rule = "verification_uri" if isinstance(exc, SecurityCheckFailed) else "device_response"
    name, spec = RULES[rule]
    return Check(name, "fail", spec, str(exc))
