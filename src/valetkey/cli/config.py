"""Reading the TOML config file with errors that name the file, the key and what is wrong."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import click

from valetkey.core.config_secrets import SecretFileError
from valetkey.core.settings import OPTIONS, Settings, SettingsError, build_settings, parse_toml

MAX_SECRET_FILE = 64 * 1024


def read_secret_file(path: str) -> str:
    """A ``*_file`` secret: the text of ``path``, read once at start, trailing line breaks removed.

    Refused: a missing or unreadable file, one that is not a regular file, one any user may write
    (anyone could then choose the secret: sign cookies, impersonate a client), and one over 64 KiB.
    A file any user may read is accepted: Docker (0444) and Kubernetes (0644) mount secrets so."""
    try:
        mode = os.stat(path).st_mode  # before opening: opening a FIFO would block
        if not stat.S_ISREG(mode):
            raise SecretFileError(f"{path} is not a regular file")
        if mode & stat.S_IWOTH:
            raise SecretFileError(f"{path} may be written by any user; chmod o-w {path}")
        with open(path, "rb") as f:
            data = f.read(MAX_SECRET_FILE + 1)
    except OSError as exc:
        raise SecretFileError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_SECRET_FILE:
        raise SecretFileError(f"{path} is larger than 64 KiB: not a secret file?")
    try:
        return data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise SecretFileError(f"{path} is not UTF-8 text") from None


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
        settings = build_settings(data, os.environ, read_secret_file)
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
