"""The server under audit, as the audit's client sees it: its metadata, authorization requests
sent through a :class:`~valetkey.audit.navigate.Navigator`, and token requests with the client's
own authentication. Experiments several checks read (one normal flow, a code replay, a refresh
reuse) run once and are remembered."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx

from valetkey.audit.model import Unavailable
from valetkey.audit.navigate import Landing, Navigator
from valetkey.client import Endpoints, basic_credentials, discover, run
from valetkey.core import pkce

T = TypeVar("T")


@dataclass(frozen=True)
class AuditConfig:
    issuer: str
    client_id: str
    redirect_uri: str
    client_secret: str | None = None
    client_auth: Literal["basic", "post"] = "basic"
    scope: str | None = None
    auth_params: tuple[tuple[str, str], ...] = ()  # added to every authorization request
    code_wait: float = 0.0  # seconds to hold a code before redeeming it; 0 skips that check

    @property
    def public(self) -> bool:
        return self.client_secret is None


@dataclass(frozen=True)
class Grant:
    """A code the server issued, with the verifier that goes with it."""

    code: str
    verifier: str | None
    landing: Landing
    state: str


@dataclass
class Target:
    config: AuditConfig
    http: httpx.Client
    navigate: Navigator
    endpoints: Endpoints = field(default_factory=Endpoints)
    _memo: dict[str, Any] = field(default_factory=dict)

    def discover(self) -> Endpoints:
        self.endpoints = run(discover(self.config.issuer), self.http)
        return self.endpoints

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self.endpoints.metadata

    def memo(self, key: str, make: Callable[[], T]) -> T:
        """``make()`` once per audit; a failure is remembered too and raised again."""
        if key not in self._memo:
            try:
                self._memo[key] = (True, make())
            except Unavailable as exc:
                self._memo[key] = (False, exc)
        ok, value = self._memo[key]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    # The front channel

    def auth_url(self, **params: str | None) -> str:
        """An authorization URL: the usual parameters, ``params`` overriding them (None drops)."""
        endpoint = self.endpoints.authorization_endpoint
        if not endpoint:
            raise Unavailable("the metadata names no authorization_endpoint")
        base: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_uri,
            "state": secrets.token_urlsafe(16),
            "scope": self.config.scope,
        }
        base |= dict(self.config.auth_params)
        base |= params
        query = urlencode([(k, v) for k, v in base.items() if v is not None])
        return endpoint + ("&" if urlsplit(endpoint).query else "?") + query

    def authorize(self, **params: str | None) -> Landing:
        redirect = params.get("redirect_uri", self.config.redirect_uri) or self.config.redirect_uri
        return self.navigate(self.auth_url(**params), redirect)

    def code(self, method: str | None = "S256", **params: str | None) -> Grant:
        """Sign in and consent for a code; Unavailable when the server gives none."""
        verifier = pkce.new_verifier() if method else None
        state = params.pop("state", None) or secrets.token_urlsafe(16)
        if verifier and method:
            params |= {"code_challenge": pkce.challenge_for(verifier, method),
                       "code_challenge_method": method}  # fmt: skip
        landing = self.authorize(state=state, **params)
        code = landing.params.get("code")
        if not code:
            raise Unavailable(f"no authorization code: {landing.describe()}")
        return Grant(code, verifier, landing, state)

    # The back channel

    def token(
        self, form: Mapping[str, str], *, as_client: tuple[str, str | None] | None = None
    ) -> httpx.Response:
        """POST ``form`` to the token endpoint, authenticated as the audit's client (or as
        ``as_client``: an id and secret, sent the same way)."""
        url = self.endpoints.token_endpoint
        if not url:
            raise Unavailable("the metadata names no token_endpoint")
        data, headers = dict(form), {"Accept": "application/json"}
        client_id, secret = as_client or (self.config.client_id, self.config.client_secret)
        if secret is None:
            data["client_id"] = client_id
        elif self.config.client_auth == "post":
            data |= {"client_id": client_id, "client_secret": secret}
        else:
            headers["Authorization"] = basic_credentials(client_id, secret)
        return self.http.post(url, data=data, headers=headers)

    def exchange(self, grant: Grant, verifier: str | None = "") -> httpx.Response:
        """Redeem ``grant``'s code with its own verifier (or ``verifier``; None sends none)."""
        form = {"grant_type": "authorization_code", "code": grant.code,
                "redirect_uri": self.config.redirect_uri}  # fmt: skip
        sent = grant.verifier if verifier == "" else verifier
        if sent:
            form["code_verifier"] = sent
        return self.token(form)

    def refresh(self, refresh_token: str) -> httpx.Response:
        return self.token({"grant_type": "refresh_token", "refresh_token": refresh_token})


def body(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a response, or {} (with what came instead under "_raw")."""
    try:
        value = response.json()
    except ValueError:
        return {"_raw": response.text[:200]}
    return value if isinstance(value, dict) else {"_raw": response.text[:200]}


def summary(response: httpx.Response) -> str:
    """``400 {"error": "invalid_grant", ...}``: status and the start of the body, secrets cut."""
    data = body(response)
    shown = {k: (v[:12] + "..." if k.endswith("token") and isinstance(v, str) else v)
             for k, v in data.items()}  # fmt: skip
    return f"{response.status_code} {shown}"[:300]
