"""`valetkey call [METHOD] URL [--token NAME]`: an authenticated request with auto-refresh; without
a token, the sign-in an MCP client does (call_discover)."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from typing import Any

import click
import httpx

from valetkey.cli.call_discover import NO_METADATA_HINT, saved_for, sign_in_for
from valetkey.cli.client_errors import (
    EXIT_BAD_INPUT,
    EXIT_HTTP_ERROR,
    EXIT_UNREACHABLE,
    Exit,
    err,
    handles_errors,
)
from valetkey.cli.client_setup import observer
from valetkey.cli.inspect_flow import (
    Inspection,
    call_observer,
    chain,
    inspect_options,
    inspecting,
)
from valetkey.cli.token import refresh_saved
from valetkey.client.auth import TokenAuth
from valetkey.client.config import CLIENT_AUTH_CHOICES, check_url
from valetkey.client.dpop import DPoPKey, DPoPSession
from valetkey.client.errors import OAuthServerError
from valetkey.client.record import FlowRecord
from valetkey.client.resource_discovery import resource_metadata_url
from valetkey.client.tokenstore import TokenStore

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def _target(args: tuple[str, ...]) -> tuple[str, str]:
    if len(args) == 1:
        return "GET", args[0]
    if len(args) == 2 and args[0].upper() in METHODS:
        return args[0].upper(), args[1]
    raise Exit(EXIT_BAD_INPUT, "usage: valetkey call [METHOD] URL [--token NAME]")


def _headers(raw: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for h in raw:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise Exit(EXIT_BAD_INPUT, f"header {h!r} must look like 'Name: value'")
        out.append((name.strip(), value.strip()))
    return out


def curl_command(request: httpx.Request) -> str:
    parts = ["curl", "-X", request.method]
    skip = ("host", "accept", "accept-encoding", "connection", "user-agent", "content-length")
    for raw_name, raw_value in request.headers.raw:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name.lower() not in skip:
            parts += ["-H", f"{name}: {value}"]
    if request.content:
        parts += ["--data-binary", request.content.decode("utf-8", "replace")]
    parts.append(str(request.url))
    return " ".join(shlex.quote(p) for p in parts)


def _output(response: httpx.Response, as_json: bool) -> None:
    if as_json:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        out = {"status": response.status_code, "headers": dict(response.headers), "body": body}
        click.echo(json.dumps(out, indent=2))
    else:
        click.echo(response.text, nl=not response.text.endswith("\n"))


SIGN_IN_OPTIONS = (
    "client_id", "client_secret", "client_auth", "private_key", "issuer", "scope",
    "initial_access_token",
)  # fmt: skip


def _sign_in_options(func: Any) -> Any:
    opts = [
        click.option("--client-id", help="Sign-in: a client registered at the authorization server, or the https URL of your client ID metadata document (default: register, RFC 7591)."),
        click.option("--client-secret", help="Sign-in: the secret of a confidential --client-id (or VALETKEY_CLIENT_SECRET)."),
        click.option("--client-auth", type=click.Choice(list(CLIENT_AUTH_CHOICES)), help="Sign-in: how --client-id authenticates (default: basic with a secret, private_key_jwt with a key)."),
        click.option("--private-key", help="Sign-in: the private key (PEM or JWK file) of a private_key_jwt --client-id."),
        click.option("--issuer", help="Sign-in: which of the resource's authorization servers to use (default: the first it names)."),
        click.option("--scope", "-s", help="Sign-in: scopes to ask for (default: the previous token's, else the challenge's scope, else the resource's scopes_supported)."),
        click.option("--initial-access-token", envvar="VALETKEY_INITIAL_ACCESS_TOKEN", help="Sign-in: a token the server asks for to register a client (RFC 7591 §3)."),
        click.option("--redirect-uri", help="Sign-in: loopback callback (default http://127.0.0.1:<free port>/callback)."),
        click.option("--browser/--no-browser", default=True, help="Sign-in: open the system browser (default), or print the URL."),
        click.option("--timeout", type=click.FloatRange(1, 3600), help="Sign-in: seconds to wait for the browser (default 300)."),
    ]  # fmt: skip
    for opt in reversed(opts):
        func = opt(func)
    return func


@click.command("call")
@click.argument("args", nargs=-1, required=True, metavar="[METHOD] URL")
@click.option(
    "--token",
    "-t",
    "name",
    help="Name of a saved token (default: the one saved for the URL's resource; if none, or if "
    "the API refuses it, discover its authorization server and sign in).",
)
@click.option("--header", "-H", "headers", multiple=True, help="Extra header 'Name: value'.")
@click.option("--data", "-d", help="Request body (sent as given).")
@click.option("--header-prefix", default="Bearer", show_default=True, help="Authorization scheme.")
@click.option(
    "--in",
    "placement",
    type=click.Choice(["header", "query"]),
    default="header",
    show_default=True,
    help="Send the token in the Authorization header or the query.",
)
@click.option(
    "--query-name",
    default="access_token",
    show_default=True,
    help="Query parameter name with --in query.",
)
@click.option(
    "--token-type",
    type=click.Choice(["access", "id"]),
    default="access",
    show_default=True,
    help="Send the access token or the ID token.",
)
@click.option(
    "--curl", is_flag=True, help="Print the equivalent curl command instead (has the token!)."
)
@_sign_in_options
@click.option("--verbose", "-v", is_flag=True, help="Show each HTTP exchange (secrets redacted).")
@click.option("--json", "as_json", is_flag=True, help="Print status, headers and body as JSON.")
@inspect_options
@handles_errors
def call(
    args: tuple[str, ...],
    name: str | None,
    headers: tuple[str, ...],
    data: str | None,
    header_prefix: str,
    placement: str,
    query_name: str,
    token_type: str,
    curl: bool,
    verbose: bool,
    as_json: bool,
    inspect: bool,
    inspect_exports: tuple[str, ...],
    inspect_page: int | None,
    **sign_in: Any,
) -> None:
    """Send an authenticated request, refreshing the token when needed.

    Without --token: use the token saved for the URL's resource, or follow the API's 401 to its
    authorization server (RFC 9728), sign in with the browser, save the token and call again.
    """
    method, url = _target(args)
    check_url(url, "URL")
    discovering = name is None
    if not discovering and any(sign_in.get(k) for k in SIGN_IN_OPTIONS):
        raise Exit(EXIT_BAD_INPUT, "the sign-in options are for calls without --token")
    name = name or saved_for(url, TokenStore())
    if name:
        name = _refreshed(name, verbose, discovering)
    inspection = Inspection.of("call", inspect, inspect_exports, inspect_page)
    if inspection is not None:
        inspection.browser = bool(sign_in.get("browser", True))
    with inspecting(inspection) as record:
        _call(method, url, name, discovering, data, headers, curl, verbose, as_json, sign_in,
              (placement, header_prefix, query_name, token_type), record)  # fmt: skip


def _call(
    method: str,
    url: str,
    name: str | None,
    discovering: bool,
    data: str | None,
    headers: tuple[str, ...],
    curl: bool,
    verbose: bool,
    as_json: bool,
    sign_in: dict[str, Any],
    style: tuple[str, str, str, str],
    record: FlowRecord | None,
) -> None:
    watch = chain(observer(verbose), call_observer(record, name) if record else None)
    hooks = {"response": [lambda r: (r.read(), watch(r.request, r))]} if watch else {}
    with httpx.Client(timeout=30.0, event_hooks=hooks) as http:

        def build() -> httpx.Request:
            content = data.encode() if data else None
            return http.build_request(method, url, headers=_headers(headers), content=content)

        if curl:
            if name is None:
                raise Exit(EXIT_BAD_INPUT, "--curl needs a token: give --token NAME")
            click.echo(curl_command(_authorized(http, saved_auth(name, *style), build())))
            return
        response = _first_try(http, build, name, style, discovering)
        if discovering and response.status_code == 401 and resource_metadata_url(response):
            name = sign_in_for(url, response, sign_in, verbose)
            response = _send(http, build(), saved_auth(name, *style))
    _output(response, as_json)
    if response.status_code >= 400:
        if discovering and response.status_code == 401 and not resource_metadata_url(response):
            err.print(f"[yellow]what you can do:[/] {NO_METADATA_HINT}")
        raise SystemExit(EXIT_HTTP_ERROR)


def _refreshed(name: str, verbose: bool, discovering: bool) -> str | None:
    """Refresh a token about to expire (under the store's lock: parallel scripts); None when
    its grant is gone and a sign-in may replace it."""
    try:
        refresh_saved(name, verbose, only_if_due=True)
    except OAuthServerError as exc:
        _grant_gone(exc, name, discovering)
        return None
    return name


def _grant_gone(exc: OAuthServerError, name: str | None, discovering: bool) -> None:
    """A refused refresh (RFC 6749 §5.2 invalid_grant) leads to a new sign-in, without --token."""
    if not (discovering and exc.error == "invalid_grant"):
        raise exc
    err.print(f"the saved token {name!r} can no longer be refreshed: signing in again")


def _first_try(
    http: httpx.Client,
    build: Callable[[], httpx.Request],
    name: str | None,
    style: tuple[str, str, str, str],
    discovering: bool,
) -> httpx.Response:
    """The call with the saved token (refreshed on a 401 invalid_token), or without one."""
    try:
        return _send(http, build(), saved_auth(name, *style) if name else None)
    except OAuthServerError as exc:  # the refresh after a 401 was refused
        _grant_gone(exc, name, discovering)
        return _send(http, build(), None)


def _send(http: httpx.Client, request: httpx.Request, auth: TokenAuth | None) -> httpx.Response:
    try:
        return http.send(request, auth=auth) if auth else http.send(request)
    except httpx.TransportError as exc:
        raise Exit(EXIT_UNREACHABLE, f"cannot reach {request.url}: {exc}") from exc


def saved_auth(
    name: str, placement: str, header_prefix: str, query_name: str, token_type: str
) -> TokenAuth:
    """A TokenAuth for a saved token that writes every refreshed (rotated) token back."""
    store = TokenStore()
    saved = store.get(name)
    return TokenAuth(
        saved.tokens,
        saved.config,
        placement="query" if placement == "query" else "header",
        header_prefix=header_prefix,
        query_name=query_name,
        token_type="id" if token_type == "id" else "access",
        on_refresh=lambda tokens: store.update_tokens(name, tokens),
        clock=time.time,
        dpop=DPoPSession(DPoPKey(saved.config.dpop_key)) if saved.config.dpop_key else None,
    )


def _authorized(http: httpx.Client, auth: TokenAuth, request: httpx.Request) -> httpx.Request:
    """Refresh first if due (so the printed command works), then attach the token."""
    if auth.can_refresh and auth.tokens.expires_within(auth.leeway, auth.clock()):
        from valetkey.client import io

        io.run(_refresh(auth), http)
    auth.attach(request)
    return request


def _refresh(auth: TokenAuth) -> Any:
    yield from auth.refresh_flow()
