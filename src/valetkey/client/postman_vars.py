"""Postman variables: ``{{name}}`` resolved the way Postman does, from the collection's and folders'
``variable`` lists, environment files (``values``) and values given on the command line.

Postman's precedence, lowest first: collection, (folder and request: the schema allows variables
there), environment, then the values given here. A variable's value may itself use variables.
``{{$guid}}``-style names are Postman's dynamic variables: a new value on every request, so they
have no fixed value to import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from valetkey.client.errors import ConfigError

VAR = re.compile(r"\{\{([^{}]+)\}\}")
_MAX_DEPTH = 10  # a variable naming itself (directly or not) stays unresolved instead of looping


def as_text(value: Any) -> str:
    """Postman stores strings, but hand-edited files hold numbers and booleans too."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def variable_list(entries: Any, where: str) -> dict[str, str]:
    """A collection's ``variable`` or an environment's ``values``: ``[{key, value, ...}]``.

    ``disabled: true`` (collections) and ``enabled: false`` (environments) switch an entry off.
    """
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: variables must be a list of {{key, value}} objects")
    found: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("key"), str):
            raise ConfigError(f"{where}: every variable needs a string 'key'")
        if entry.get("disabled") is True or entry.get("enabled") is False:
            continue
        found[entry["key"]] = as_text(entry.get("value"))
    return found


def environment(data: Any, where: str) -> dict[str, str]:
    """A Postman environment (or globals) export: ``{"name": ..., "values": [...]}``."""
    if not isinstance(data, Mapping) or "values" not in data or "item" in data:
        raise ConfigError(
            f"{where} is not a Postman environment (an object with a 'values' list); "
            "export it from Postman with Environments > ... > Export"
        )
    return variable_list(data["values"], where)


def is_dynamic(name: str) -> bool:
    return name.startswith("$")


def resolve(text: str, scope: Mapping[str, str]) -> tuple[str, list[str]]:
    """``text`` with every ``{{name}}`` the scope knows replaced; the names it does not know."""
    missing: list[str] = []

    def substitute(match: re.Match[str], depth: int) -> str:
        name = match.group(1).strip()
        if name not in scope or depth >= _MAX_DEPTH:
            if name not in missing:
                missing.append(name)
            return match.group(0)
        return VAR.sub(lambda m: substitute(m, depth + 1), scope[name])

    return VAR.sub(lambda m: substitute(m, 0), text), missing
