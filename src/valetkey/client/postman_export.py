"""A valetkey profile -> a Postman collection v2.1 with one request carrying its OAuth 2.0 block.

The inverse of :mod:`valetkey.client.postman` for every setting Postman has a field for: importing
the export gives the profile back. What Postman cannot hold is reported as a :class:`Finding`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from valetkey.client.config import AUTH_ALIASES, CustomParam, Target
from valetkey.client.errors import ConfigError
from valetkey.client.postman import SCHEMA_V21
from valetkey.client.postman_block import (
    CLIENT_AUTH,
    GRANTS,
    PARAMS,
    SEND_AS,
    SIMPLE,
    Finding,
    shown,
)
from valetkey.client.resource_fold import spread_resources
from valetkey.core.models import PUBLIC_AUTH

_PLACE = {place: send_as for send_as, place in SEND_AS.items()}
# The profile's method, by its full name -> Postman's client_authentication.
_AUTH = {AUTH_ALIASES[method]: how for how, method in CLIENT_AUTH.items()}
_NO_FIELD = {
    "issuer": "no issuer field: the endpoints are written out instead of discovered, and ID "
    "tokens are not checked against it",
    "discovery": "no discovery in Postman",
    "revocation_url": "Postman does not revoke tokens",
    "jwks_uri": "Postman does not verify ID token signatures",
    "timeout": "no timeout for the browser sign-in in Postman",
    "password": "a user's password stays out of a file meant to be shared",
}
_WRITTEN = {*SIMPLE.values(), "grant", "pkce", "pkce_method", "code_verifier", "redirect_uri",
            "state", "client_auth", "browser", "auth_params", "token_params", "refresh_params",
            "resource"}  # fmt: skip


def _grant_type(values: Mapping[str, Any]) -> str:
    grant = values.get("grant") or "authorization_code"
    if grant == "authorization_code":
        pkce = values.get("pkce", True) is not False
        return "authorization_code_with_pkce" if pkce else "authorization_code"
    for postman, (ours, _pkce) in GRANTS.items():
        if ours == grant:
            return postman
    raise ConfigError(f"grant {grant!r} has no Postman equivalent")


def _params(values: Mapping[str, Any], grant: str) -> dict[str, list[dict[str, Any]]]:
    texts = {key: list(values.get(key) or ()) for key in ("auth_params", "token_params",
                                                           "refresh_params")}  # fmt: skip
    for key, extra in spread_resources(grant, values.get("resource") or ()).items():
        texts[key] += extra
    out: dict[str, list[dict[str, Any]]] = {}
    for postman_key, (target, profile_key) in PARAMS.items():
        entries = [_entry(target, str(text)) for text in texts[profile_key]]
        if entries:
            out[postman_key] = entries
    return out


def _entry(target: Target, text: str) -> dict[str, Any]:
    param = CustomParam.parse(target, text)
    return {"key": param.key, "value": param.value, "enabled": True,
            "send_as": _PLACE[param.placement]}  # fmt: skip


def _attributes(name: str, values: Mapping[str, Any], findings: list[Finding]) -> list[Any]:
    grant_type = _grant_type(values)
    grant = GRANTS[grant_type][0]
    attrs: list[tuple[str, Any]] = [("grant_type", grant_type)]
    attrs += [(key, values[ours]) for key, ours in SIMPLE.items() if values.get(ours)]
    if values.get("redirect_uri"):
        attrs.append(("redirect_uri", values["redirect_uri"]))
    if values.get("state"):
        attrs.append(("state", values["state"]))
    if grant_type == "authorization_code_with_pkce":
        attrs.append(("challengeAlgorithm", values.get("pkce_method") or "S256"))
        if values.get("code_verifier"):
            attrs.append(("code_verifier", values["code_verifier"]))
    attrs += _client_authentication(name, values, findings)
    if values.get("browser") is True:
        attrs.append(("useBrowser", True))
    elif values.get("browser") is False:
        findings.append(Finding(name, "browser", "false", "Postman cannot print the sign-in URL "
                                "instead of opening a window", "not written", "warning"))  # fmt: skip
    attrs += list(_params(values, grant).items())
    attrs += [("addTokenTo", "header"), ("tokenName", name)]
    return [{"key": k, "value": v, "type": _type(v)} for k, v in attrs]


def _client_authentication(
    name: str, values: Mapping[str, Any], findings: list[Finding]
) -> list[tuple[str, Any]]:
    """Postman: the secret in a Basic header or in the body; no secret: client_id in the body."""
    method = values.get("client_auth")
    full = None if method is None else AUTH_ALIASES.get(str(method))  # any name a profile takes
    secret = bool(values.get("client_secret"))
    if not secret and (method is None or full == PUBLIC_AUTH):
        return [("client_authentication", "body")]  # client_id in the body: a public client
    if secret and (method is None or full in _AUTH):
        return [("client_authentication", _AUTH[full or AUTH_ALIASES[CLIENT_AUTH["header"]]])]
    fallback = "header" if secret else "body"
    findings.append(Finding(name, "client_auth", str(method), "Postman authenticates a client "
                            "with a secret in a Basic header or in the body, nothing else",
                            f"written as {fallback}", "warning"))  # fmt: skip
    return [("client_authentication", fallback)]


def _type(value: Any) -> str:
    return "boolean" if isinstance(value, bool) else "any" if isinstance(value, list) else "string"


def export_collection(name: str, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    """The collection, and what it could not hold."""
    findings = [
        Finding(name, key, shown(key, str(values[key])), why, "not written", "warning")
        for key, why in _NO_FIELD.items()
        if values.get(key) not in (None, "", [])
    ]
    findings += [
        Finding(name, key, shown(key, str(values[key])), "no Postman field for it",
                "not written", "warning")
        for key in values
        if key not in _WRITTEN and key not in _NO_FIELD
    ]  # fmt: skip
    auth = {"type": "oauth2", "oauth2": _attributes(name, values, findings)}
    resources = list(values.get("resource") or ())
    request: dict[str, Any] = {
        "method": "GET",
        "header": [],
        "url": resources[0] if resources else "{{baseUrl}}",
        "auth": auth,
    }
    collection: dict[str, Any] = {
        "info": {
            "name": name,
            "description": f"OAuth 2.0 settings of the valetkey profile {name!r}.",
            "schema": SCHEMA_V21,
        },
        "item": [{"name": "API call", "request": request}],
    }
    if not resources:
        collection["variable"] = [{"key": "baseUrl", "value": "", "type": "string"}]
    return collection, findings
