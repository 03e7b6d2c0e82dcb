"""``valetkey keys ...``: the signing keys in the database (shared by every server instance)."""

from __future__ import annotations

import time
from typing import Any

import click

from valetkey.cli.admin_common import (
    admin_store,
    config_option,
    emit_json,
    json_option,
    table,
    when,
)
from valetkey.core.jose import SIGNING_ALGS


@click.group("keys")
def keys_group() -> None:
    """List and rotate the JWT signing keys."""


@keys_group.command("rotate")
@click.option(
    "--alg",
    type=click.Choice(SIGNING_ALGS),
    default=None,
    help="Rotate only this algorithm's key (default: every algorithm the server signs with).",
)
@config_option
@json_option
def keys_rotate(alg: str | None, config_path: str | None, as_json: bool) -> None:
    """Add a new active key; the old one keeps verifying until every token it signed has expired.

    Running servers pick the new key up within the key_reload_seconds setting.
    """
    from valetkey.server.keys import KeyRing, retire_after

    with admin_store(config_path) as admin:
        s = admin.settings
        ring = KeyRing(admin.store, retire_after=retire_after(s), reload_seconds=0)
        algs = (alg,) if alg else tuple(dict.fromkeys((s.access_token_alg, s.id_token_alg)))
        now = time.time()
        added = [ring.rotate(a, now) for a in algs]
        if as_json:
            emit_json([{"kid": k.kid, "alg": k.alg, "created_at": k.created_at} for k in added])
            return
        for k in added:
            click.echo(f"new {k.alg} key {k.kid} is active")
        click.echo(
            f"retired keys stay in the JWKS for {int(retire_after(s))} s (the longest token "
            "lifetime), then drop out"
        )


@keys_group.command("list")
@config_option
@json_option
def keys_list(config_path: str | None, as_json: bool) -> None:
    """List signing keys: active, retired (still published), or expired."""
    from valetkey.server.keys import KeyRing, retire_after

    with admin_store(config_path) as admin:
        ring = KeyRing(admin.store, retire_after=retire_after(admin.settings), reload_seconds=0)
        now = time.time()
        rows: list[dict[str, Any]] = []
        for k in admin.store.list_signing_keys():
            status = (
                "active" if k.active else ("retired" if ring.is_published(k, now) else "expired")
            )
            until = None if k.active or k.retired_at is None else k.retired_at + ring.retire_after
            rows.append(
                {
                    "kid": k.kid,
                    "alg": k.alg,
                    "status": status,
                    "published": ring.is_published(k, now),
                    "created_at": k.created_at,
                    "retired_at": k.retired_at,
                    "published_until": until,
                }
            )
        if as_json:
            emit_json(rows)
            return
        table(
            "Signing keys",
            ("kid", "alg", "status", "created", "published until"),
            [
                (r["kid"], r["alg"], r["status"], when(r["created_at"]), when(r["published_until"]))
                for r in rows
            ],
        )
