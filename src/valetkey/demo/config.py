"""What the demo client app needs to know: where the servers are and its registered clients."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ClientRegistration:
    client_id: str
    secret: str | None = None  # None: a public client
    pkce: bool = True
    insecure: str | None = None  # why this registration is only allowed in the insecure demo


@dataclass(frozen=True)
class DemoClientConfig:
    base_url: str  # this app's own origin, e.g. http://localhost:9002
    issuer: str  # the authorization server
    resource_url: str  # the demo API
    inspector_url: str | None = None
    public: ClientRegistration = ClientRegistration("demo-spa")
    confidential: ClientRegistration = ClientRegistration(
        "demo-web", "demo-web-secret-change-me-0123456789abcdef", pkce=False
    )
    public_no_pkce: ClientRegistration | None = None
    service: ClientRegistration = ClientRegistration(
        "demo-service", "demo-service-secret-change-me-0123456789abcdef"
    )
    legacy: ClientRegistration | None = None  # the deprecated password grant, where enabled
    implicit: ClientRegistration | None = None  # the deprecated implicit grant, where enabled
    victim: tuple[str, str] = ("demo", "valetkey-demo")
    attacker: tuple[str, str] = ("mallory", "mallory-attacker")
    insecure: bool = False  # the server runs with [demo] insecure = true
    api_paths: tuple[tuple[str, str, str], ...] = field(
        default=(
            ("GET", "/api/profile", "read:profile"),
            ("GET", "/api/files", "read:files"),
            ("POST", "/api/files", "write:files"),
        )
    )

    @property
    def redirect_uri(self) -> str:
        return self.base_url.rstrip("/") + "/callback"

    @property
    def implicit_redirect_uri(self) -> str:
        return self.base_url.rstrip("/") + "/implicit"

    def registration(self, mode: str) -> ClientRegistration:
        if mode == "confidential":
            return self.confidential
        if mode == "insecure" and self.public_no_pkce is not None:
            return self.public_no_pkce
        if mode == "implicit" and self.implicit is not None:
            return self.implicit
        return self.public

    def registration_for(self, client_id: str | None) -> ClientRegistration | None:
        """The registration whose tokens these are (to refresh them as that client)."""
        for reg in (
            self.legacy,
            self.public,
            self.confidential,
            self.public_no_pkce,
            self.service,
            self.implicit,
        ):
            if reg is not None and reg.client_id == client_id:
                return reg
        return None
