"""Reading the TOML config file with errors that name the file, the key and what is wrong."""

from __future__ import annotations

import os
from pathlib import Path

import click

from valetkey.core.settings import Settings, SettingsError, build_settings, parse_toml


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


CONFIG_HELP = "TOML configuration file (also VALETKEY_CONFIG)."
