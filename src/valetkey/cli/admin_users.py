"""``valetkey user ...`` and ``valetkey grants ...``: accounts and what they have granted."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Any

import click

from valetkey.cli.admin_common import (
    Admin,
    admin_store,
    config_option,
    emit_json,
    json_option,
    refuse_config_owned,
    table,
    when,
)
from valetkey.core.models import Grant, User

PASSWORD_OPTION = click.option(
    "--password",
    default=None,
    help="Asked for when not given (hidden, typed twice, prompts on stderr). Hashed with Argon2id.",
)


def ask_password(given: str | None) -> str:
    """Prompts go to stderr so that ``--json`` output on stdout stays parseable."""
    if given is not None:
        return given
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    return value


def user_json(u: User, admin: Admin) -> dict[str, Any]:
    return {
        "username": u.username,
        "sub": u.sub,
        "claims": dict(u.claims),
        "source": "config" if u.username in admin.config_usernames() else "admin",
    }


@click.group("user")
def user_group() -> None:
    """Manage user accounts (resource owners)."""


@user_group.command("add")
@click.argument("username")
@PASSWORD_OPTION
@click.option("--name", default=None, help="OpenID 'name' claim.")
@click.option("--email", default=None, help="OpenID 'email' claim.")
@click.option("--email-verified", is_flag=True)
@config_option
@json_option
def user_add(
    username: str,
    password: str | None,
    name: str | None,
    email: str | None,
    email_verified: bool,
    config_path: str | None,
    as_json: bool,
) -> None:
    """Add a user with a stable subject identifier (sub)."""
    from valetkey.server.passwords import passwords_for

    password = ask_password(password)
    if not username.strip() or len(username) > 255:
        raise click.ClickException("USERNAME must be 1-255 characters")
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters; nothing changed")
    claims: dict[str, Any] = {}
    if name:
        claims["name"] = name
    if email:
        if "@" not in email:
            raise click.ClickException(f"{email!r} is not an email address; nothing changed")
        claims["email"] = email
        claims["email_verified"] = email_verified
    with admin_store(config_path) as admin:
        if admin.store.get_user_by_username(username) is not None:
            raise click.ClickException(f"a user named {username!r} already exists; nothing changed")
        user = admin.store.upsert_user(
            User(str(uuid.uuid4()), username, passwords_for(admin.settings).hash(password), claims)
        )
        if as_json:
            emit_json(user_json(user, admin))
        else:
            click.echo(f"user {username!r} added (sub {user.sub})")


@user_group.command("list")
@config_option
@json_option
def user_list(config_path: str | None, as_json: bool) -> None:
    """List users."""
    with admin_store(config_path) as admin:
        users = [user_json(u, admin) for u in admin.store.list_users()]
        if as_json:
            emit_json(users)
            return
        table(
            "Users",
            ("username", "sub", "name", "email", "source"),
            [
                (
                    u["username"],
                    u["sub"],
                    u["claims"].get("name"),
                    u["claims"].get("email"),
                    u["source"],
                )
                for u in users
            ],
        )


def _user(admin: Admin, username: str) -> User:
    user = admin.store.get_user_by_username(username)
    if user is None:
        raise click.ClickException(f"no user named {username!r}")
    return user


@user_group.command("passwd")
@click.argument("username")
@PASSWORD_OPTION
@click.option("--force", is_flag=True, help="Change even a user defined in the config file.")
@config_option
@json_option
def user_passwd(
    username: str, password: str | None, force: bool, config_path: str | None, as_json: bool
) -> None:
    """Set a user's password."""
    from valetkey.server.passwords import passwords_for

    with admin_store(config_path) as admin:
        user = _user(admin, username)
        if username in admin.config_usernames():
            refuse_config_owned("user", username, config_path, force)
        password = ask_password(password)
        if len(password) < 8:
            raise click.ClickException(
                "the password must have at least 8 characters; nothing changed"
            )
        password_hash = passwords_for(admin.settings).hash(password)
        admin.store.upsert_user(replace(user, password_hash=password_hash))
        if as_json:
            emit_json({"username": username, "password_changed": True})
        else:
            click.echo(f"password changed for {username!r}")


@user_group.command("remove")
@click.argument("username")
@click.option("--force", is_flag=True, help="Remove even a user defined in the config file.")
@config_option
@json_option
def user_remove(username: str, force: bool, config_path: str | None, as_json: bool) -> None:
    """Remove a user and revoke every grant they gave."""
    with admin_store(config_path) as admin:
        user = _user(admin, username)
        if username in admin.config_usernames():
            refuse_config_owned("user", username, config_path, force)
        grants = admin.store.list_grants(sub=user.sub)
        now = time.time()
        for g in grants:
            admin.store.revoke_grant(g.grant_id, now, "user removed by an administrator")
        admin.store.delete_user(username)
        if as_json:
            emit_json({"removed": username, "grants_revoked": len(grants)})
        else:
            click.echo(f"user {username!r} removed; {len(grants)} grant(s) revoked")


def grant_json(g: Grant, usernames: dict[str, str]) -> dict[str, Any]:
    return {
        "grant_id": g.grant_id,
        "client_id": g.client_id,
        "sub": g.sub,
        "username": usernames.get(g.sub or ""),
        "scope": " ".join(g.scope),
        "audience": list(g.audience),
        "created_at": g.created_at,
        "revoked_at": g.revoked_at,
        "revoked_reason": g.revoked_reason,
    }


@click.group("grants")
def grants_group() -> None:
    """List and revoke grants (a user's approval for a client, with its tokens)."""


@grants_group.command("list")
@click.option("--client", "client_id", default=None, help="Only this client's grants.")
@click.option("--user", "username", default=None, help="Only this user's grants.")
@click.option("--all", "show_all", is_flag=True, help="Include revoked grants.")
@config_option
@json_option
def grants_list(
    client_id: str | None,
    username: str | None,
    show_all: bool,
    config_path: str | None,
    as_json: bool,
) -> None:
    """List active grants (or all with --all)."""
    with admin_store(config_path) as admin:
        sub = _user(admin, username).sub if username else None
        usernames = {u.sub: u.username for u in admin.store.list_users()}
        grants = admin.store.list_grants(client_id=client_id, sub=sub, active_only=not show_all)
        rows = [grant_json(g, usernames) for g in grants]
        if as_json:
            emit_json(rows)
            return
        table(
            "Grants",
            ("grant_id", "client", "user", "scope", "created", "revoked"),
            [
                (
                    r["grant_id"],
                    r["client_id"],
                    r["username"] or r["sub"],
                    r["scope"],
                    when(r["created_at"]),
                    when(r["revoked_at"]),
                )
                for r in rows
            ],
        )


@grants_group.command("revoke")
@click.argument("grant_ids", nargs=-1)
@click.option("--client", "client_id", default=None, help="Revoke every grant of this client.")
@click.option("--user", "username", default=None, help="Revoke every grant of this user.")
@config_option
@json_option
def grants_revoke(
    grant_ids: tuple[str, ...],
    client_id: str | None,
    username: str | None,
    config_path: str | None,
    as_json: bool,
) -> None:
    """Revoke grants: their refresh tokens stop working and their access tokens introspect inactive."""
    if not grant_ids and not client_id and not username:
        raise click.ClickException("name GRANT_ID(s), or --client / --user to revoke in bulk")
    with admin_store(config_path) as admin:
        targets = list(grant_ids)
        unknown = [g for g in targets if admin.store.get_grant(g) is None]
        if unknown:
            raise click.ClickException(f"no such grant: {', '.join(unknown)}; nothing changed")
        if client_id or username:
            sub = _user(admin, username).sub if username else None
            targets += [g.grant_id for g in admin.store.list_grants(client_id=client_id, sub=sub)]
        now = time.time()
        revoked = [
            g
            for g in dict.fromkeys(targets)
            if admin.store.revoke_grant(g, now, "revoked by an administrator")
        ]
        if as_json:
            emit_json({"revoked": revoked})
        else:
            click.echo(f"{len(revoked)} grant(s) revoked")
