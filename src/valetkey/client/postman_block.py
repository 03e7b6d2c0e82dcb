"""The pieces of a Postman OAuth 2.0 import: Postman's names, a finding, a block being mapped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from valetkey.client.config import Target
from valetkey.client.postman_vars import VAR, as_text, is_dynamic, resolve
from valetkey.client.profile_lint import StateMode, Usage

Level = Literal["error", "warning", "info"]

# Postman's grant_type -> (valetkey grant, PKCE on?); None: PKCE does not apply.
GRANTS: dict[str, tuple[str, bool | None]] = {
    "authorization_code": ("authorization_code", False),
    "authorization_code_with_pkce": ("authorization_code", True),
    "implicit": ("implicit", None),
    "password_credentials": ("password", None),
    "client_credentials": ("client_credentials", None),
}
SIMPLE = {
    "authUrl": "auth_url",
    "accessTokenUrl": "token_url",
    "refreshTokenUrl": "refresh_url",
    "clientId": "client_id",
    "clientSecret": "client_secret",
    "scope": "scope",
    "username": "username",
}
URLS = ("authUrl", "accessTokenUrl", "refreshTokenUrl")
PARAMS: dict[str, tuple[Target, str]] = {
    "authRequestParams": ("auth", "auth_params"),
    "tokenRequestParams": ("token", "token_params"),
    "refreshRequestParams": ("refresh", "refresh_params"),
}
SEND_AS = {"request_body": "body", "request_url": "query", "request_header": "header"}
# Postman's client_authentication -> the profile's client_auth (a --client-auth name of
# valetkey.client.config.CLIENT_AUTH_CHOICES): the secret in a Basic header, or in the body.
CLIENT_AUTH = {"header": "basic", "body": "body"}
SECRET_KEYS = ("clientSecret", "password", "accessToken", "code_verifier")

_COMMON = {"grant_type", "clientId", "scope", "audience", "resource", "headerPrefix",
           "addTokenTo", "tokenType", "tokenName", "accessToken"}  # fmt: skip
_BROWSER = {"authUrl", "redirect_uri", "useBrowser", "state", "authRequestParams"}
_TOKEN = {"accessTokenUrl", "refreshTokenUrl", "clientSecret", "client_authentication",
          "tokenRequestParams", "refreshRequestParams"}  # fmt: skip
# The keys each grant uses; Postman keeps every grant's fields, the others are reported unused.
USES = {
    "authorization_code": _COMMON | _BROWSER | _TOKEN | {"challengeAlgorithm", "code_verifier"},
    "implicit": _COMMON | _BROWSER,
    "password": _COMMON | _TOKEN | {"username", "password"},
    "client_credentials": _COMMON | _TOKEN,
}


@dataclass(frozen=True)
class Finding:
    """Something in the source that is not kept as it was, and what valetkey does instead."""

    profile: str
    field: str
    value: str
    message: str
    instead: str
    level: Level = "warning"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


_NOT_SECRET = {"tokenName", "tokenType", "addTokenTo", "accessTokenUrl", "refreshTokenUrl",
               *PARAMS}  # fmt: skip
_SECRET_WORDS = ("secret", "password", "token", "assertion", "verifier")


def shown(key: str, value: str) -> str:
    """A value as findings show it: secrets masked (for a custom parameter, by its own name)."""
    name = key.split("[", 1)[1].rstrip("]") if "[" in key else key
    secret = name in SECRET_KEYS or (
        name not in _NOT_SECRET and any(w in name.lower() for w in _SECRET_WORDS)
    )
    return "***" if secret and value else value


@dataclass
class Mapped:
    """The result of mapping one block; ``missing`` maps an unresolved variable to its keys."""

    values: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)
    state: StateMode = "random"
    add_token_to: Literal["header", "query"] = "header"
    callback: str | None = None
    ignored: list[str] = field(default_factory=list)
    ok: bool = True  # False: the block cannot become a profile

    @property
    def usage(self) -> Usage:
        return Usage(self.add_token_to, self.state, self.callback, tuple(self.ignored))

    def report(self, key: str, value: str, message: str, instead: str, level: Level) -> None:
        self.findings.append(Finding("", key, shown(key, value), message, instead, level))


class Block:
    """One auth block being mapped: its attributes, its variables and what came out so far."""

    def __init__(self, attrs: Mapping[str, Any], scope: Mapping[str, str]) -> None:
        self.attrs, self.scope, self.out = attrs, scope, Mapped()

    def text(self, key: str, raw: Any = None) -> str | None:
        """The value with variables resolved; None when it uses a dynamic variable (reported)."""
        value = as_text(self.attrs.get(key) if raw is None else raw)
        dynamic = [m.group(1).strip() for m in VAR.finditer(value) if is_dynamic(m.group(1))]
        if dynamic:
            self.out.report(
                key, value, f"uses Postman's dynamic variable {{{{{dynamic[0]}}}}}, a new value "
                "on every request", "not imported: give a fixed value in the profile", "warning",
            )  # fmt: skip
            return None
        resolved, missing = resolve(value, self.scope)
        for name in missing:
            self.out.missing.setdefault(name, []).append(key)
        return resolved

    def set(self, key: str, value: Any) -> None:
        self.out.values[key] = value
