"""Secrets in the configuration, given in place, in a file or in an environment variable.

Every secret key ``K`` (``client_secret``, ``password``, ``cookie_keys``, ``database``, ...) may be
given in exactly one of three forms: ``K = "value"``, ``K_file = "/run/secrets/k"`` (the file's
text, read once at start, trailing line breaks removed) or ``K_env = "VARIABLE"`` (that variable's
value). :func:`resolve` turns the last two into the first before anything else reads the table, so
every later rule sees a plain value. Reading files is I/O: the caller passes the reader, as it
passes the environment. No message here or in a reader ever contains a secret's value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from valetkey.core.config_tables import Collector

FILE, ENV = "_file", "_env"
# The key valetkey generates and keeps in its database, named in place of a key in ``cookie_keys``.
STORED_KEY = "stored"
MIN_KEY_LENGTH = 32
KEY_ADVICE = "make a key with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


class SecretFileError(Exception):
    """A secret file that cannot be used; the message names the path and why, never the content."""


def _no_files(path: str) -> str:
    raise SecretFileError("secret files are read only by `valetkey serve` and the admin commands")


@dataclass(frozen=True)
class Sources:
    """Where ``K_env`` and ``K_file`` secrets come from."""

    env: Mapping[str, str]
    read_file: Callable[[str], str] = _no_files


def forms(name: str) -> tuple[str, str, str]:
    return name, name + FILE, name + ENV


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _fetch(key: str, ref: Any, sources: Sources) -> tuple[str | None, str]:
    """The secret named by ``ref`` (a path or a variable name), or None and why not."""
    if key.endswith(FILE):
        if not isinstance(ref, str) or not ref:
            return None, "must be the path of a file holding the secret"
        try:
            value = sources.read_file(ref)
        except SecretFileError as exc:
            return None, str(exc)
        return (value, "") if value else (None, f"{ref} is empty")
    if not isinstance(ref, str) or not ref:
        return None, "must be the name of an environment variable holding the secret"
    found = sources.env.get(ref)
    if found is None:
        return None, f"the environment variable {ref} is not set"
    return (found, "") if found else (None, f"the environment variable {ref} is empty")


def resolve(
    table: Mapping[str, Any],
    names: Iterable[str],
    where: str,
    sources: Sources,
    errs: Collector,
) -> dict[str, Any]:
    """``table`` with each secret in ``names`` given in place, its ``_file``/``_env`` keys gone.

    A secret that cannot be read is left out and its key muted in ``errs``: "is required" would
    only repeat the real problem."""
    out = dict(table)
    for name in names:
        given = [k for k in forms(name) if k in out]
        if not given:
            continue
        refs = {k: out.pop(k) for k in given}
        if len(given) > 1:
            errs.add(_path(where, name), f"give only one of {', '.join(given)}")
            errs.mute(_path(where, name))
            continue
        key, ref = given[0], refs[given[0]]
        if key == name:
            out[name] = ref
            continue
        value, problem = _fetch(key, ref, sources)
        if value is None:
            errs.add(_path(where, key), problem)
            errs.mute(_path(where, name))
        else:
            out[name] = value
    return out


def resolve_each(
    raw: Any, table: str, names: Iterable[str], sources: Sources, errs: Collector
) -> Any:
    """:func:`resolve` for every table of an array of tables (``[[clients]]``); anything else is
    returned as it is, for the table's own reader to refuse."""
    if not isinstance(raw, list):
        return raw
    names = tuple(names)
    return [
        resolve(item, names, f"{table}[{i}]", sources, errs) if isinstance(item, dict) else item
        for i, item in enumerate(raw)
    ]


def read_cookie_keys(raw: Any, name: str, errs: Collector) -> tuple[str, ...] | None:
    """Cookie signing keys, newest first: a list, or one string of keys separated by whitespace
    (one per line in a file). The first signs, every one verifies."""
    if raw is None:
        return None
    keys = raw.split() if isinstance(raw, str) else raw
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        errs.add(name, "must be a list of keys (strings), newest first")
        return None
    if not keys:
        errs.add(name, f"give at least one key, or leave {name} out to use the stored key")
    seen: set[str] = set()
    for i, key in enumerate(keys):
        if key in seen:
            errs.add(f"{name}[{i}]", "repeats an earlier key")
        seen.add(key)
        if key == STORED_KEY:
            continue
        if any(c.isspace() for c in key):
            errs.add(f"{name}[{i}]", "must not contain whitespace")
        elif len(key) < MIN_KEY_LENGTH:
            errs.add(
                f"{name}[{i}]",
                f"is shorter than {MIN_KEY_LENGTH} characters; {KEY_ADVICE}",
            )
    return tuple(keys)
