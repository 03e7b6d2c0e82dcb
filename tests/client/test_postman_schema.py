"""The hand-written fixtures (and our exports) follow Postman's published collection schema v2.1.0.

The checks mirror schemas/draft-04/v2.1.0 in postmanlabs/schemas: a collection needs ``info`` (with
``name`` and ``schema``) and ``item``; a folder (item-group) needs ``item``, a request item needs
``request``; ``auth`` is null or ``{type, <type>: [auth-attribute]}`` with ``type`` from the enum and
an auth-attribute ``{key (string, required), value (any), type (string)}``; a variable has a
``key`` and a ``type`` among string, boolean, any, number. Environment exports: ``{name, values}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parents[1] / "fixtures" / "postman"
AUTH_TYPES = {
    "apikey",
    "awsv4",
    "basic",
    "bearer",
    "digest",
    "edgegrid",
    "hawk",
    "noauth",
    "oauth1",
    "oauth2",
    "ntlm",
}
VARIABLE_TYPES = {"string", "boolean", "any", "number"}


def _auth(auth: Any, where: str) -> None:
    if auth is None:
        return
    assert isinstance(auth, Mapping) and auth.get("type") in AUTH_TYPES, where
    attrs = auth.get(auth["type"])
    if auth["type"] == "noauth" or attrs is None:
        return
    assert isinstance(attrs, list), where
    for attr in attrs:
        assert isinstance(attr, Mapping) and isinstance(attr.get("key"), str), where
        assert isinstance(attr.get("type", ""), str), where


def _variables(entries: Any, where: str) -> None:
    if entries is None:
        return
    assert isinstance(entries, list), where
    for var in entries:
        assert isinstance(var.get("key"), str), where
        assert var.get("type", "string") in VARIABLE_TYPES, where


def _items(items: Any, where: str) -> None:
    assert isinstance(items, list), where
    for item in items:
        here = f"{where} / {item.get('name')}"
        _variables(item.get("variable"), here)
        if "item" in item:  # item-group
            _auth(item.get("auth"), here)
            _items(item["item"], here)
        else:  # item: a request (a URL string or an object)
            request = item["request"]
            assert isinstance(request, str | Mapping), here
            if isinstance(request, Mapping):
                _auth(request.get("auth"), here)


def assert_collection_v21(data: Any) -> None:
    assert isinstance(data, Mapping)
    info = data["info"]
    assert isinstance(info["name"], str)
    assert info["schema"] == "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
    _auth(data.get("auth"), "collection")
    _variables(data.get("variable"), "collection")
    _items(data["item"], info["name"])


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.postman_collection.json")))
def test_fixture_collections_follow_the_v21_schema(name: str) -> None:
    assert_collection_v21(load(name))


@pytest.mark.parametrize(
    "name", sorted(p.name for p in FIXTURES.glob("*.postman_environment.json"))
)
def test_fixture_environments_have_postmans_shape(name: str) -> None:
    env = load(name)
    assert isinstance(env["name"], str) and isinstance(env["values"], list)
    for value in env["values"]:
        assert isinstance(value["key"], str) and isinstance(value["enabled"], bool)


def test_the_checker_refuses_what_the_schema_refuses() -> None:
    good = load("client_credentials.postman_collection.json")
    for broken in (
        {**good, "info": {"name": "x"}},  # no schema
        {**good, "auth": {"type": "oauth3"}},
        {**good, "auth": {"type": "oauth2", "oauth2": [{"value": "no key"}]}},
        {**good, "item": [{"name": "neither a folder nor a request"}]},
    ):
        with pytest.raises((AssertionError, KeyError)):
            assert_collection_v21(broken)
