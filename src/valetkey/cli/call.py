"""`valetkey call [METHOD] URL --token NAME`: an authenticated request with auto-refresh."""

from __future__ import annotations

import json
import shlex
import time
from typing import Any

import click
import httpx

from valetkey.cli.client_errors import (
    EXIT_BAD_INPUT,
    EXIT_HTTP_ERROR,
    EXIT_UNREACHABLE,
    Exit,
    handles_errors,
)
from valetkey.cli.client_setup import observer
from valetkey.cli.token import refresh_saved
from valetkey.client.auth import TokenAuth
from valetkey.client.config import check_url
from valetkey.client.tokenstore import TokenStore

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def _target(args: tuple[str, ...]) -> tuple[str, str]:
    if len(args) == 1:
        return "GET", args[0]
    if len(args) == 2 and args[0].upper() in METHODS:
        return args[0].upper(), args[1]
    raise Exit(EXIT_BAD_INPUT, "usage: valetkey call [METHOD] URL --token NAME")


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


@click.command("call")
@click.argument("args", nargs=-1, required=True, metavar="[METHOD] URL")
@click.option("--token", "-t", "name", required=True, help="Name of a saved token.")
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
@click.option("--verbose", "-v", is_flag=True, help="Show each HTTP exchange (secrets redacted).")
@click.option("--json", "as_json", is_flag=True, help="Print status, headers and body as JSON.")
@handles_errors
def call(
    args: tuple[str, ...],
    name: str,
    headers: tuple[str, ...],
    data: str | None,
    header_prefix: str,
    placement: str,
    query_name: str,
    token_type: str,
    curl: bool,
    verbose: bool,
    as_json: bool,
) -> None:
    """Send an authenticated request with a saved token, refreshing it when needed."""
    method, url = _target(args)
    check_url(url, "URL")
    refresh_saved(name, verbose, only_if_due=True)  # under the store's lock (parallel scripts)
    auth = saved_auth(name, placement, header_prefix, query_name, token_type)
    watch = observer(verbose)
    hooks = {"response": [lambda r: (r.read(), watch(r.request, r))]} if watch else {}
    with httpx.Client(timeout=30.0, event_hooks=hooks) as http:
        request = http.build_request(
            method, url, headers=_headers(headers), content=data.encode() if data else None
        )
        if curl:
            click.echo(curl_command(_authorized(http, auth, request)))
            return
        try:
            response = http.send(request, auth=auth)
        except httpx.TransportError as exc:
            raise Exit(EXIT_UNREACHABLE, f"cannot reach {url}: {exc}") from exc
    _output(response, as_json)
    if response.status_code >= 400:
        raise SystemExit(EXIT_HTTP_ERROR)


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
