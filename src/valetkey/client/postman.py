"""Import the OAuth 2.0 settings of a Postman collection (v2.1, or v2.0) as valetkey profiles.

Pure: parsed JSON in, profiles and findings out. Every ``oauth2`` auth block (on the collection,
a folder or a request) becomes one named profile; requests without auth (or ``inherit``) use their
parent's block, ``noauth`` stops the inheritance. ``{{variables}}`` come from the collection and
its folders, then the environments, then the values given by the caller (the last wins).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from valetkey.client.errors import ConfigError
from valetkey.client.postman_block import Finding, Mapped
from valetkey.client.postman_fields import map_block
from valetkey.client.postman_vars import variable_list
from valetkey.client.profile_lint import Usage
from valetkey.client.tokenstore import check_name

SCHEMA_V21 = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"


@dataclass(frozen=True)
class Imported:
    name: str
    values: dict[str, Any]
    usage: Usage
    source: str  # where the block is defined: "Collection / Folder / Request"
    used_by: tuple[str, ...]  # the requests that use it, directly or by inheritance


@dataclass(frozen=True)
class ImportResult:
    profiles: tuple[Imported, ...]
    findings: tuple[Finding, ...]
    unresolved: dict[str, tuple[str, ...]]  # variable name -> "profile: key" where it is used


@dataclass
class _Block:
    path: tuple[str, ...]
    auth: Mapping[str, Any]
    scope: dict[str, str]
    used_by: list[str] = field(default_factory=list)


def check_collection(data: Any) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError("not a Postman collection: the file is not a JSON object")
    if "values" in data and "item" not in data:
        raise ConfigError(
            "this is a Postman environment (variables only): give it with --env next to the "
            "collection whose OAuth 2.0 settings use it"
        )
    if "requests" in data and "item" not in data:
        raise ConfigError("a Postman collection v1: export it from Postman as Collection v2.1")
    if not isinstance(data.get("info"), Mapping) or not isinstance(data.get("item"), list):
        raise ConfigError("not a Postman collection: v2.1 has an 'info' object and an 'item' list")
    schema = str(data["info"].get("schema") or "")
    if schema and "/v2.0." not in schema and "/v2.1." not in schema:
        raise ConfigError(f"collection schema {schema}: valetkey reads v2.0 and v2.1")
    return data


def import_collection(
    collection: Any,
    environments: Sequence[Mapping[str, str]] = (),
    overrides: Mapping[str, str] | None = None,
    prefix: str | None = None,
) -> ImportResult:
    data = check_collection(collection)
    high: dict[str, str] = {}
    for env in environments:
        high.update(env)
    high.update(overrides or {})
    title = str(data["info"].get("name") or "postman")
    scope = variable_list(data.get("variable"), "the collection's variables")
    blocks: list[_Block] = []
    top = _effective(data.get("auth"), None, (title,), scope, high, blocks)
    _walk(data, (title,), top, scope, high, blocks)
    root = check_name(prefix) if prefix else _slug(title) or "postman"
    return _build(blocks, root)


def _walk(
    node: Mapping[str, Any],
    path: tuple[str, ...],
    inherited: _Block | None,
    scope: dict[str, str],
    high: Mapping[str, str],
    blocks: list[_Block],
) -> None:
    for item in node.get("item") or ():
        if not isinstance(item, Mapping):
            continue
        here = (*path, str(item.get("name") or "untitled"))
        where = " / ".join(here)
        inner = {**scope, **variable_list(item.get("variable"), f"{where}: variables")}
        request = item.get("request")
        if "item" in item:  # a folder
            own = _effective(item.get("auth"), inherited, here, inner, high, blocks)
            _walk(item, here, own, inner, high, blocks)
        elif request is not None:
            auth = request.get("auth") if isinstance(request, Mapping) else None
            used = _effective(auth, inherited, here, inner, high, blocks)
            if used is not None:
                used.used_by.append(where)


def _effective(
    auth: Any,
    inherited: _Block | None,
    path: tuple[str, ...],
    scope: dict[str, str],
    high: Mapping[str, str],
    blocks: list[_Block],
) -> _Block | None:
    """The auth block in force here: Postman writes none (or ``inherit``) to inherit."""
    if not isinstance(auth, Mapping) or auth.get("type") in (None, "inherit"):
        return inherited
    if auth.get("type") != "oauth2":
        return None  # noauth, or another scheme: not OAuth 2.0 from here down
    block = _Block(path, auth, {**scope, **high})
    blocks.append(block)
    return block


def _attributes(auth: Mapping[str, Any]) -> dict[str, Any] | None:
    """v2.1 writes ``[{key, value, type}]``; v2.0 (and hand-written files) an object."""
    raw = auth.get("oauth2")
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, list) and all(isinstance(a, Mapping) and "key" in a for a in raw):
        return {str(a["key"]): a.get("value") for a in raw}
    return None if raw is not None else {}


def _build(blocks: list[_Block], root: str) -> ImportResult:
    profiles: list[Imported] = []
    findings: list[Finding] = []
    unresolved: dict[str, list[str]] = {}
    names: set[str] = set()
    for block in blocks:
        name = _unique(".".join([root, *(_slug(p) or "untitled" for p in block.path[1:])]), names)
        source = " / ".join(block.path)
        attrs = _attributes(block.auth)
        if attrs is None:
            findings.append(Finding(name, "oauth2", "", f"{source}: the auth block is not a "
                                    "list of {key, value}", "no profile is made from it", "error"))  # fmt: skip
            continue
        mapped = map_block(attrs, block.scope)
        findings += [replace(f, profile=name) for f in mapped.findings]
        for variable, keys in mapped.missing.items():
            unresolved.setdefault(variable, []).extend(f"{name}: {k}" for k in keys)
        if mapped.ok:
            _add(profiles, findings, name, mapped, source, block.used_by)
    return ImportResult(
        tuple(profiles), tuple(findings), {k: tuple(v) for k, v in unresolved.items()}
    )


def _add(
    profiles: list[Imported],
    findings: list[Finding],
    name: str,
    mapped: Mapped,
    source: str,
    used_by: list[str],
) -> None:
    """Append the profile, or fold it into an earlier one with the very same settings."""
    for i, earlier in enumerate(profiles):
        if earlier.values == mapped.values and earlier.usage == mapped.usage:
            profiles[i] = replace(earlier, used_by=(*earlier.used_by, *used_by))
            findings.append(Finding(earlier.name, "oauth2", source, "the same settings again",
                                    f"imported once, as {earlier.name}", "info"))  # fmt: skip
            return
    profiles.append(Imported(name, mapped.values, mapped.usage, source, tuple(used_by)))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")


def _unique(name: str, taken: set[str]) -> str:
    """A valid profile name (check_name), not taken yet; long paths end in a short hash."""
    if len(name) > 64:
        name = name[:56].rstrip("-._") + "-" + hashlib.sha256(name.encode()).hexdigest()[:7]
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name[: 64 - len(str(n)) - 1]}-{n}"
    taken.add(candidate)
    return check_name(candidate)
