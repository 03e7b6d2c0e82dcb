"""What the admin commands share: the config file, the store it names, and table/JSON output."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from valetkey.cli.config import CONFIG_HELP, load_settings
from valetkey.core.settings import Settings
from valetkey.store.sql import SQLStore

F = TypeVar("F", bound=Callable[..., Any])


def config_option(fn: F) -> F:
    return click.option(
        "--config",
        "config_path",
        envvar="VALETKEY_CONFIG",
        type=click.Path(dir_okay=False),
        help=CONFIG_HELP + " The same file as `valetkey serve`; the database comes from it.",
    )(fn)


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(fn)


@dataclass
class Admin:
    settings: Settings
    store: SQLStore

    def config_client_ids(self) -> set[str]:
        return {c.client_id for c in self.settings.clients}

    def config_usernames(self) -> set[str]:
        return {u.username for u in self.settings.users}


@contextmanager
def admin_store(config_path: str | None) -> Iterator[Admin]:
    from valetkey.server.bootstrap import default_database
    from valetkey.store.sql import open_store

    settings = load_settings(config_path)
    try:
        store = open_store(default_database(settings))
    except Exception as exc:  # an unreachable server, a bad URL: say so, no traceback
        raise click.ClickException(
            f"cannot open the database: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        yield Admin(settings, store)
    finally:
        store.close()


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


def console() -> Console:
    """On a terminal, its width; piped into grep or a file, wide enough not to fold identifiers."""
    import sys

    return Console() if sys.stdout.isatty() else Console(width=200)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    t = Table(title=title, show_lines=False)
    for i, c in enumerate(columns):
        t.add_column(c, overflow="fold", no_wrap=i == 0)
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r))
    console().print(t)


def details(title: str, fields: Sequence[tuple[str, Any]]) -> None:
    t = Table(title=title, show_header=False)
    t.add_column("field", style="bold")
    t.add_column("value", overflow="fold")
    for k, v in fields:
        t.add_row(k, "" if v is None else str(v))
    console().print(t)


def when(ts: float | None) -> str:
    if ts is None:
        return ""
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def refuse_config_owned(kind: str, name: str, config_path: str | None, force: bool) -> None:
    """Config-file entries are re-applied by every `valetkey serve` start; say so before changing one."""
    if not force:
        raise click.ClickException(
            f"{kind} {name!r} is defined in the config file {config_path}; `valetkey serve` "
            "restores it on every start. Edit the file instead, or pass --force to change the "
            "database anyway (until the next start)."
        )
