"""How saved tokens are shown: a list table, decoded JWTs, expiry in words, nothing secret by default."""

from __future__ import annotations

import json
import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from valetkey.client.tokenstore import SavedToken
from valetkey.core import jose
from valetkey.core.events import mask


def in_words(seconds: float) -> str:
    seconds = abs(int(seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def expiry_words(expires_at: float | None, now: float | None = None) -> str:
    if expires_at is None:
        return "no expiry given"
    left = expires_at - (time.time() if now is None else now)
    return f"expires in {in_words(left)}" if left > 0 else f"expired {in_words(left)} ago"


def decoded(token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        header, claims = jose.unverified_parts(token)
    except jose.TokenInvalid:
        return None  # an opaque token
    return {"header": header, "claims": claims}


def summary(saved: SavedToken, now: float | None = None) -> dict[str, Any]:
    t = saved.tokens
    return {
        "name": saved.name,
        "grant": saved.grant,
        "token_type": t.token_type,
        "scope": t.scope,
        "expires_at": t.expires_at,
        "expiry": expiry_words(t.expires_at, now),
        "refresh_available": bool(t.refresh_token),
        "id_token_available": bool(t.id_token),
        "client_id": saved.config.client_id,
        "issuer": saved.config.endpoints.issuer,
    }


def details(saved: SavedToken, reveal: bool) -> dict[str, Any]:
    t = saved.tokens
    out = summary(saved)
    out["access_token"] = t.access_token if reveal else mask(t.access_token)
    out["access_token_jwt"] = decoded(t.access_token)
    if t.refresh_token:
        out["refresh_token"] = t.refresh_token if reveal else mask(t.refresh_token)
    if t.id_token:
        out["id_token"] = t.id_token if reveal else mask(t.id_token)
        out["id_token_jwt"] = decoded(t.id_token)
    return out


def list_table(console: Console, saved: list[SavedToken]) -> None:
    table = Table("name", "type", "scopes", "expiry", "refresh", "grant")
    for s in saved:
        row = summary(s)
        table.add_row(
            escape(s.name),
            escape(row["token_type"]),
            escape(row["scope"] or "-"),
            row["expiry"],
            "yes" if row["refresh_available"] else "no",
            escape(s.grant),
        )
    console.print(table)


def _jwt_block(console: Console, title: str, jwt: dict[str, Any] | None) -> None:
    if jwt is None:
        console.print(f"[bold]{title}[/]: opaque (not a JWT)")
        return
    console.print(f"[bold]{title} header[/]")
    console.print_json(json.dumps(jwt["header"]))
    console.print(f"[bold]{title} claims[/]")
    claims = jwt["claims"]
    console.print_json(json.dumps(claims))
    for name in ("iat", "exp", "auth_time"):
        if isinstance(claims.get(name), int | float):
            when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(claims[name]))
            console.print(f"  {name}: {when}")


def show(console: Console, saved: SavedToken, reveal: bool) -> None:
    d = details(saved, reveal)
    console.print(f"[bold]{escape(saved.name)}[/]  {escape(d['token_type'])}, {d['expiry']}")
    for key in ("grant", "scope", "client_id", "issuer", "refresh_available"):
        console.print(f"  {key}: {escape(str(d[key]))}")
    console.print(f"  access_token: {escape(d['access_token'])}")
    if "refresh_token" in d:
        console.print(f"  refresh_token: {escape(d['refresh_token'])}")
    _jwt_block(console, "access token", d["access_token_jwt"])
    if "id_token" in d:
        console.print(f"  id_token: {escape(d['id_token'])}")
        _jwt_block(console, "ID token", d["id_token_jwt"])
    if not reveal:
        console.print("[dim]secrets are masked; --reveal shows them[/]")
