"""Named profiles for `valetkey token get`: a saved setup in `$XDG_CONFIG_HOME/valetkey/client.toml`.

    [profiles.work]
    issuer = "https://auth.example.com"
    client_id = "cli"
    scope = "openid read:files"
    resource = ["https://api.example.com"]

Keys are the long flag names with `_` for `-`; flags given on the command line win.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from valetkey.client.errors import ConfigError
from valetkey.client.tokenstore import config_dir, write_private

LIST_KEYS = ("resource", "auth_params", "token_params", "refresh_params")
BOOL_KEYS = ("discovery", "pkce", "browser")
KEYS = (
    "grant", "issuer", "discovery", "auth_url", "token_url", "refresh_url", "revocation_url",
    "jwks_uri", "client_id", "client_secret", "client_auth", "scope", "state", "redirect_uri",
    "pkce", "pkce_method", "code_verifier", "username", "password", "browser", "timeout",
    "private_key", "assertion_alg", "assertion_audience", *LIST_KEYS,
)  # fmt: skip


def profiles_path(env: Mapping[str, str] = os.environ) -> Path:
    return config_dir(env) / "client.toml"


def load_profiles(path: Path | None = None) -> dict[str, dict[str, Any]]:
    path = path or profiles_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read profiles from {path}: {exc}") from exc
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"{path}: [profiles] must be a table of tables")
    return profiles


def profile(name: str, path: Path | None = None) -> dict[str, Any]:
    path = path or profiles_path()
    profiles = load_profiles(path)
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(f"no profile {name!r} in {path} (known: {known})")
    values = profiles[name]
    unknown = sorted(set(values) - set(KEYS))
    if unknown:
        raise ConfigError(
            f"{path}: profile {name!r} has unknown keys {unknown}; known keys: {', '.join(KEYS)}"
        )
    for key, value in values.items():
        problem = _type_problem(key, value)
        if problem:
            raise ConfigError(f"{path}: profiles.{name}.{key} {problem}")
    return dict(values)


def _type_problem(key: str, value: Any) -> str | None:
    if key in BOOL_KEYS:
        return None if isinstance(value, bool) else "must be true or false"
    if key == "timeout":
        ok = isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value <= 3600
        return None if ok else "must be a number of seconds from 1 to 3600"
    if key in LIST_KEYS:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return None if ok else 'must be a list of strings like ["body:KEY=VALUE"]'
    return None if isinstance(value, str) else "must be a string"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


# A user's password and a fixed state are per-use values: never written to a profile.
NOT_SAVED = ("password", "state")


def save_profile(name: str, values: Mapping[str, Any], path: Path | None = None) -> Path:
    """Add or replace one profile, keeping the others (mode 0600: it may hold a client secret)."""
    path = path or profiles_path()
    profiles = load_profiles(path)
    profiles[name] = {
        k: v
        for k, v in values.items()
        if k in KEYS and k not in NOT_SAVED and v not in (None, (), [])
    }
    lines = []
    for pname in sorted(profiles):
        lines.append(f'[profiles."{pname}"]')
        lines += [f"{k} = {_toml_value(v)}" for k, v in sorted(profiles[pname].items())]
        lines.append("")
    write_private(path, "\n".join(lines))
    return path
