"""A token response, kept with absolute times so it can be saved and checked for expiry later."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from valetkey.core.events import Check

_KNOWN = ("access_token", "token_type", "expires_in", "refresh_token", "scope", "id_token")


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    token_type: str = "Bearer"
    expires_at: float | None = None
    refresh_token: str | None = None
    scope: str | None = None
    id_token: str | None = None
    obtained_at: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)
    # The checks the client ran on this token response (the ID token's); not saved.
    checks: tuple[Check, ...] = field(default=(), compare=False)

    @classmethod
    def from_response(
        cls, body: Mapping[str, Any], now: float, requested_scope: str | None = None
    ) -> TokenSet:
        expires_in = body.get("expires_in")
        try:
            expires_at = now + float(expires_in) if expires_in is not None else None
        except (TypeError, ValueError):
            expires_at = None
        # RFC 6749 §5.1: an absent scope means the scope requested was granted.
        scope = body.get("scope") if body.get("scope") is not None else requested_scope
        return cls(
            access_token=str(body["access_token"]),
            token_type=str(body.get("token_type") or "Bearer"),
            expires_at=expires_at,
            refresh_token=body.get("refresh_token"),
            scope=scope,
            id_token=body.get("id_token"),
            obtained_at=now,
            extra={k: v for k, v in body.items() if k not in _KNOWN},
        )

    def expires_within(self, seconds: float, now: float) -> bool:
        return self.expires_at is not None and self.expires_at - seconds <= now

    def refreshed(self, new: TokenSet) -> TokenSet:
        """RFC 6749 §6: keep the old refresh token (and ID token) when the server sends none."""
        return replace(
            new,
            refresh_token=new.refresh_token or self.refresh_token,
            id_token=new.id_token or self.id_token,
            scope=new.scope or self.scope,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_at": self.expires_at,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
            "id_token": self.id_token,
            "obtained_at": self.obtained_at,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenSet:
        return cls(
            access_token=str(data["access_token"]),
            token_type=str(data.get("token_type") or "Bearer"),
            expires_at=data.get("expires_at"),
            refresh_token=data.get("refresh_token"),
            scope=data.get("scope"),
            id_token=data.get("id_token"),
            obtained_at=float(data.get("obtained_at") or 0.0),
            extra=dict(data.get("extra") or {}),
        )
