"""``valetkey client ...``: register, list, show, remove clients and rotate their secrets."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import click

from valetkey.cli.admin_client_keys import credentials, kept_secret, key_options, read_jwks
from valetkey.cli.admin_common import (
    Admin,
    admin_store,
    config_option,
    details,
    emit_json,
    json_option,
    refuse_config_owned,
    table,
)
from valetkey.core.client_metadata import check_client_metadata
from valetkey.core.models import (
    AUTH_METHODS,
    CLIENT_SECRET_BASIC,
    GRANT_TYPES,
    PRIVATE_KEY_JWT,
    PUBLIC_AUTH,
    Client,
)
from valetkey.core.secrets import new_token

KEY_FIELDS = ("jwks", "jwks_uri", "token_endpoint_auth_signing_alg")


def client_json(c: Client, source: str) -> dict[str, Any]:
    return {
        "client_id": c.client_id,
        "client_name": c.client_name,
        "token_endpoint_auth_method": c.token_endpoint_auth_method,
        "public": c.is_public,
        "redirect_uris": list(c.redirect_uris),
        "post_logout_redirect_uris": list(c.post_logout_redirect_uris),
        "grant_types": list(c.grant_types),
        "response_types": list(c.response_types),
        "scope": " ".join(c.scope),
        "require_pkce": c.require_pkce,
        "pkce_methods": list(c.pkce_methods),
        "dpop_bound_access_tokens": c.dpop_bound_access_tokens,
        **{k: v for k in KEY_FIELDS if (v := getattr(c, k)) is not None},
        "source": source,
    }


def _source(admin: Admin, client_id: str) -> str:
    return "config" if client_id in admin.config_client_ids() else "admin"


@click.group("client")
def client_group() -> None:
    """Manage OAuth clients in the configured database."""


@client_group.command("add")
@click.argument("client_id")
@click.option("--name", default=None, help="Display name shown on the consent page.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Repeat for each URI.")
@click.option("--post-logout-redirect-uri", "logout_uris", multiple=True)
@click.option(
    "--grant-type",
    "grant_types",
    multiple=True,
    help=f"Repeat; one of {', '.join(GRANT_TYPES)} (default: authorization_code).",
)
@click.option(
    "--auth-method",
    type=click.Choice(AUTH_METHODS),
    default=CLIENT_SECRET_BASIC,
    show_default=True,
    help="none = public client (no secret).",
)
@click.option("--public", is_flag=True, help="Same as --auth-method none.")
@click.option("--scope", default="", help='Space-separated scopes, e.g. "openid read:files".')
@click.option("--no-pkce", is_flag=True, help="Confidential clients only: do not require PKCE.")
@click.option(
    "--dpop-bound",
    is_flag=True,
    help="Every token request needs a DPoP proof: tokens are always key-bound (RFC 9449 §5.2).",
)
@key_options
@config_option
@json_option
def client_add(
    client_id: str,
    name: str | None,
    redirect_uris: tuple[str, ...],
    logout_uris: tuple[str, ...],
    grant_types: tuple[str, ...],
    auth_method: str,
    public: bool,
    scope: str,
    no_pkce: bool,
    dpop_bound: bool,
    jwks_file: str | None,
    jwks_uri: str | None,
    signing_alg: str | None,
    config_path: str | None,
    as_json: bool,
) -> None:
    """Register a client. A confidential client's secret is generated and shown once
    (private_key_jwt: none, give --jwks or --jwks-uri)."""
    method = PUBLIC_AUTH if public else auth_method
    grant_types = grant_types or ("authorization_code",)
    if not client_id.strip() or len(client_id) > 255:
        raise click.ClickException("CLIENT_ID must be 1-255 characters")
    check = check_client_metadata(
        {
            "redirect_uris": redirect_uris,
            "post_logout_redirect_uris": logout_uris,
            "grant_types": grant_types,
            "token_endpoint_auth_method": method,
            "scope": scope,
            "require_pkce": not no_pkce,
            "dpop_bound_access_tokens": dpop_bound,
            "jwks": read_jwks(jwks_file),
            "jwks_uri": jwks_uri,
            "token_endpoint_auth_signing_alg": signing_alg,
        }
    )
    if check.value is None:
        raise click.ClickException(
            "the client was not added:\n  " + "\n  ".join(map(str, check.problems))
        )
    with admin_store(config_path) as admin:
        secret, digest, sealed = credentials(method, client_id, admin.settings)
        client = replace(check.value.client(client_id, digest, name), secret_sealed=sealed)
        if not admin.store.add_client(client, source="admin"):
            raise click.ClickException(
                f"a client with id {client_id!r} already exists; nothing changed"
            )
        _print_added(client, secret, as_json, _source(admin, client_id))


def _print_added(client: Client, secret: str | None, as_json: bool, source: str) -> None:
    if as_json:
        emit_json({**client_json(client, source), "client_secret": secret})
        return
    click.echo(
        f"client {client.client_id!r} added ({'public' if client.is_public else 'confidential'})"
    )
    if secret:
        click.echo(f"client_secret: {secret}")
        kept = "sealed" if client.secret_sealed else "only as a digest"
        click.echo(f"This secret is shown once and stored {kept}: copy it now.")


@client_group.command("list")
@config_option
@json_option
def client_list(config_path: str | None, as_json: bool) -> None:
    """List registered clients."""
    with admin_store(config_path) as admin:
        clients = admin.store.list_clients()
        if as_json:
            emit_json([client_json(c, _source(admin, c.client_id)) for c in clients])
            return
        table(
            "Clients",
            ("client_id", "name", "type", "grant types", "redirect URIs", "source"),
            [
                (
                    c.client_id,
                    c.client_name,
                    "public" if c.is_public else "confidential",
                    " ".join(c.grant_types),
                    "\n".join(c.redirect_uris),
                    _source(admin, c.client_id),
                )
                for c in clients
            ],
        )


def _get(admin: Admin, client_id: str) -> Client:
    client = admin.store.get_client(client_id)
    if client is None:
        raise click.ClickException(f"no client with id {client_id!r}")
    return client


@client_group.command("show")
@click.argument("client_id")
@config_option
@json_option
def client_show(client_id: str, config_path: str | None, as_json: bool) -> None:
    """Show one client's registration."""
    with admin_store(config_path) as admin:
        c = client_json(_get(admin, client_id), _source(admin, client_id))
        active = admin.store.list_grants(client_id=client_id)
        c["active_grants"] = len(active)
        if as_json:
            emit_json(c)
            return
        details(
            f"Client {client_id}",
            [(k, " ".join(v) if isinstance(v, list) else v) for k, v in c.items()],
        )


@client_group.command("remove")
@click.argument("client_id")
@click.option("--force", is_flag=True, help="Remove even a client defined in the config file.")
@config_option
@json_option
def client_remove(client_id: str, force: bool, config_path: str | None, as_json: bool) -> None:
    """Remove a client and revoke every grant it holds."""
    with admin_store(config_path) as admin:
        _get(admin, client_id)
        if client_id in admin.config_client_ids():
            refuse_config_owned("client", client_id, config_path, force)
        now = time.time()
        grants = admin.store.list_grants(client_id=client_id)
        for g in grants:
            admin.store.revoke_grant(g.grant_id, now, "client removed by an administrator")
        admin.store.delete_client(client_id)
        if as_json:
            emit_json({"removed": client_id, "grants_revoked": len(grants)})
        else:
            click.echo(f"client {client_id!r} removed; {len(grants)} grant(s) revoked")


@client_group.command("rotate-secret")
@click.argument("client_id")
@click.option("--force", is_flag=True, help="Rotate even a client defined in the config file.")
@config_option
@json_option
def client_rotate_secret(
    client_id: str, force: bool, config_path: str | None, as_json: bool
) -> None:
    """Replace a confidential client's secret; the new one is shown once, the old one stops working."""
    with admin_store(config_path) as admin:
        client = _get(admin, client_id)
        if client.is_public:
            raise click.ClickException(f"{client_id!r} is a public client: it has no secret")
        if client_id in admin.config_client_ids():
            refuse_config_owned("client", client_id, config_path, force)
        if client.token_endpoint_auth_method == PRIVATE_KEY_JWT:
            raise click.ClickException(f"{client_id!r} uses private_key_jwt: it has no secret")
        secret = new_token(32)
        method = client.token_endpoint_auth_method
        digest, sealed = kept_secret(method, client_id, secret, admin.settings)
        changed = replace(client, secret_digest=digest, secret_sealed=sealed)
        admin.store.upsert_client(changed, source="admin")
        if as_json:
            emit_json({"client_id": client_id, "client_secret": secret})
        else:
            click.echo(f"new client_secret for {client_id!r}: {secret}")
            click.echo("This secret is shown once and stored only as a digest: copy it now.")
