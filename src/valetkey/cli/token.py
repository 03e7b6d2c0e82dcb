"""`valetkey token ...`: get, list, show, refresh, revoke, delete and print named tokens."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import click
from rich.console import Console

from valetkey.cli.client_errors import EXIT_BAD_INPUT, Exit, err, handles_errors
from valetkey.cli.client_setup import http_client, observer
from valetkey.cli.inspect_flow import Inspection, chain, inspect_options, inspecting, recorded
from valetkey.cli.token_display import details, list_table, show, summary
from valetkey.cli.token_get import get
from valetkey.client import grants, io
from valetkey.client.config import check_url
from valetkey.client.record import FlowRecord
from valetkey.client.tokenstore import SavedToken, TokenStore

VERBOSE = click.option("--verbose", "-v", is_flag=True, help="Show each HTTP exchange (redacted).")
JSON = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


@click.group("token")
def token() -> None:
    """Get, inspect, refresh, revoke and print OAuth tokens saved by name."""


token.add_command(get)


LEEWAY = 30.0


def refresh_saved(
    name: str, verbose: bool, only_if_due: bool = False, record: FlowRecord | None = None
) -> SavedToken:
    """Refresh under the store's lock, re-reading first: a parallel process may have done it;
    ``record`` (``--inspect``) hears the refresh's steps and checks."""
    store = TokenStore()
    with store.lock():
        saved = store.get(name)
        tokens = saved.tokens
        if only_if_due and not (
            tokens.refresh_token and tokens.expires_within(LEEWAY, time.time())
        ):
            return saved
        if not tokens.refresh_token:
            record = None  # nothing will be sent: the error says why, without a drawing
        note = record.note if record else None
        if record is not None:
            record.client_id = saved.config.client_id
            record.refresh_started(name, tokens.scope)
        watch = chain(observer(verbose), record.observe if record else None)
        flow = grants.refresh(saved.config, tokens, time.time(), note)
        with http_client(saved.config.dpop_key) as http:  # a bound refresh needs a proof
            fresh = recorded(record, lambda: io.run(flow, http, watch))
        return store.put(name, fresh, saved.config, saved.grant)


@token.command("list")
@JSON
@handles_errors
def list_(as_json: bool) -> None:
    """List saved tokens: name, type, scopes, expiry, whether a refresh token is available."""
    saved = TokenStore().all()
    if as_json:
        click.echo(json.dumps([summary(s) for s in saved], indent=2))
    elif not saved:
        err.print("no tokens saved yet: `valetkey token get --help` to get one")
    else:
        list_table(Console(), saved)


@token.command("show")
@click.argument("name")
@click.option("--reveal", is_flag=True, help="Also print the raw tokens (secret!).")
@JSON
@handles_errors
def show_(name: str, reveal: bool, as_json: bool) -> None:
    """Show a token: decoded JWT header and claims, expiry in words (secrets masked)."""
    saved = TokenStore().get(name)
    if as_json:
        click.echo(json.dumps(details(saved, reveal), indent=2))
    else:
        show(Console(), saved, reveal)


@token.command("refresh")
@click.argument("name")
@VERBOSE
@JSON
@inspect_options
@handles_errors
def refresh(
    name: str,
    verbose: bool,
    as_json: bool,
    inspect: bool,
    inspect_exports: tuple[str, ...],
    inspect_page: int | None,
) -> None:
    """Use the refresh token now; a rotated refresh token is saved."""
    inspection = Inspection.of("refresh", inspect, inspect_exports, inspect_page)
    with inspecting(inspection) as record:
        saved = refresh_saved(name, verbose, record=record)
        if as_json:
            click.echo(json.dumps({"ok": True, **summary(saved)}, indent=2))
        else:
            err.print(f"[green]refreshed {name!r}[/]: {summary(saved)['expiry']}")


@token.command("revoke")
@click.argument("name")
@click.option("--keep", is_flag=True, help="Keep the (now useless) local copy.")
@click.option("--revocation-url", help="Revocation endpoint, if it was not discovered or saved.")
@VERBOSE
@JSON
@handles_errors
def revoke(name: str, keep: bool, revocation_url: str | None, verbose: bool, as_json: bool) -> None:
    """Revoke the token at the server (RFC 7009), refresh token first, then remove it locally."""
    store = TokenStore()
    saved = store.get(name)
    if revocation_url:
        endpoints = saved.config.endpoints.override(
            revocation_endpoint=check_url(revocation_url, "--revocation-url")
        )
        saved = replace(saved, config=replace(saved.config, endpoints=endpoints))
    revoked = []
    with http_client() as http:
        if saved.tokens.refresh_token:
            flow = grants.revoke(saved.config, saved.tokens.refresh_token, "refresh_token")
            io.run(flow, http, observer(verbose))
            revoked.append("refresh_token")
        flow = grants.revoke(saved.config, saved.tokens.access_token, "access_token")
        io.run(flow, http, observer(verbose))
        revoked.append("access_token")
    if not keep:
        store.delete(name)
    if as_json:
        click.echo(json.dumps({"ok": True, "name": name, "revoked": revoked, "kept": keep}))
    else:
        err.print(
            f"[green]revoked {name!r} at the server[/] ({', '.join(revoked)})"
            + ("" if keep else "; removed the local copy")
        )


@token.command("delete")
@click.argument("name")
@JSON
@handles_errors
def delete(name: str, as_json: bool) -> None:
    """Delete the local copy only. This does NOT revoke the token at the server."""
    TokenStore().delete(name)
    note = (
        "this does not revoke it: the server still honours it until it expires "
        f"(use `valetkey token revoke {name}` to revoke)"
    )
    if as_json:
        click.echo(json.dumps({"ok": True, "name": name, "revoked": False, "note": note}))
    else:
        err.print(f"deleted the local copy of {name!r}; {note}")


@token.command("print")
@click.argument("name")
@click.option("--id-token", is_flag=True, help="Print the ID token instead.")
@click.option("--no-refresh", is_flag=True, help="Do not refresh an expired token first.")
@handles_errors
def print_(name: str, id_token: bool, no_refresh: bool) -> None:
    """Print just the token, for scripts: curl -H "Authorization: Bearer $(valetkey token print NAME)"."""
    saved = TokenStore().get(name)
    if not no_refresh and saved.tokens.refresh_token:
        saved = refresh_saved(name, verbose=False, only_if_due=True)
    value = saved.tokens.id_token if id_token else saved.tokens.access_token
    if value is None:
        raise Exit(EXIT_BAD_INPUT, f"{name!r} has no ID token (ask for the openid scope)")
    click.echo(value)
