"""The demo client's own server-side sessions (cookie ``vkdemo`` on the client's origin)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from valetkey.client import ClientConfig, PendingAuthorization, TokenSet
from valetkey.client.dpop import DPoPSession
from valetkey.core.secrets import new_token

COOKIE = "vkdemo"


@dataclass(frozen=True)
class Pending:
    """One authorization request this browser started: the library's record and our flow id."""

    request: PendingAuthorization
    flow_id: str
    mode: str  # pkce | confidential | insecure | implicit
    client: ClientConfig  # the registration it was made for, with the scope it asked for
    dpop: DPoPSession | None = None  # the key that binds the tokens (RFC 9449), if any

    @property
    def state(self) -> str:
        return self.request.state


@dataclass
class Session:
    sid: str
    csrf: str = field(default_factory=lambda: new_token(16))
    pending: dict[str, Pending] = field(default_factory=dict)
    tokens: TokenSet | None = None
    dpop: DPoPSession | None = None  # the key the tokens are bound to: proofs go with each use
    token_client: str | None = None
    flow_id: str | None = None
    decoded: dict[str, Any] = field(default_factory=dict)
    userinfo: dict[str, Any] | None = None
    last_api: dict[str, Any] | None = None
    message: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)  # attack scenario outcomes
    skip_state_check: bool = False  # INSECURE: only the login CSRF demo sets it


class Sessions:
    def __init__(self, limit: int = 2000) -> None:
        self._items: dict[str, Session] = {}
        self._flows: dict[str, str] = {}  # state -> flow id, for correlating events only
        self._lock = threading.Lock()
        self._limit = limit

    def get(self, sid: str | None) -> Session | None:
        return self._items.get(sid) if sid else None

    def new(self) -> Session:
        session = Session(new_token(24))
        with self._lock:
            if len(self._items) >= self._limit:
                self._items.pop(next(iter(self._items)))
            self._items[session.sid] = session
        return session

    def remember_flow(self, state: str, flow_id: str) -> None:
        with self._lock:
            if len(self._flows) >= self._limit * 4:
                self._flows.pop(next(iter(self._flows)))
            self._flows[state] = flow_id

    def flow_for_state(self, state: str | None) -> str | None:
        return self._flows.get(state) if state else None
