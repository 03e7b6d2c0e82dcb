"""JWT client authentication (RFC 7523 §2.2, §3; OIDC Core §9): private_key_jwt, client_secret_jwt.

Pure: values in, decisions out. The server reads the body with :func:`presented_assertion` (which
client, unverified), loads that client's keys (its ``jwks``, or the document at its ``jwks_uri``
fetched with ``valetkey.server.outbound.fetch_json``) or its secret, calls
:func:`verify_assertion` and then :func:`check_assertion_unused` with a shared
:class:`~valetkey.core.dpop.replay.JtiRegistry`. ``core.client_auth.authenticate`` does all of
this for every method; ``docs/client-auth.md`` describes the integration.
"""

from typing import TYPE_CHECKING

from valetkey.core.lazy import exports

if TYPE_CHECKING:  # the names, for type checkers; at run time each is imported when first read
    from valetkey.core.client_assertion.keys import UnknownAssertionKey
    from valetkey.core.client_assertion.params import (
        ASSERTION_TYPE,
        PresentedAssertion,
        presented_assertion,
    )
    from valetkey.core.client_assertion.policy import (
        CLIENT_SECRET_JWT,
        JWT_METHODS,
        KEY_ALGS,
        PRIVATE_KEY_JWT,
        SECRET_ALGS,
        AssertionPolicy,
    )
    from valetkey.core.client_assertion.rules import ASSERTION_RULES, replay_key
    from valetkey.core.client_assertion.verify import (
        AssertionContext,
        VerifiedAssertion,
        check_assertion_unused,
        verify_assertion,
    )

__all__ = [
    "ASSERTION_RULES",
    "ASSERTION_TYPE",
    "CLIENT_SECRET_JWT",
    "JWT_METHODS",
    "KEY_ALGS",
    "PRIVATE_KEY_JWT",
    "SECRET_ALGS",
    "AssertionContext",
    "AssertionPolicy",
    "PresentedAssertion",
    "UnknownAssertionKey",
    "VerifiedAssertion",
    "check_assertion_unused",
    "presented_assertion",
    "replay_key",
    "verify_assertion",
]

_MODULES = {
    "valetkey.core.client_assertion.keys": ("UnknownAssertionKey",),
    "valetkey.core.client_assertion.params": (
        "ASSERTION_TYPE",
        "PresentedAssertion",
        "presented_assertion",
    ),
    "valetkey.core.client_assertion.policy": (
        "CLIENT_SECRET_JWT",
        "JWT_METHODS",
        "KEY_ALGS",
        "PRIVATE_KEY_JWT",
        "SECRET_ALGS",
        "AssertionPolicy",
    ),
    "valetkey.core.client_assertion.rules": (
        "ASSERTION_RULES",
        "replay_key",
    ),
    "valetkey.core.client_assertion.verify": (
        "AssertionContext",
        "VerifiedAssertion",
        "check_assertion_unused",
        "verify_assertion",
    ),
}

if not TYPE_CHECKING:
    __getattr__ = exports(globals(), _MODULES)
