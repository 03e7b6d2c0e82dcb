"""DPoP at a protected resource (RFC 9449 §7): the token's binding and the request's proof, checked
by ``core.dpop.check_presentation`` against the URL the client addressed."""

from __future__ import annotations

from dataclasses import dataclass, replace

from starlette.types import Scope

from valetkey.core.bearer import Credentials
from valetkey.core.dpop import (
    DPoPPolicy,
    JtiRegistry,
    NonceSource,
    Presentation,
    check_presentation,
    header_values,
)
from valetkey.resource.token import AccessToken


@dataclass
class TokenBinding:
    policy: DPoPPolicy
    public_url: str | None  # the origin clients address; None: the request's own scheme and Host
    registry: JtiRegistry  # proofs seen: shared by every process serving the resource
    nonces: NonceSource | None = None

    def __post_init__(self) -> None:
        self.public_url = self.public_url.rstrip("/") if self.public_url else None

    def check(
        self, scope: Scope, credentials: Credentials, token: AccessToken, now: float
    ) -> AccessToken:
        """The token with the checks that ran; raises Rejected. A Bearer token passes when it
        is not bound (§7.2); a DPoP token needs a proof of this request by its key (§7.1)."""
        presented = Presentation(
            credentials=credentials,
            proofs=header_values(scope["headers"]),
            method=str(scope.get("method", "GET")),
            url=self.request_url(scope),
            now=now,
        )
        checks = check_presentation(
            presented, token.claims, self.policy, self.registry, self.nonces
        )
        return replace(token, checks=(*token.checks, *checks))

    def request_url(self, scope: Scope) -> str:
        """The URL the client addressed: the configured public origin, else the request's own."""
        path = str(scope.get("root_path", "")) + str(scope["path"])
        if self.public_url:
            return self.public_url + path
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        raw = str(scope.get("scheme") or "http")
        scheme = {"ws": "http", "wss": "https"}.get(raw, raw)
        return f"{scheme}://{host or 'localhost'}{path}"
