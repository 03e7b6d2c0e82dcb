"""DPoP at the token endpoint (RFC 9449 §5) and at /par (§10.1): the request's proof, checked by the
core's rules, and the answer to a refused one. The grant handlers bind what they issue to
``proof.jkt``; /par pushes it as ``dpop_jkt``."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from valetkey.core.dpop import (
    ProofRequest,
    VerifiedProof,
    check_not_replayed,
    header_values,
    refusal,
    verify_proof,
)
from valetkey.core.errors import InvalidDPoPProof, OAuthError, UseDPoPNonce
from valetkey.core.events import Check
from valetkey.core.models import Client
from valetkey.core.records import fast_init
from valetkey.server.http import header
from valetkey.server.state import ServerState


@fast_init
@dataclass(frozen=True)
class TokenProof:
    """The verified proof of a token request (None: the request sent no DPoP header)."""

    proof: VerifiedProof | None
    checks: tuple[Check, ...] = ()

    @property
    def jkt(self) -> str | None:
        return self.proof.jkt if self.proof else None


NO_PROOF = TokenProof(None)


def token_endpoint_url(state: ServerState) -> str:
    return f"{state.issuer}/token"  # as published in the metadata: never the request's Host


def token_request_proof(state: ServerState, request: Request, client: Client) -> TokenProof:
    """Verify the request's DPoP proof, if it sent one or its client must (RFC 9449 §5.2's
    ``dpop_bound_access_tokens``); raises Rejected with the checks that ran."""
    if header(request, b"dpop") is None and not client.dpop_bound_access_tokens:
        return NO_PROOF  # the usual Bearer request, told apart without a scan of its headers
    headers = header_values(request.scope["headers"])
    return _verified(state, headers, request.method, token_endpoint_url(state))


def pushed_request_proof(state: ServerState, request: Request, url: str) -> TokenProof:
    """The DPoP proof of a pushed authorization request (RFC 9449 §10.1), checked as at the token
    endpoint, nonce included; its key then binds the code as ``dpop_jkt`` would."""
    headers = header_values(request.scope["headers"])
    if not headers:
        return NO_PROOF
    return _verified(state, headers, request.method, url)


def _verified(state: ServerState, headers: list[str], method: str, url: str) -> TokenProof:
    now = state.clock.now()
    proof = verify_proof(
        ProofRequest(
            headers=headers,
            method=method,
            url=url,
            now=now,
            nonce=state.dpop_nonces,
            at="token_endpoint",
        ),
        state.dpop_policy,
    )
    return TokenProof(proof, check_not_replayed(proof, state.store, now))


def refusal_headers(state: ServerState, error: OAuthError) -> dict[str, str]:
    """``DPoP-Nonce`` (and no-store) for a use_dpop_nonce refusal (RFC 9449 §8)."""
    if not isinstance(error, InvalidDPoPProof | UseDPoPNonce):
        return {}
    return refusal(error, at="token_endpoint", algs=state.dpop_policy.algs)[1]


def success_headers(token_proof: TokenProof) -> dict[str, str]:
    """RFC 9449 §8.2: the nonce to use from now on, when the accepted one is no longer current."""
    proof = token_proof.proof
    return {"DPoP-Nonce": proof.next_nonce} if proof and proof.next_nonce else {}
