"""How a refused DPoP request is answered (RFC 9449 §5, §7.1, §8, §9): status and headers.

The token endpoint answers 400 with the RFC 6749 §5.2 JSON body; a resource answers 401 with a
``WWW-Authenticate: DPoP`` challenge naming the accepted ``algs``. A ``use_dpop_nonce`` refusal
carries the nonce to send in ``DPoP-Nonce`` either way.
"""

from __future__ import annotations

from collections.abc import Sequence

from valetkey.core.challenge import dpop_challenge
from valetkey.core.dpop.proof import Location
from valetkey.core.errors import OAuthError, UseDPoPNonce

# RFC 9449 §7.1 / RFC 6750 §3.1: the errors a resource answers with 401 and a challenge.
_CHALLENGED = frozenset({"invalid_token", "invalid_dpop_proof", "use_dpop_nonce"})


def challenge(
    algs: Sequence[str],
    error: OAuthError | None = None,
    *,
    realm: str | None = None,
    scope: Sequence[str] = (),
) -> str:
    """The ``WWW-Authenticate`` value of the DPoP scheme (RFC 9449 §7.1): written where Bearer's
    is, :func:`valetkey.core.challenge.dpop_challenge`."""
    return dpop_challenge(algs, error, realm=realm, scope=scope)


def refusal(
    error: OAuthError,
    *,
    at: Location,
    algs: Sequence[str],
    realm: str | None = None,
) -> tuple[int, dict[str, str]]:
    """The status and headers answering ``error`` (the body is the error's usual JSON)."""
    headers: dict[str, str] = {}
    status = error.status
    if isinstance(error, UseDPoPNonce):
        headers["DPoP-Nonce"] = error.nonce
        headers["Cache-Control"] = "no-store"  # RFC 9449 §8.2: a nonce is never served from cache
    if at == "resource":
        if error.error in _CHALLENGED:
            status = 401
        headers["WWW-Authenticate"] = challenge(algs, error, realm=realm)
    return status, headers
