"""The first step of each recorded flow (what the client decided before it sent anything: a
browser grant, a grant without a browser, a refresh), and an API call made with a token, as :class:`~valetkey.client.record.FlowRecord` events."""

from __future__ import annotations

from typing import Any

import httpx

from valetkey.client.authorize import PendingAuthorization
from valetkey.client.record_http import exchange
from valetkey.client.tokens import TokenSet
from valetkey.core.jose import TokenInvalid, unverified_parts

STARTS = {
    "client_credentials": ("client_credentials.started", "client", "client", "local"),
    "legacy": ("password.collected", "user", "client", "front"),
}


def decoded(tokens: TokenSet) -> dict[str, Any]:
    """Header and claims of the JWTs received (no signature, so never a usable token)."""
    out: dict[str, Any] = {}
    for name, token in (("access_token", tokens.access_token), ("id_token", tokens.id_token)):
        if token:
            try:
                header, claims = unverified_parts(token)
            except TokenInvalid:
                out[name] = {"opaque": True}
            else:
                out[name] = {"header": header, "claims": claims}
    return out


def kind_of(pending: PendingAuthorization) -> str:
    """The canonical flow a browser grant follows, by what the request carries."""
    if pending.response_type == "token":
        return "implicit"
    if pending.nonce:
        return "oidc"
    return "pkce" if pending.code_challenge else "confidential"


class Steps:
    """Mixed into the record: the steps a caller tells of."""

    kind: str

    def add(
        self, name: str, source: Any, target: Any, channel: Any, summary: str, **more: Any
    ) -> None:
        raise NotImplementedError

    def started(self, pending: PendingAuthorization, scope: str | None) -> None:
        self.kind = kind_of(pending)
        data = {
            "kind": self.kind,
            "scope": scope,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": pending.code_challenge,
            "code_challenge_method": pending.code_challenge_method,
            "code_verifier": "(kept by the client, sent only to the token endpoint)"
            if pending.code_verifier
            else None,
        }
        made = ["state"] + ["nonce"] * bool(pending.nonce)
        if pending.code_verifier:
            made.insert(0, f"code_verifier + code_challenge ({pending.code_challenge_method})")
        summary = "The client makes " + ", ".join(made)
        self.add("login.clicked", "user", "client", "front", summary,
                 checks=pending.checks, data=data)  # fmt: skip

    def grant_started(self, scope: str | None) -> None:
        """Step 1 of a grant without a browser (client credentials, password)."""
        name, source, target, channel = STARTS[self.kind]
        summary = (
            f"The client asks for a token ({self.kind.replace('_', ' ')}), scope {scope or '-'}"
        )
        self.add(name, source, target, channel, summary, data={"kind": self.kind, "scope": scope})

    def refresh_started(self, name: str, scope: str | None) -> None:
        """Step 1 of a refresh: the client decides to use the refresh token it saved."""
        self.kind = "refresh"
        summary = f"The client uses the refresh token of {name!r} (scope {scope or '-'})"
        self.add("refresh.started", "client", "client", "local", summary,
                 data={"kind": "refresh", "scope": scope})  # fmt: skip

    def api_call(self, request: httpx.Request, response: httpx.Response) -> None:
        """A call with the token: the resource server's answer as the client received it."""
        ok = response.status_code < 400
        name = "resource_request.authenticated" if ok else "resource_request.rejected"
        challenge = response.headers.get("www-authenticate")
        summary = f"{request.method} {request.url.path}: {response.status_code}"
        self.add(name, "client", "resource_server", "back",
                 summary + (f" ({challenge[:120]})" if challenge else ""),
                 http=exchange(request, response),
                 error=None if ok else f"HTTP {response.status_code}",
                 data={"kind": "call"})  # fmt: skip
