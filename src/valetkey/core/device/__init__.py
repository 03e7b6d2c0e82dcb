"""The Device Authorization Grant (RFC 8628): the codes, the device authorization request and
response, and the polling decision. Pure: values in, decisions out; the server loads and stores.
"""

from typing import TYPE_CHECKING

from valetkey.core.lazy import exports

if TYPE_CHECKING:  # the names, for type checkers; at run time each is imported when first read
    from valetkey.core.device.authorization import (
        AUTHORIZATION_RULES,
        DeviceAuthorizationContext,
        decide_device_authorization,
        device_authorization_response,
        verification_uri_complete,
    )
    from valetkey.core.device.codes import (
        USER_CODE_ALPHABET,
        USER_CODE_LENGTH,
        MintedDeviceCode,
        UserCodeRejected,
        device_code_digest,
        display_user_code,
        forgotten_before,
        mint_device_code,
        new_user_code,
        normalize_user_code,
        user_code_digest,
    )
    from valetkey.core.device.entry import ENTRY_RULES, EntryContext, decide_user_code_entry
    from valetkey.core.device.poll import (
        DEFAULT_INTERVAL,
        DEVICE_CODE_GRANT,
        POLL_RULES,
        SLOW_DOWN_STEP,
        PollContext,
        decide_device_poll,
    )
    from valetkey.core.models import DeviceCode

__all__ = [
    "AUTHORIZATION_RULES",
    "DEFAULT_INTERVAL",
    "DEVICE_CODE_GRANT",
    "ENTRY_RULES",
    "POLL_RULES",
    "SLOW_DOWN_STEP",
    "USER_CODE_ALPHABET",
    "USER_CODE_LENGTH",
    "DeviceAuthorizationContext",
    "DeviceCode",
    "EntryContext",
    "MintedDeviceCode",
    "PollContext",
    "UserCodeRejected",
    "decide_device_authorization",
    "decide_device_poll",
    "decide_user_code_entry",
    "device_authorization_response",
    "device_code_digest",
    "display_user_code",
    "forgotten_before",
    "mint_device_code",
    "new_user_code",
    "normalize_user_code",
    "user_code_digest",
    "verification_uri_complete",
]

_MODULES = {
    "valetkey.core.device.authorization": (
        "AUTHORIZATION_RULES",
        "DeviceAuthorizationContext",
        "decide_device_authorization",
        "device_authorization_response",
        "verification_uri_complete",
    ),
    "valetkey.core.device.codes": (
        "USER_CODE_ALPHABET",
        "USER_CODE_LENGTH",
        "MintedDeviceCode",
        "UserCodeRejected",
        "device_code_digest",
        "display_user_code",
        "forgotten_before",
        "mint_device_code",
        "new_user_code",
        "normalize_user_code",
        "user_code_digest",
    ),
    "valetkey.core.device.entry": (
        "ENTRY_RULES",
        "EntryContext",
        "decide_user_code_entry",
    ),
    "valetkey.core.device.poll": (
        "DEFAULT_INTERVAL",
        "DEVICE_CODE_GRANT",
        "POLL_RULES",
        "SLOW_DOWN_STEP",
        "PollContext",
        "decide_device_poll",
    ),
    "valetkey.core.models": ("DeviceCode",),
}

if not TYPE_CHECKING:
    __getattr__ = exports(globals(), _MODULES)
