"""The validated access token a protected handler receives, and the validator interface."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from valetkey.core.events import Check
from valetkey.core.records import fast_init


@fast_init
@dataclass(frozen=True)
class AccessToken:
    """What a handler may rely on: every field was checked against the authorization server."""

    sub: str
    client_id: str | None
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    issuer: str
    expires_at: float | None
    claims: Mapping[str, Any]
    source: Literal["jwt", "introspection"]
    checks: tuple[Check, ...] = field(default=(), compare=False, repr=False)

    @property
    def has_user(self) -> bool:
        """False for a client-credentials token: RFC 9068 §2.2 sets sub to the client's own id."""
        return self.client_id is None or self.sub != self.client_id

    def has_scopes(self, *needed: str) -> bool:
        return set(needed).issubset(self.scope)


class TokenValidator(Protocol):
    """Turns a bearer token into an :class:`AccessToken` or raises ``core.checks.Rejected``.

    ``Rejected.error`` is ``InvalidToken`` for a bad token and ``TemporarilyUnavailable`` when the
    authorization server cannot be reached to decide.
    """

    async def validate(self, token: str, flow_id: str) -> AccessToken: ...

    async def aclose(self) -> None: ...


def audience_of(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return ()
