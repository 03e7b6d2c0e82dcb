"""DPoP (RFC 9449): checking proofs, server nonces, single use of ``jti``, and the answers.

Pure: values in, decisions out. The server, the resource server and the store call these; how they
do so is described in ``docs/dpop.md``.
"""

from valetkey.core.dpop.answers import challenge, refusal
from valetkey.core.dpop.htu import normalize as normalize_htu
from valetkey.core.dpop.nonces import DPoPNonces, FixedNonce, NonceSource
from valetkey.core.dpop.proof import (
    DEFAULT_ALGS,
    PROOF_RULES,
    DPoPPolicy,
    Location,
    ProofRequest,
    VerifiedProof,
    header_values,
    replay_key,
    verify_proof,
)
from valetkey.core.dpop.replay import JtiRegistry, MemoryJtiRegistry, check_not_replayed
from valetkey.core.dpop.resource import Presentation, bound_jkt, check_presentation

__all__ = [
    "DEFAULT_ALGS",
    "PROOF_RULES",
    "DPoPNonces",
    "DPoPPolicy",
    "FixedNonce",
    "JtiRegistry",
    "Location",
    "MemoryJtiRegistry",
    "NonceSource",
    "Presentation",
    "ProofRequest",
    "VerifiedProof",
    "bound_jkt",
    "challenge",
    "check_not_replayed",
    "check_presentation",
    "header_values",
    "normalize_htu",
    "refusal",
    "replay_key",
    "verify_proof",
]
