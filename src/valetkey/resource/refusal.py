"""The resource server's refusal as an ASGI response; what it says is decided in core.bearer."""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.types import Send

from valetkey.core.bearer import NoCredentials, Scheme, refusal
from valetkey.core.errors import OAuthError


class Refusal(Exception):
    """A refused request: no credentials, malformed ones, a bad token or too few scopes."""

    def __init__(
        self,
        refused: OAuthError | NoCredentials,
        realm: str | None,
        scope: Sequence[str] = (),
        resource_metadata: str | None = None,
        dpop_algs: Sequence[str] = (),
        scheme: Scheme = "bearer",
    ) -> None:
        super().__init__(refused.description)
        self.refused, self.realm, self.scope = refused, realm, tuple(scope)
        self.resource_metadata = resource_metadata  # RFC 9728 §5.1: named in the challenge
        self.dpop_algs, self.scheme = tuple(dpop_algs), scheme  # RFC 9449 §7.1

    @property
    def error(self) -> OAuthError | None:
        return self.refused if isinstance(self.refused, OAuthError) else None

    @property
    def error_code(self) -> str:
        return self.error.error if self.error else "no_credentials"

    def parts(self) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        answer = refusal(
            self.refused,
            realm=self.realm,
            scope=self.scope,
            resource_metadata=self.resource_metadata,
            dpop_algs=self.dpop_algs,
            scheme=self.scheme,
        )
        body = json.dumps(answer.body, separators=(",", ":")).encode("utf-8")
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        headers += [(k.lower().encode(), v.encode("latin-1")) for k, v in answer.headers.items()]
        return answer.status, headers, body

    async def send(self, send: Send) -> None:
        status, headers, body = self.parts()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
