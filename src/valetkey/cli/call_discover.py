"""`valetkey call URL` without --token: find the token saved for the URL's resource, or discover
where to get one from the API's 401 (RFC 9728, RFC 8414), register if needed (a client ID
metadata document URL or RFC 7591), sign in with the browser and save the token."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import httpx
from rich.markup import escape

from valetkey.cli.client_browser import browser_grant
from valetkey.cli.client_errors import EXIT_BAD_INPUT, Exit, err
from valetkey.cli.client_setup import Observer, assertion_settings, http_client, observer
from valetkey.client import io
from valetkey.client.config import ClientConfig, auth_method
from valetkey.client.errors import ConfigError
from valetkey.client.registration import (
    LOOPBACK_REDIRECT,
    is_metadata_document_url,
    metadata_document_problem,
    native_client_metadata,
    register,
)
from valetkey.client.resource_discovery import (
    Discovered,
    discover_resource,
    resource_problem,
    token_name_for,
)
from valetkey.client.tokenstore import SavedToken, TokenStore

NO_METADATA_HINT = (
    "the API does not say where to get a token (no resource_metadata in its 401, RFC 9728 §5.1): "
    "get one with `valetkey token get ... --resource URL` and pass --token NAME"
)


def saved_for(url: str, store: TokenStore) -> str | None:
    """The saved token whose resource (RFC 8707) is this URL's, the most specific one first, then
    the newest: a token is only ever sent to the resource it was obtained for (RFC 9728 §3.3)."""
    best: tuple[int, float, str] | None = None
    for name in store.names():
        try:
            saved = store.get(name)
        except ConfigError:  # a damaged entry is reported by `token list`, not here
            continue
        for resource in saved.config.resources:
            rank = (len(urlsplit(resource).path.rstrip("/")), saved.saved_at, name)
            if resource_problem(resource, url) is None and (best is None or rank > best):
                best = rank
    return best[2] if best else None


def _name(store: TokenStore, resource: str) -> tuple[str, SavedToken | None]:
    """The name derived from the resource, and what is saved under it for this resource."""
    base = token_name_for(resource)
    alternate = f"{base[:51]}-{hashlib.sha256(resource.encode()).hexdigest()[:12]}"
    for name in (base, alternate):
        if name not in store.names():
            return name, None
        saved = store.get(name)
        if resource in saved.config.resources:
            return name, saved
    raise Exit(
        EXIT_BAD_INPUT,
        f"the token names {base!r} and {alternate!r} are taken by tokens for other resources",
        f"free one with `valetkey token delete {base}`",
    )


def _named_client(found: Discovered, options: Mapping[str, Any], client_id: str) -> ClientConfig:
    """A client registered beforehand, or a client ID metadata document URL used as given."""
    endpoints = found.endpoints
    if is_metadata_document_url(client_id):
        problem = metadata_document_problem(client_id)
        if problem:
            raise Exit(EXIT_BAD_INPUT, f"--client-id {client_id}: {problem}")
        if endpoints.metadata.get("client_id_metadata_document_supported") is not True:
            err.print(
                f"note: {escape(str(endpoints.issuer))} does not advertise "
                "client_id_metadata_document_supported; using the URL as the client_id anyway"
            )
    return ClientConfig(
        client_id,
        endpoints,
        client_secret=options.get("client_secret") or os.environ.get("VALETKEY_CLIENT_SECRET"),
        auth_method=auth_method(options.get("client_auth")),
        **assertion_settings(options),
    )


def _registered_client(
    found: Discovered, options: Mapping[str, Any], http: httpx.Client, watch: Observer | None
) -> ClientConfig:
    """RFC 7591: register a public native client where the server offers registration."""
    endpoints = found.endpoints
    endpoint = endpoints.metadata.get("registration_endpoint")
    if not isinstance(endpoint, str):
        raise Exit(
            EXIT_BAD_INPUT,
            f"{endpoints.issuer} offers no dynamic client registration (no registration_endpoint "
            "in its metadata, RFC 8414 §2)",
            "give --client-id: a client registered there, or the https URL of your client ID "
            "metadata document",
        )
    redirect = options.get("redirect_uri") or LOOPBACK_REDIRECT
    metadata = native_client_metadata([redirect], scope=options.get("scope") or found.scope)
    token = options.get("initial_access_token")
    registration = io.run(register(endpoint, metadata, initial_access_token=token), http, watch)
    err.print(f"registered as client {registration.client_id!r} at {endpoints.issuer} (RFC 7591)")
    return registration.config(endpoints)


def client_for(
    found: Discovered,
    options: Mapping[str, Any],
    previous: SavedToken | None,
    http: httpx.Client,
    watch: Observer | None,
) -> ClientConfig:
    """--client-id, else the client that got the previous token there (and its scope), else a new
    registration; always with the resource (RFC 8707) and the scope to ask for."""
    client_id = options.get("client_id")
    scope = options.get("scope") or found.scope
    if client_id:
        config = _named_client(found, options, str(client_id))
    elif previous is not None and previous.config.endpoints.issuer == found.endpoints.issuer:
        config = replace(previous.config, endpoints=found.endpoints)
        scope = options.get("scope") or config.scope or found.scope
    else:
        config = _registered_client(found, options, http, watch)
    return replace(config, scope=scope, resources=(found.resource.resource,))


def sign_in_for(
    url: str, response: httpx.Response, options: Mapping[str, Any], verbose: bool
) -> str:
    """Discover, register if needed, run the browser flow with ``resource``; return the token's
    name (saved)."""
    watch = observer(verbose)
    store = TokenStore()
    with http_client() as http:
        found = io.run(discover_resource(url, response, issuer=options.get("issuer")), http, watch)
        resource = found.resource.resource
        name, previous = _name(store, resource)
        config = client_for(found, options, previous, http, watch)
        err.print(
            f"{escape(url)} is protected by {escape(str(config.endpoints.issuer))}: signing in "
            f"for {escape(resource)} as client {escape(config.client_id)!r}"
        )
        values = {
            "grant": "authorization_code",
            "redirect_uri": options.get("redirect_uri"),
            "browser": options.get("browser", True),
            "timeout": options.get("timeout"),
        }
        tokens = browser_grant(config, values, http, watch, name)
    store.put(name, tokens, config, "authorization_code")
    err.print(f"[green]saved token {name!r}[/] for {escape(resource)}; calling again")
    return name
