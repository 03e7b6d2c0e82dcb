"""The origins of the registered clients, for CORS (``core.cors``): the server's answer to the
runtime's ``CorsOrigins``. Read through the same short cache as clients, on the server's clock."""

from __future__ import annotations

from starlette.requests import Request

from valetkey.core import cors
from valetkey.core.errors import StorageUnavailable
from valetkey.core.events import Check
from valetkey.server.http import flow_id_of
from valetkey.server.state import CLIENT_CACHE_SECONDS, ServerState


class ClientOrigins:
    def __init__(self, state: ServerState) -> None:
        self.state = state
        self._cached: tuple[float, cors.OriginPolicy] | None = None

    def policy(self) -> cors.OriginPolicy:
        now = self.state.clock.now()
        if self._cached is not None and 0 <= now - self._cached[0] < CLIENT_CACHE_SECONDS:
            return self._cached[1]
        try:
            clients = self.state.store.list_clients()
        except StorageUnavailable:
            if self._cached is None:
                raise
            return self._cached[1]  # during an outage, the origins last read (the 503 is readable)
        uris = [uri for client in clients for uri in client.redirect_uris]
        policy = cors.OriginPolicy.build(uris, self.state.settings.allowed_origins)
        self._cached = (now, policy)
        return policy

    def refused(self, request: Request, reason: str) -> None:
        state = self.state
        if not state.observed:
            return
        state.emit(
            "cors.refused",
            flow_id_of(request),
            channel="back",
            source="browser",
            target="authorization_server",
            summary=f"A browser app's request from another origin was refused ({request.method})",
            checks=(Check(cors.RULE, "fail", cors.SPEC, reason),),
            error="cors_refused",
        )
