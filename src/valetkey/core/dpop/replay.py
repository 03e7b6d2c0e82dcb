"""Single use of a proof's ``jti`` (RFC 9449 §11.1): the interface a store implements.

Proof validation is pure; remembering which proofs were used needs state shared by every server
instance, so the caller passes a :class:`JtiRegistry` (the SQL store in production, the in-memory
one in tests and single-process use) to :func:`check_not_replayed` after :func:`verify_proof`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from valetkey.core.checks import Rejected, Rule, run_rules
from valetkey.core.dpop.proof import VerifiedProof
from valetkey.core.errors import InvalidDPoPProof
from valetkey.core.events import Check
from valetkey.core.records import fast_init


class JtiRegistry(Protocol):
    def seen_before(self, key: str, expires_at: float, now: float) -> bool:
        """Record ``key`` (a :attr:`VerifiedProof.replay_key`, 64 hex characters) until
        ``expires_at``; say whether it was already recorded and has not expired.

        Must be atomic across every instance sharing the registry: of two concurrent calls with
        one key, exactly one returns False (in SQL: one INSERT of the key as primary key, a
        conflict meaning seen, an expired row replaced in the same statement).
        """
        ...


class MemoryJtiRegistry:
    """A JtiRegistry for one process; expired keys are dropped as new ones arrive."""

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()
        self._purge_at = 1024

    def seen_before(self, key: str, expires_at: float, now: float) -> bool:
        with self._lock:
            known = self._expiry.get(key)
            if known is not None and known > now:
                return True
            self._expiry[key] = expires_at
            if len(self._expiry) >= self._purge_at:
                self._expiry = {k: t for k, t in self._expiry.items() if t > now}
                self._purge_at = max(1024, 2 * len(self._expiry))
            return False

    def __len__(self) -> int:
        return len(self._expiry)


@fast_init
@dataclass(frozen=True)
class _Use:
    proof: VerifiedProof
    registry: JtiRegistry
    now: float


def _check_jti_unused(use: _Use) -> None:
    if use.registry.seen_before(use.proof.replay_key, use.proof.expires_at, use.now):
        raise InvalidDPoPProof(
            "this DPoP proof was already used; make a new proof, with a new jti, for every request",
            detail=f"jti {use.proof.jti[:40]!r} replayed at {use.proof.htu[:100]}",
        )


REPLAY_RULE: Rule[_Use] = Rule("check_proof_jti_unused", "RFC 9449 §11.1", _check_jti_unused)


def check_not_replayed(
    proof: VerifiedProof, registry: JtiRegistry, now: float
) -> tuple[Check, ...]:
    """The proof's checks plus this one; raises Rejected (invalid_dpop_proof) for a replay."""
    try:
        done = run_rules((REPLAY_RULE,), _Use(proof, registry, now))
    except Rejected as exc:
        raise Rejected(exc.error, proof.checks + exc.checks) from exc.error
    return proof.checks + done
