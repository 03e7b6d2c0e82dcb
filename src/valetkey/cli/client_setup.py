"""From flags (and a profile) to a :class:`ClientConfig`, discovering endpoints when asked."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from valetkey.cli.client_errors import EXIT_BAD_INPUT, Exit
from valetkey.cli.client_profiles import LIST_KEYS, profile
from valetkey.cli.client_verbose import show_exchange
from valetkey.client import io
from valetkey.client.config import (
    ClientConfig,
    CustomParam,
    Endpoints,
    Target,
    assertion_audience,
    auth_method,
    check_resource,
    check_url,
)
from valetkey.client.discovery import discover
from valetkey.client.dpop import DPoPAuth, DPoPKey, DPoPSession
from valetkey.core.models import PRIVATE_KEY_JWT

Observer = Callable[[httpx.Request, httpx.Response], None]


def resolve(flags: Mapping[str, Any], profile_name: str | None) -> dict[str, Any]:
    """Flags given on the command line win over the profile; list flags replace the profile's."""
    values: dict[str, Any] = profile(profile_name) if profile_name else {}
    for key, value in flags.items():
        if key in LIST_KEYS:
            if value:
                values[key] = list(value)
        elif value is not None:
            values[key] = value
    if not values.get("client_secret") and os.environ.get("VALETKEY_CLIENT_SECRET"):
        values["client_secret"] = os.environ["VALETKEY_CLIENT_SECRET"]
    return values


def observer(verbose: bool) -> Observer | None:
    return show_exchange if verbose else None


def http_client(dpop_key: Mapping[str, Any] | None = None) -> httpx.Client:
    """With a DPoP key (RFC 9449), every request carries a proof and nonce challenges are met."""
    auth = DPoPAuth(DPoPSession(DPoPKey(dpop_key))) if dpop_key else None
    return httpx.Client(timeout=30.0, follow_redirects=False, auth=auth)


def endpoints(values: Mapping[str, Any], http: httpx.Client, watch: Observer | None) -> Endpoints:
    issuer = values.get("issuer")
    flags = {
        "authorization_endpoint": "auth_url",
        "token_endpoint": "token_url",
        "refresh_endpoint": "refresh_url",
        "revocation_endpoint": "revocation_url",
        "jwks_uri": "jwks_uri",
    }
    explicit = {
        field: check_url(values[key], "--" + key.replace("_", "-")) if values.get(key) else None
        for field, key in flags.items()
    }
    if issuer and values.get("discovery", True):
        found = io.run(discover(issuer), http, watch)
        return found.override(**explicit)
    return Endpoints(issuer=issuer).override(**explicit)


def custom_params(values: Mapping[str, Any]) -> tuple[CustomParam, ...]:
    targets: dict[str, Target] = {
        "auth_params": "auth",
        "token_params": "token",
        "refresh_params": "refresh",
    }
    out = []
    for key, target in targets.items():
        for text in values.get(key) or ():
            out.append(CustomParam.parse(target, str(text)))
    return tuple(out)


def client_config(values: Mapping[str, Any], found: Endpoints) -> ClientConfig:
    client_id = values.get("client_id")
    if not client_id:
        raise Exit(EXIT_BAD_INPUT, "--client-id is required (or a --profile that sets it)")
    return ClientConfig(
        client_id=str(client_id),
        endpoints=found,
        client_secret=values.get("client_secret"),
        auth_method=auth_method(values.get("client_auth")),
        scope=values.get("scope"),
        redirect_uri=values.get("redirect_uri"),
        params=custom_params(values),
        resources=tuple(check_resource(str(r)) for r in values.get("resource") or ()),
        **assertion_settings(values),
    )


def assertion_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """private_key_jwt / client_secret_jwt: the key file as an absolute path (saved with the token
    for refresh and revocation), the alg and the aud choice."""
    key = values.get("private_key")
    if key and auth_method(values.get("client_auth")) not in (None, PRIVATE_KEY_JWT):
        raise Exit(EXIT_BAD_INPUT, "--private-key goes with --client-auth private_key_jwt")
    return {
        "private_key": str(Path(str(key)).expanduser().resolve()) if key else None,
        "assertion_alg": values.get("assertion_alg"),
        "assertion_audience": assertion_audience(values.get("assertion_audience")),
    }
