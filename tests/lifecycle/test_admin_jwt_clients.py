"""`valetkey client add|rotate-secret` for JWT clients (docs/client-auth.md), on SQLite and
PostgreSQL, checked with assertions against the server on the same database; and the
configuration file's JWT clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_in_process
from tests.core import assertions as a
from tests.lifecycle.conftest import FAST_BASE
from tests.lifecycle.test_admin_cli import Admin
from tests.server import jwt_clients as j
from valetkey.core import jose
from valetkey.core.settings import SettingsError, build_settings, parse_toml
from valetkey.server.state import CLIENT_CACHE_SECONDS
from valetkey.store.sql import open_store


@pytest.fixture
def admin(store_url: str, tmp_path: Path) -> Iterator[Admin]:
    text = f'database = "{store_url}"\nclient_secret_key = "{j.SEALING_KEY}"\n{FAST_BASE}'
    config = tmp_path / "valetkey.toml"
    config.write_text(text)
    env = make_in_process(text, store=open_store(store_url))
    with env.http:
        yield Admin(config, env)
    env.store.close()


def token(admin: Admin, client_id: str, assertion: str) -> int:
    admin.env.clock.advance(CLIENT_CACHE_SECONDS)
    data = {"grant_type": "client_credentials", **j.fields(assertion)}
    return admin.env.http.post("/token", data=data).status_code


def claims(admin: Admin, client_id: str) -> dict[str, object]:
    return j.body(admin.env, client_id, "/token")


def test_private_key_jwt_from_a_jwks_file(admin: Admin, tmp_path: Path) -> None:
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jose.public_jwk(j.KEY)))  # one JWK is taken as a set of one
    added = admin.json("client", "add", "svc-a", "--grant-type", "client_credentials",
                       "--auth-method", "private_key_jwt", "--jwks", str(keys))  # fmt: skip
    assert added["client_secret"] is None and added["jwks"]["keys"][0]["kid"] == "svc-key-1"
    assert token(admin, "svc-a", a.signed(j.KEY, claims(admin, "svc-a"))) == 200
    assert token(admin, "svc-a", a.signed(j.STRANGER, claims(admin, "svc-a"))) == 401
    refused = admin.run("client", "rotate-secret", "svc-a")
    assert refused.exit_code != 0 and "no secret" in refused.output


def test_a_private_key_in_the_jwks_file_is_refused(admin: Admin, tmp_path: Path) -> None:
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jose.jwks([j.KEY]) | {"keys": [j.KEY]}))
    result = admin.run("client", "add", "svc-b", "--grant-type", "client_credentials",
                       "--auth-method", "private_key_jwt", "--jwks", str(keys))  # fmt: skip
    assert result.exit_code != 0 and "private key members" in result.output


def test_client_secret_jwt_secret_is_sealed_and_rotates(admin: Admin) -> None:
    added = admin.json("client", "add", "svc-c", "--grant-type", "client_credentials",
                       "--auth-method", "client_secret_jwt", "--signing-alg", "HS256")  # fmt: skip
    secret = added["client_secret"]
    assert token(admin, "svc-c", a.maced(secret, claims(admin, "svc-c"))) == 200
    rotated = admin.json("client", "rotate-secret", "svc-c")["client_secret"]
    assert token(admin, "svc-c", a.maced(secret, claims(admin, "svc-c"))) == 401
    assert token(admin, "svc-c", a.maced(rotated, claims(admin, "svc-c"))) == 200
    assert token(admin, "svc-c", a.maced(rotated, claims(admin, "svc-c"), "HS512")) == 401


def test_config_file_jwt_clients_are_checked() -> None:
    def problems(extra: str, table: str) -> list[str]:
        with pytest.raises(SettingsError) as info:
            build_settings(parse_toml(f'{extra}\n[[clients]]\nclient_id = "x"\n{table}'), {})
        return info.value.problems

    mac = 'token_endpoint_auth_method = "client_secret_jwt"\ngrant_types = ["client_credentials"]'
    assert any(
        "set client_secret_key" in p for p in problems("", f'{mac}\nclient_secret = "{"s" * 40}"')
    )
    key = f'client_secret_key = "{j.SEALING_KEY}"'
    assert any("at least 32 bytes" in p for p in problems(key, f'{mac}\nclient_secret = "short"'))
    pk = 'token_endpoint_auth_method = "private_key_jwt"\ngrant_types = ["client_credentials"]'
    found = problems("", f'{pk}\nclient_secret = "{"s" * 40}"\njwks_uri = "https://a.example/j"')
    assert any("has no secret" in p for p in found)
    assert any("client_secret_key" in p for p in problems('client_secret_key = "short"', ""))


def test_the_config_files_secret_is_sealed_once_and_anew_under_a_new_key(tmp_path: Path) -> None:
    from tests.conftest import settings_from
    from valetkey.server.bootstrap import apply_config

    config = f'client_secret_key = "{j.SEALING_KEY}"\n{FAST_BASE}\n{j.JWT_CLIENTS}'
    store = open_store(f"sqlite:///{tmp_path / 'vk.db'}")
    try:
        apply_config(settings_from(config), store)
        first = store.get_client("svc-mac")
        apply_config(settings_from(config), store)  # a restart: the sealed value stays
        again = store.get_client("svc-mac")
        assert first is not None and again is not None
        assert first.secret_sealed == again.secret_sealed and first.secret_digest is None
        new_key = "n" * 42 + "A"
        apply_config(settings_from(config.replace(j.SEALING_KEY, new_key)), store)
        resealed = store.get_client("svc-mac")
        assert resealed is not None and resealed.secret_sealed != first.secret_sealed
        opened = jose.unseal_secret(
            jose.sealing_key(new_key), "svc-mac", resealed.secret_sealed or ""
        )
        assert opened == j.MAC_SECRET
    finally:
        store.close()
