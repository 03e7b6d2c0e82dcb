"""Reading the TOML config file with errors that name the file, the key and what is wrong."""

from __future__ import annotations

import os
from pathlib import Path

import click

from valetkey.core.settings import OPTIONS, Settings, SettingsError, build_settings, parse_toml


def load_settings(path: str | None) -> Settings:
    data = {}
    if path:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot read config file {path}: {exc.strerror}") from exc
        try:
            data = parse_toml(text)
        except SettingsError as exc:
            raise click.ClickException(f"{path}: {exc.problems[0]}") from exc
    try:
        settings = build_settings(data, os.environ)
    except SettingsError as exc:
        raise click.ClickException(
            f"{path or 'environment'}: invalid configuration:\n  " + "\n  ".join(exc.problems)
        ) from exc
    return settings


def settings_reference() -> str:
    """The README's table of top-level settings, written from the one declaration in core."""
    rows = [
        "| Setting | Environment variable | Default | Meaning |",
        "|---|---|---|---|",
    ]
    rows += [f"| `{o.name}` | `{o.env}` | {o.shown_default} | {o.doc} |" for o in OPTIONS]
    return "\n".join(rows)


CONFIG_HELP = (
    "TOML configuration file (also VALETKEY_CONFIG). Top-level settings, each also a "
    "VALETKEY_<NAME> variable: "
    + ", ".join(o.name if o.default is None else f"{o.name}={o.shown_default}" for o in OPTIONS)
    + "."
)
