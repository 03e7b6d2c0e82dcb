"""`valetkey token get`: every grant Postman's "Get New Access Token" offers, from a terminal."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import click

from valetkey.cli.client_browser import browser_grant
from valetkey.cli.client_errors import EXIT_BAD_INPUT, Exit, err, handles_errors
from valetkey.cli.client_profiles import save_profile
from valetkey.cli.client_setup import (
    client_config,
    endpoints,
    http_client,
    observer,
    resolve,
)
from valetkey.cli.device_grant import device_grant
from valetkey.cli.inspect_flow import Inspection, chain, inspect_options, inspecting, recorded
from valetkey.cli.token_display import summary
from valetkey.client import grants, io
from valetkey.client.config import CLIENT_AUTH_CHOICES, ClientConfig, CustomParam
from valetkey.client.dpop import DPoPAuth, DPoPKey, DPoPSession
from valetkey.client.errors import SecurityCheckFailed
from valetkey.client.record import FlowRecord
from valetkey.client.tokens import TokenSet
from valetkey.client.tokenstore import TokenStore, check_name
from valetkey.core.device import DEVICE_CODE_GRANT

GRANT_CHOICES = ("authorization_code", "implicit", "password", "client_credentials", "device_code")
GRANT_ALIASES = {
    "code": "authorization_code",
    "pkce": "authorization_code",
    "cc": "client_credentials",
    "device": "device_code",
    DEVICE_CODE_GRANT: "device_code",
}
# The grants --inspect draws, with the canonical flow each starts as (a browser grant's is
# decided by its request: PKCE, OpenID Connect, implicit).
INSPECTED = {
    "authorization_code": "pkce",
    "implicit": "implicit",
    "password": "legacy",
    "client_credentials": "client_credentials",
    "device_code": "device",
}
PARAM_HELP = "[body:|query:|header:]KEY=VALUE; repeat the option to add more (same key = array)."


def _options(func: Any) -> Any:
    opts = [
        click.option("--profile", "-p", help="Use a saved profile (flags given here win)."),
        click.option("--save-profile", "save_as", help="Save this command's settings as a profile."),
        click.option("--name", "-n", "token_name", help="Token name in the store (default: profile or 'default')."),
        click.option("--grant", "-g", help="authorization_code (default), implicit, password, client_credentials, device_code."),
        click.option("--issuer", help="Issuer URL: discover the endpoints (RFC 8414, then OpenID)."),
        click.option("--no-discovery", "discovery", flag_value=False, default=None, help="Use --issuer only to check iss and ID tokens."),
        click.option("--auth-url", help="Authorization endpoint (Postman: Auth URL)."),
        click.option("--token-url", help="Token endpoint (Postman: Access Token URL)."),
        click.option("--refresh-url", help="Refresh endpoint (default: the token endpoint)."),
        click.option("--revocation-url", help="Revocation endpoint (RFC 7009)."),
        click.option("--jwks-uri", help="JWK Set URL to verify ID tokens (discovered with --issuer)."),
        click.option("--client-id", help="Client ID."),
        click.option("--client-secret", help="Client secret (or VALETKEY_CLIENT_SECRET)."),
        click.option("--client-auth", type=click.Choice(list(CLIENT_AUTH_CHOICES)), help="Client authentication: basic header (default with a secret), body, none, private_key_jwt (default with --private-key), client_secret_jwt (RFC 7523)."),
        click.option("--private-key", help="private_key_jwt: the client's private key, a PEM (RSA, EC, Ed25519) or JWK file."),
        click.option("--assertion-alg", help="private_key_jwt / client_secret_jwt: the JWS alg (default: the key's, or HS256)."),
        click.option("--assertion-audience", help="Client assertion aud: endpoint (default: the URL called), issuer, token_endpoint, or a URL."),
        click.option("--scope", "-s", help="Space-separated scopes."),
        click.option("--resource", multiple=True, help="Resource indicator (RFC 8707): the API the token is for; repeatable, kept for refresh."),
        click.option("--state", help="State value (default: a random one; always checked)."),
        click.option("--redirect-uri", help="Loopback callback (default http://127.0.0.1:<free port>/callback)."),
        click.option("--pkce/--no-pkce", default=None, help="PKCE for the authorization code grant (default on)."),
        click.option("--pkce-method", type=click.Choice(["S256", "plain"]), help="Code challenge method (default S256)."),
        click.option("--code-verifier", help="Your own 43-128 character code verifier."),
        click.option("--username", "-u", help="Password grant: username."),
        click.option("--password", help="Password grant: password (prompted when omitted; or VALETKEY_PASSWORD)."),
        click.option("--browser/--no-browser", default=None, help="Open the system browser (default), or print the URL."),
        click.option("--timeout", type=click.FloatRange(1, 3600), help="Seconds to wait for the browser (default 300)."),
        click.option("--device-authorization-url", help="Device grant: device authorization endpoint (discovered with --issuer)."),
        click.option("--qr/--no-qr", default=None, help="Device grant: print a QR code of the link (default: when stderr is a terminal)."),
        click.option("--auth-param", "auth_params", multiple=True, help="Authorization request parameter (query only). " + PARAM_HELP),
        click.option("--token-param", "token_params", multiple=True, help="Token request parameter (default body). " + PARAM_HELP),
        click.option("--refresh-param", "refresh_params", multiple=True, help="Refresh request parameter (default body). " + PARAM_HELP),
        click.option("--par/--no-par", default=None, help="Push the authorization request first (RFC 9126); the browser gets only client_id and request_uri."),
        click.option("--dpop/--no-dpop", default=None, help="Bind the token to a new DPoP key (RFC 9449), kept with the token for refresh and call."),
        click.option("--verbose", "-v", is_flag=True, help="Show each HTTP exchange (secrets redacted)."),
        click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON."),
    ]  # fmt: skip
    for opt in reversed(opts):
        func = opt(func)
    return func


def _grant(values: Mapping[str, Any]) -> str:
    grant = GRANT_ALIASES.get(
        values.get("grant") or "", values.get("grant") or "authorization_code"
    )
    if grant not in GRANT_CHOICES:
        raise Exit(
            EXIT_BAD_INPUT, f"unknown grant {grant!r}; use one of {', '.join(GRANT_CHOICES)}"
        )
    return grant


def _password(values: Mapping[str, Any]) -> tuple[str, str]:
    import os

    username = values.get("username")
    secret = values.get("password") or os.environ.get("VALETKEY_PASSWORD")
    if not username:
        raise Exit(EXIT_BAD_INPUT, "the password grant needs --username")
    if not secret:
        if not sys.stdin.isatty():
            raise Exit(EXIT_BAD_INPUT, "the password grant needs --password or VALETKEY_PASSWORD")
        secret = click.prompt(f"Password for {username}", hide_input=True, err=True)
    return str(username), str(secret)


def with_dpop_key(config: ClientConfig) -> ClientConfig:
    """A new DPoP key for ``config``, named on the authorization request too (RFC 9449 §10)."""
    key = DPoPKey.generate()
    bind_code = CustomParam("auth", "dpop_jkt", key.jkt, "query")
    return replace(config, dpop_key=key.to_jwk(), params=(*config.params, bind_code))


def obtain(
    grant: str,
    values: Mapping[str, Any],
    name: str,
    verbose: bool,
    record: FlowRecord | None = None,
) -> tuple[TokenSet, ClientConfig]:
    tokens, config = _obtain(grant, values, name, verbose, record)
    if config.dpop_key and tokens.token_type.lower() != "dpop":
        raise SecurityCheckFailed(  # RFC 9449 §5: the binding was asked for and not made
            f"the server issued a {tokens.token_type[:20]} token, not a DPoP-bound one (RFC 9449 "
            "section 5); it may not support DPoP"
        )
    return tokens, config


def _obtain(
    grant: str, values: Mapping[str, Any], name: str, verbose: bool, record: FlowRecord | None
) -> tuple[TokenSet, ClientConfig]:
    watch = chain(observer(verbose), record.observe if record else None)
    with http_client() as http:
        found = endpoints(values, http, watch)
        config = client_config(values, found)
        if record is not None:
            record.client_id = config.client_id
        if values.get("dpop"):
            if grant == "implicit":
                raise Exit(EXIT_BAD_INPUT, "--dpop needs a token request: not the implicit grant")
            config = with_dpop_key(config)
            http.auth = DPoPAuth(DPoPSession(DPoPKey(config.dpop_key or {})))
        if grant in ("authorization_code", "implicit"):
            values = {**values, "grant": grant}
            return browser_grant(config, values, http, watch, name, record), config
        if grant == "device_code":
            shown = observer(verbose)  # the record hears the device flow's steps on its own
            return recorded(
                record, lambda: device_grant(config, values, http, shown, record)
            ), config
        note = record.note if record else None
        if record is not None:
            record.grant_started(config.scope)
        if grant == "password":
            user, secret = _password(values)
            flow = grants.password(config, user, secret, time.time(), note)
        else:
            flow = grants.client_credentials(config, time.time(), note)
        return recorded(record, lambda: io.run(flow, http, watch)), config


@click.command("get")
@_options
@inspect_options
@handles_errors
def get(
    profile: str | None,
    save_as: str | None,
    token_name: str | None,
    verbose: bool,
    as_json: bool,
    inspect: bool,
    inspect_exports: tuple[str, ...],
    inspect_page: int | None,
    **flags: Any,
) -> None:
    """Get a new token with any grant and save it under a name."""
    values = resolve(flags, profile)
    grant = _grant(values)
    name = check_name(token_name or profile or "default")
    inspection = Inspection.of(INSPECTED.get(grant, ""), inspect, inspect_exports, inspect_page)
    if inspection is not None:
        if grant not in INSPECTED:
            raise Exit(EXIT_BAD_INPUT, f"--inspect draws {', '.join(INSPECTED)}; not {grant} yet")
        inspection.browser = bool(values.get("browser", True))
    if save_as:
        path = save_profile(check_name(save_as), values)
        err.print(f"saved profile {save_as!r} in {path}")
    with inspecting(inspection) as record:
        tokens, config = obtain(grant, values, name, verbose, record)
        saved = TokenStore().put(name, tokens, config, grant)
        if as_json:
            click.echo(json.dumps({"ok": True, **summary(saved)}, indent=2))
        else:
            row = summary(saved)
            err.print(
                f"[green]saved token {name!r}[/]: {row['token_type']}, scope "
                f"{row['scope'] or '-'}, {row['expiry']}, refresh token: "
                f"{'yes' if row['refresh_available'] else 'no'}"
            )
            err.print(
                f"use it: valetkey call URL --token {name}   or   $(valetkey token print {name})"
            )
