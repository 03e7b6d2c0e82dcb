"""A user's password checked through the hashing gate, and its hash upgraded once it verifies.

Used by the sign-in form and the password grant. The Argon2 work runs on the gate's threads
(``hashing_gate``): when no slot frees up in time, ``HashingBusy`` propagates and the runtime
answers 503 with ``Retry-After``. When the password is right and its stored hash was made with
other parameters than the configured ones, the same computation also made a hash with the current
parameters, and it replaces the stored one (only if that is still the hash that was checked).
"""

from __future__ import annotations

import logging

from argon2 import extract_parameters
from argon2.exceptions import InvalidHashError

from valetkey.core.errors import HashingBusy, StorageUnavailable
from valetkey.core.events import Actor, Channel, Check
from valetkey.core.models import User
from valetkey.server.state import ServerState

log = logging.getLogger("valetkey.server")

SPEC = "RFC 9106 §4, OWASP Password Storage Cheat Sheet"


async def check_password(
    state: ServerState,
    user: User | None,
    password: str,
    flow_id: str,
    *,
    channel: Channel = "front",
    source: Actor = "user",
) -> bool:
    """True when ``user`` exists and ``password`` is theirs; as much work when they do not."""
    stored = user.password_hash if user else None
    try:
        verdict = await state.gate.run(state.passwords.check, password, stored)
    except HashingBusy as exc:
        state.emit(
            "password.deferred",
            flow_id,
            channel=channel,
            source=source,
            target="authorization_server",
            summary="Too many password checks at once: the client is asked to retry later",
            checks=(Check(exc.rule, "fail", exc.spec, exc.detail),),
            error=exc.error,
            data={"retry_after": exc.retry_after},
        )
        raise
    if user is None or not verdict.ok:
        return False
    if verdict.upgraded is not None and user.password_hash is not None:
        _upgrade(state, user, user.password_hash, verdict.upgraded, flow_id, channel)
    return True


def _upgrade(
    state: ServerState, user: User, old: str, new: str, flow_id: str, channel: Channel
) -> None:
    try:
        replaced = state.store.update_password_hash(user.sub, old, new)
    except StorageUnavailable as exc:  # the sign-in goes on; the next one tries again
        log.warning("password hash of a user not upgraded: %s", exc.detail)
        return
    if replaced:
        state.emit(
            "password.rehashed",
            flow_id,
            channel=channel,
            source="authorization_server",
            target="authorization_server",
            summary=f"{user.username}'s password hash upgraded to the configured parameters",
            checks=(Check("password_hash_parameters", "pass", SPEC, describe(new)),),
            data={"from": describe(old), "to": describe(new)},
        )


def describe(password_hash: str) -> str:
    """A hash's algorithm and cost, e.g. ``argon2id m=7168 t=5 p=1`` (nothing secret)."""
    try:
        p = extract_parameters(password_hash)
    except (InvalidHashError, ValueError):
        return "unrecognised"
    return f"argon2{p.type.name.lower()} m={p.memory_cost} t={p.time_cost} p={p.parallelism}"
